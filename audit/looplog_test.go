package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/schemas"
)

// loopStatus is each member's loop log status in rep, by member code.
func loopStatus(rep *Report) map[string]string {
	out := map[string]string{}
	for _, m := range rep.Loop.Members {
		out[m.Member] = m.LoopLog
	}
	return out
}

// TestLoopLogsCountedAsLedgers: the same records, with every member's
// notices and feedback in its loop log instead of its ledger, give the same
// closed loop; every loop entry is counted, the loop copies are checked
// like ledgers and the audit passes.
func TestLoopLogsCountedAsLedgers(t *testing.T) {
	const per = 3
	plain, err := runDir(t, buildFixture(t, per, fixtureOpts{}).dir)
	if err != nil {
		t.Fatal(err)
	}
	fx := buildFixture(t, per, fixtureOpts{loop: true})
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("loop fixture: %v (%v)", err, rep.Failures)
	}
	if rep.Verdict != VerdictPassed {
		t.Fatalf("verdict %s, not checked %v, warnings %v", rep.Verdict, rep.NotChecked, rep.Warnings)
	}
	l, p := rep.Loop, plain.Loop
	if l.Notices != 3*3*per || l.Feedback != 3*(3*per-1) || l.Notices != p.Notices || l.Feedback != p.Feedback {
		t.Errorf("loop logs: %d notices, %d feedback; ledgers: %d, %d", l.Notices, l.Feedback, p.Notices, p.Feedback)
	}
	for i, m := range l.Members {
		pm := p.Members[i]
		if m.Reached != pm.Reached || m.InTime != pm.InTime || m.Overdue != pm.Overdue || m.Late != pm.Late || m.LagP50 != pm.LagP50 {
			t.Errorf("member %s from its loop log %+v, from its ledger %+v", m.Member, m, pm)
		}
		if m.LoopLog != LoopChecked {
			t.Errorf("member %s: loop log %q", m.Member, m.LoopLog)
		}
	}
	for _, it := range l.OverdueItems {
		if it.Origin != "creditx."+it.Member+"/loop" {
			t.Errorf("overdue item %+v not in the member's loop log", it)
		}
	}
	if len(rep.LoopLogs) != 3 {
		t.Fatalf("loop logs %+v", rep.LoopLogs)
	}
	for _, ll := range rep.LoopLogs {
		m := fx.member(ll.Member)
		if ll.Status != LoopChecked || !ll.Witnessed || ll.Copies != 1 || ll.Size != uint64(len(m.loopEntries)) || uint64(ll.Notices+ll.Feedback) != ll.Size {
			t.Errorf("loop log %+v: want checked, witnessed, 1 copy, every one of %d entries counted", ll, len(m.loopEntries))
		}
	}
	var loopCopies int
	for _, c := range rep.Copies {
		if strings.HasSuffix(c.Origin, "/loop") {
			loopCopies++
			if !c.Full || !c.OK || c.KeySource != KeyFromTrust || len(c.Cosigners) != 2 {
				t.Errorf("loop copy %+v", c)
			}
		}
	}
	if loopCopies != 3 || !slices.ContainsFunc(rep.Checked, func(s string) bool { return strings.HasPrefix(s, "loop log entries:") }) {
		t.Errorf("%d loop copies; checked %v", loopCopies, rep.Checked)
	}
	var text, page strings.Builder
	rep.WriteText(&text)
	rep.WriteHTML(&page)
	for _, w := range []*strings.Builder{&text, &page} {
		if !strings.Contains(w.String(), "creditx.320000/loop") {
			t.Errorf("report does not show the loop logs:\n%s", w.String())
		}
	}
}

// TestLoopLogNotFetched: a member whose manifest entry has a loop_vkey but
// whose loop log is missing is named, and the audit is not PASSED.
func TestLoopLogNotFetched(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{loop: true})
	if err := os.RemoveAll(fx.tree("320000", "320000-loop")); err != nil {
		t.Fatal(err)
	}
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("%v %v", err, rep.Failures)
	}
	const want = "loop log of 320000 not fetched: its notices and feedback are not checked"
	if rep.Verdict != VerdictUnverified || !slices.Contains(rep.NotChecked, want) {
		t.Fatalf("verdict %s, not checked %v", rep.Verdict, rep.NotChecked)
	}
	st := loopStatus(rep)
	if st["320000"] != LoopNotFetched || st["310000"] != LoopChecked || st["330000"] != LoopChecked {
		t.Errorf("loop log statuses %v", st)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), want) {
		t.Errorf("text report does not name it:\n%s", text.String())
	}
	// The same directory without the loop_vkey of 320000: nothing to look for.
	b, _ := os.ReadFile(filepath.Join(fx.dir, ManifestFile))
	b = []byte(strings.Replace(string(b), "    loop_vkey: "+fx.member("320000").loopV+"\n", "", 1))
	os.WriteFile(filepath.Join(fx.dir, ManifestFile), b, 0o644)
	if rep, err = runDir(t, fx.dir); err != nil || rep.Verdict != VerdictPassed || loopStatus(rep)["320000"] != "" {
		t.Errorf("without its loop_vkey: %v, verdict %s, not checked %v, status %q", err, rep.Verdict, rep.NotChecked, loopStatus(rep)["320000"])
	}
}

// TestLoopLogNotWitnessed: a loop checkpoint without cosignatures is named
// not witnessed, never witnessed, and the audit is not PASSED.
func TestLoopLogNotWitnessed(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{loop: true, loopUnwitnessed: true})
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("%v %v", err, rep.Failures)
	}
	if rep.Verdict != VerdictUnverified || !slices.ContainsFunc(rep.NotChecked, func(s string) bool {
		return strings.HasPrefix(s, "loop log of 310000 not witnessed: the checkpoint of size")
	}) {
		t.Fatalf("verdict %s, not checked %v", rep.Verdict, rep.NotChecked)
	}
	for _, ll := range rep.LoopLogs {
		if ll.Witnessed || ll.Status != LoopNotWitnessed || ll.Notices == 0 {
			t.Errorf("loop log %+v", ll)
		}
	}
	for _, c := range rep.Copies {
		if strings.HasSuffix(c.Origin, "/loop") && c.Witnessed {
			t.Errorf("copy %+v reported witnessed", c)
		}
	}
}

// TestLoopLogTamper: a loop entry altered after it was signed into the
// checkpoint fails the tree; a loop log re-signed with a record the member
// could not have written (an unregistered key, a listing, a key revoked
// before it) fails the record check, naming the entry.
func TestLoopLogTamper(t *testing.T) {
	t.Run("altered entry", func(t *testing.T) {
		fx := buildFixture(t, 2, fixtureOpts{loop: true})
		m := fx.member("330000")
		dir := fx.tree("330000", "330000-loop")
		size := uint64(len(m.loopEntries))
		rewriteBundle(t, entryBundleFile(dir, 3, size), func(es [][]byte) [][]byte {
			es[3] = append([]byte(nil), es[3]...)
			es[3][len(es[3])/2] ^= 1
			return es
		})
		rep, err := runDir(t, fx.dir)
		if err == nil || rep.Verdict != VerdictFailed || rep.First.Origin != m.loopOrigin() || rep.First.Check != CheckTree {
			t.Fatalf("err %v, first %+v", err, rep.First)
		}
		if loopStatus(rep)["330000"] != LoopFailed {
			t.Errorf("status %v", loopStatus(rep))
		}
	})
	resign := func(t *testing.T, f func(fx *fixture, m *member) uint64) (*Report, uint64) {
		fx := buildFixture(t, 2, fixtureOpts{loop: true})
		m := fx.member("330000")
		i := f(fx, m)
		os.RemoveAll(fx.tree("330000", "330000-loop"))
		fx.writeLoop(t, m, true)
		rep, err := runDir(t, fx.dir)
		if err == nil || rep.Verdict != VerdictFailed {
			t.Fatalf("err %v, verdict %s", err, rep.Verdict)
		}
		if f := rep.First; f.Origin != m.loopOrigin() || f.Check != CheckRecord || f.Index != int64(i) {
			t.Fatalf("first failure %+v, want a record failure at %s#%d", f, m.loopOrigin(), i)
		}
		return rep, i
	}
	lastFeedback := func(t *testing.T, m *member, k ed25519.PrivateKey, created time.Time) uint64 {
		i := uint64(len(m.loopEntries) - 1)
		s, _ := schemas.ParseSigned(m.loopEntries[i])
		r, _ := s.Decode()
		fb := r.(*schemas.Feedback)
		fb.CreatedAt = schemas.NewTime(created)
		e, err := schemas.Sign(fb, k)
		if err != nil {
			t.Fatal(err)
		}
		m.loopEntries[i] = e
		return i
	}
	t.Run("unregistered key", func(t *testing.T) {
		rep, _ := resign(t, func(fx *fixture, m *member) uint64 {
			_, rogue, _ := ed25519.GenerateKey(rand.Reader)
			return lastFeedback(t, m, rogue, fixtureBase.Add(48*time.Hour))
		})
		if !strings.Contains(rep.First.Reason, "not in the keyring of the member's ledger") {
			t.Errorf("reason %q", rep.First.Reason)
		}
	})
	t.Run("listing in the loop log", func(t *testing.T) {
		rep, _ := resign(t, func(fx *fixture, m *member) uint64 {
			l, err := synth.Listing(99, synth.Options{Region: m.code, Authority: schemas.Agency{Name: "Listing authority " + m.code, USCC: m.pubUSCC()}, Now: fixtureBase.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			e, err := schemas.Sign(l, m.pub)
			if err != nil {
				t.Fatal(err)
			}
			m.loopEntries = append(m.loopEntries, e)
			return uint64(len(m.loopEntries) - 1)
		})
		if !strings.Contains(rep.First.Reason, "only sanction notices and feedback") {
			t.Errorf("reason %q", rep.First.Reason)
		}
	})
	t.Run("key revoked before", func(t *testing.T) {
		rep, _ := resign(t, func(fx *fixture, m *member) uint64 {
			// The ledger revokes the executing agency's key; feedback it
			// signs afterwards cannot be in the loop log.
			revoked := fixtureBase.Add(10 * 24 * time.Hour)
			m.sign(t, &schemas.Governance{Header: schemas.Header{Region: m.code, Submitter: m.adminUSCC(), CreatedAt: schemas.NewTime(revoked)},
				Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{
					KeyID: schemas.KeyID(m.exec.Public().(ed25519.PublicKey)), Reason: "key compromised"}}, m.admin)
			fx.write(t)
			return lastFeedback(t, m, m.exec, revoked.Add(time.Hour))
		})
		if !strings.Contains(rep.First.Reason, "revoked by the member's ledger entry") {
			t.Errorf("reason %q", rep.First.Reason)
		}
	})
}

// TestManifestLoopVKey: a loop_vkey is read as the trusted key of the
// member's loop log; one named for another log is refused, naming the field.
func TestManifestLoopVKey(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{loop: true})
	p := filepath.Join(fx.dir, ManifestFile)
	tr, err := LoadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := tr.lookup("creditx.320000/loop"); !ok || o.VKey != fx.member("320000").loopV {
		t.Fatalf("loop origin %+v %v", o, ok)
	}
	b, _ := os.ReadFile(p)
	m := fx.member("320000")
	os.WriteFile(p, []byte(strings.Replace(string(b), "loop_vkey: "+m.loopV, "loop_vkey: "+m.logV, 1)), 0o644)
	if _, err := LoadManifest(p); err == nil || !strings.Contains(err.Error(), "members[1].loop_vkey: key is named \"creditx.320000/ledger\"") {
		t.Errorf("wrong loop key: %v", err)
	}
}

// FuzzLoadManifest: any manifest either loads or is refused with an error;
// a loaded loop origin's key is named for it.
func FuzzLoadManifest(f *testing.F) {
	fx := buildFixture(f, 1, fixtureOpts{loop: true})
	b, err := os.ReadFile(filepath.Join(fx.dir, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("members:\n  - code: \"320000\"\n    log_vkey: x\n    loop_vkey: y\n"))
	f.Add([]byte("version: 1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		tr, err := LoadManifest(p)
		if err != nil {
			return
		}
		for _, o := range tr.Origins {
			v, err := o.Verifier()
			if err != nil {
				t.Fatalf("origin %s: loaded key does not parse: %v", o.Origin, err)
			}
			if trust.IsLoopOrigin(o.Origin) && v.Name() != o.Origin {
				t.Fatalf("loop origin %s trusted with key %s", o.Origin, v.Name())
			}
		}
	})
}

// TestLoopLogWithoutItsLedger: a loop log whose member's ledger is not among
// the copies cannot have its keys checked: it is said so, and not PASSED.
func TestLoopLogWithoutItsLedger(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{loop: true})
	for _, h := range fx.members {
		os.RemoveAll(fx.tree(h.code, "320000"))
	}
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("%v %v", err, rep.Failures)
	}
	if rep.Verdict != VerdictUnverified || !slices.ContainsFunc(rep.NotChecked, func(s string) bool {
		return strings.Contains(s, "agency signatures and key validity: creditx.320000/loop")
	}) || loopStatus(rep)["320000"] != "" {
		t.Errorf("verdict %s, not checked %v, statuses %v", rep.Verdict, rep.NotChecked, loopStatus(rep))
	}
	for _, ll := range rep.LoopLogs {
		if ll.Member == "320000" && (ll.Status != LoopKeysUnknown || ll.Notices == 0) {
			t.Errorf("loop log %+v", ll)
		}
	}
}

// TestLoopLogLedgerFailed: a member's ledger whose every copy fails leaves
// no keyring to check its loop log with (internal/trust's rule, the one
// "creditx verify" applies): the loop entries get the kind and schema check
// only, the loop log is "keys not checked" with a warning, and no failure
// is blamed on it (a keyring cut short by the ledger's fault would have
// rejected its entries as signed by unknown keys).
func TestLoopLogLedgerFailed(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{loop: true})
	m := fx.member("320000")
	for _, h := range fx.members {
		size := uint64(len(m.entries))
		if fx.members[(slices.Index(fx.members, m)+1)%len(fx.members)] == h {
			size = uint64(m.phase1) // the lagging mirror (fixture.write)
		}
		rewriteBundle(t, entryBundleFile(fx.tree(h.code, m.code), 0, size), func(es [][]byte) [][]byte {
			es[0] = append([]byte(nil), es[0]...)
			es[0][len(es[0])/2] ^= 1
			return es
		})
	}
	rep, err := runDir(t, fx.dir)
	if err == nil || rep.Verdict != VerdictFailed || rep.First.Origin != m.origin() || rep.First.Check != CheckTree {
		t.Fatalf("err %v, verdict %s, first %+v", err, rep.Verdict, rep.First)
	}
	for _, f := range rep.Failures {
		if f.Origin == m.loopOrigin() {
			t.Errorf("failure blamed on the loop log: %+v", f)
		}
	}
	if st := loopStatus(rep); st["320000"] != LoopKeysUnknown || st["310000"] != LoopChecked {
		t.Errorf("loop log statuses %v", st)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
		return strings.HasPrefix(w, m.loopOrigin()+": the keyring of its member's ledger is not known")
	}) {
		t.Errorf("warnings %v", rep.Warnings)
	}
}
