package node_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// startLoopConsortium starts three members with sanctions.loop_log on
// (provision gives each a loop_vkey in the manifest).
func startLoopConsortium(t *testing.T) (map[string]*member, *exchange.Manifest) {
	t.Helper()
	return startConsortiumCfg(t, append([]provision.MemberSpec(nil), deltaMembers[:3]...), nil,
		func(c *node.Config) { c.Sanctions.LoopLog = true })
}

// agency loads one of a member's dev agencies' credentials.
func (mb *member) agency(t *testing.T, name string) *client.Credentials {
	t.Helper()
	cr, err := client.LoadCredentials(filepath.Join(mb.cfg.DataDir, "agencies", name))
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

// loopCheckpoint is what at serves at /loop/<code>/checkpoint.
func loopCheckpoint(t *testing.T, at *member, code string) (int, []byte) {
	t.Helper()
	return do(t, at.creds["auditor"].Client, "GET", at.n.URL()+"/loop/"+code+"/checkpoint", nil)
}

// servedWitnessedLoop is the loop checkpoint of code that at serves,
// opened with the manifest's loop key, and its note, if it carries a
// quorum of cosignatures; nil otherwise.
func servedWitnessedLoop(t *testing.T, at *member, m *exchange.Manifest, code string) (*ledger.Checkpoint, []byte) {
	t.Helper()
	status, body := loopCheckpoint(t, at, code)
	if status != 200 {
		return nil, nil
	}
	mb, _ := m.Member(code)
	if _, ok, err := m.WitnessedLog(mb.LoopOrigin(), body); err != nil || !ok {
		return nil, nil
	}
	cp, err := ledger.OpenCheckpoint(body, mb.LoopOrigin(), mb.LoopVerifier())
	if err != nil {
		return nil, nil
	}
	return cp, body
}

// cosignedLoop is the loop checkpoint of code that witness w last cosigned
// (its tlog-witness monitoring API), opened with the loop key; nil if none.
func cosignedLoop(t *testing.T, w *member, m *exchange.Manifest, code string) *ledger.Checkpoint {
	t.Helper()
	mb, _ := m.Member(code)
	h := sha256.Sum256([]byte(mb.LoopOrigin()))
	status, body := do(t, w.creds["auditor"].Client, "GET", w.n.URL()+exchange.MonitorPathPrefix+hex.EncodeToString(h[:])+"/checkpoint", nil)
	if status != 200 {
		return nil
	}
	cp, err := ledger.OpenCheckpoint(body, mb.LoopOrigin(), mb.LoopVerifier())
	if err != nil {
		t.Fatalf("%s's cosigned loop checkpoint of %s: %v", w.code, code, err)
	}
	return cp
}

// feedbackOn is executor exe's signed feedback on notice nv of member code.
func feedbackOn(t *testing.T, exe *client.Credentials, code string, nv node.NoticeView) []byte {
	t.Helper()
	h := schemas.Header{Region: code, Submitter: exe.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}
	f := &schemas.Feedback{Header: h, Notice: schemas.Ref{Origin: nv.Origin, Index: nv.Index, Hash: nv.LeafHash},
		Agency: schemas.Agency{Name: exe.Identity.Name, USCC: exe.Identity.ID}, Outcome: "applied", CaseRef: "LOOP-W", ActedAt: schemas.NewTime(time.Now())}
	e, err := exe.Sign(f)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestLoopLogWitnessed: with loop_log on and a loop_vkey in the manifest,
// a member's loop checkpoints are cosigned by a quorum of the other
// members' witnesses and served with the cosignatures; a witnessed
// submission of feedback to the loop log waits for them (it was refused);
// a loop checkpoint signed by another key is refused (403) and one that
// forks what a witness cosigned is refused (422) and kept as evidence.
func TestLoopLogWitnessed(t *testing.T) {
	ms, m := startLoopConsortium(t)
	ctx := context.Background()
	zj := ms["330000"]
	loop := schemas.LoopOrigin("330000")
	self, _ := m.Member("330000")
	if self.LoopVerifier() == nil {
		t.Fatal("the provisioned manifest has no loop_vkey for 330000")
	}
	e, _ := zj.listing(t, 7)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	exe := zj.agency(t, "executor")
	var notices []node.NoticeView
	if err := getNotices(ctx, exe, zj.n.URL()+"/v1/notices?state=pending&wait=10s", &notices); err != nil {
		t.Fatal(err)
	}
	if len(notices) == 0 || notices[0].Origin != loop {
		t.Fatalf("notices %+v, want some in %s", notices, loop)
	}

	// Feedback to the loop log with witnessed=1: a receipt against a loop
	// checkpoint with a quorum of cosignatures.
	rs, err := exe.SubmitWitnessed(ctx, zj.n.URL(), 20*time.Second, feedbackOn(t, exe, "330000", notices[0]))
	if err != nil {
		t.Fatalf("witnessed feedback on the loop log: %v", err)
	}
	if rs[0].Origin != loop || len(rs[0].Witnesses) < m.WitnessQuorum {
		t.Fatalf("receipt %+v, want in %s with >= %d witnesses", rs[0], loop, m.WitnessQuorum)
	}
	if names, ok, err := m.WitnessedLog(loop, []byte(rs[0].Checkpoint)); err != nil || !ok {
		t.Fatalf("receipt's checkpoint: cosigners %v, witnessed %v, err %v", names, ok, err)
	}

	// The served loop checkpoint carries the cosignatures; the ledger is
	// witnessed and mirrored as before.
	var served *ledger.Checkpoint
	eventually(t, 20*time.Second, "a quiet, witnessed loop log cosigned by 310000", func() bool {
		cp, body := servedWitnessedLoop(t, zj, m, "330000")
		if cp == nil || cp.Size <= rs[0].Index {
			return false
		}
		time.Sleep(300 * time.Millisecond)
		c := cosignedLoop(t, ms["310000"], m, "330000")
		_, again := loopCheckpoint(t, zj, "330000")
		served = cp
		return c != nil && c.Size == cp.Size && string(again) == string(body) && converged(t, ms)
	})

	sh, _ := m.Member("310000")
	c := exchange.NewClient(sh, tlsCert(t, zj), nil)
	defer c.Close()
	// Signed by a key that is not the manifest's loop key: 403.
	wrong, _, err := note.GenerateKey(rand.Reader, loop)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := note.NewSigner(wrong)
	forged, err := ledger.SignCheckpoint(ws, loop, served.Size+1, tlog.Hash{9})
	if err != nil {
		t.Fatal(err)
	}
	if lines, err := c.AddCheckpoint(ctx, exchange.AddCheckpoint{OldSize: served.Size, Checkpoint: forged}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("loop checkpoint by a wrong key: cosignature %q, err %v; want 403", lines, err)
	}

	// Signed by the real loop key but forking the cosigned state.
	lsigner := loopSigner(t, zj)
	fork, err := ledger.SignCheckpoint(lsigner, loop, served.Size, tlog.Hash{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if lines, err := c.AddCheckpoint(ctx, exchange.AddCheckpoint{OldSize: served.Size, Checkpoint: fork}); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("forked loop checkpoint: cosignature %q, err %v; want 422", lines, err)
	}
	rewritten, err := ledger.SignCheckpoint(lsigner, loop, served.Size+1, tlog.Hash{4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := c.AddCheckpoint(ctx, exchange.AddCheckpoint{OldSize: served.Size, Proof: tlog.TreeProof{{7}, {8}}, Checkpoint: rewritten})
	if err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "inconsistent") {
		t.Fatalf("rewritten loop log: cosignature %q, err %v; want 422 inconsistent", lines, err)
	}
	eventually(t, 5*time.Second, "310000 keeps the forked loop checkpoint as evidence", func() bool {
		as, err := ms["310000"].n.Alerts()
		if err != nil {
			return false
		}
		for _, a := range as {
			if a.Kind == exchange.AlertEquivocation && a.Origin == loop && len(a.Evidence) == 2 && a.Evidence[1] == string(fork) {
				return true
			}
		}
		return false
	})
	// The witness keeps its cosigned state.
	if got := cosignedLoop(t, ms["310000"], m, "330000"); got == nil || got.Size != served.Size || got.Root != served.Root {
		t.Fatalf("310000's cosigned loop state after the refusals: %+v, want size %d", got, served.Size)
	}
}

// loopSigner is a member's loop log key.
func loopSigner(t *testing.T, mb *member) note.Signer {
	t.Helper()
	s, _ := noteKeys(t, mb.cfg.DataDir, "loop")
	return s
}

// TestLoopLogFollowed: every member follows the other members' loop logs
// to their witnessed size (GET /v1/exchange shows it per peer); a member
// that neither witnesses nor keeps a loop log holds none of its entries.
// When the origin then serves a witnessed loop checkpoint of the same size
// with another root (its loop key and the two witnesses of the quorum
// signed it), that member raises an equivocation alert with both notes and
// keeps following the good checkpoint.
func TestLoopLogFollowed(t *testing.T) {
	ms, m := startConsortiumCfg(t, append([]provision.MemberSpec(nil), deltaMembers...), nil, func(c *node.Config) {
		c.Sanctions.LoopLog = true
		c.Exchange.WitnessSpares = -1 // the quorum only: one other member neither witnesses nor (below) keeps the log
	})
	ctx := context.Background()
	var codes []string
	for code := range ms {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	// The origin whose last member in witness order is not a custodian.
	var origin string
	var order []string
	var follower *member
	for _, o := range codes {
		others := slices.DeleteFunc(slices.Clone(codes), func(c string) bool { return c == o })
		order = exchange.WitnessOrder(schemas.LedgerOrigin(o), others)
		if f := order[len(order)-1]; !slices.Contains(exchange.Custodians(o, codes), f) {
			origin, follower = o, ms[f]
			break
		}
	}
	if follower == nil {
		t.Fatal("no member is a follower only of some loop log in this consortium")
	}
	om := ms[origin]
	loop := schemas.LoopOrigin(origin)
	self, _ := m.Member(origin)
	e, _ := om.listing(t, 3)
	if _, err := om.creds["publisher"].Submit(ctx, om.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	// Quiet: the origin's witnessed loop checkpoint is followed at that size
	// by every other member, and unchanged.
	var served *ledger.Checkpoint
	var servedNote []byte
	eventually(t, 30*time.Second, "every member follows "+origin+"'s loop log to its witnessed size", func() bool {
		cp, body := servedWitnessedLoop(t, om, m, origin)
		if cp == nil || cp.Size == 0 {
			return false
		}
		for code, mb := range ms {
			if code == origin {
				continue
			}
			ls := mb.mirror(t, origin).Loop
			if ls == nil || ls.Origin != loop || ls.Followed != cp.Size || !ls.Witnessed {
				return false
			}
		}
		time.Sleep(300 * time.Millisecond)
		_, again := loopCheckpoint(t, om, origin)
		served, servedNote = cp, body
		return string(again) == string(body)
	})
	ls := follower.mirror(t, origin).Loop
	if ls.Cosigned != 0 || ls.Custodian || ls.Entries != 0 {
		t.Fatalf("%s's view of %s: %+v; the test needs a follower only, holding no entries", follower.code, loop, ls)
	}

	// The fork: same size, other root, signed by the loop key and cosigned
	// by the two witnesses of the quorum.
	fork, err := ledger.SignCheckpoint(loopSigner(t, om), loop, served.Size, tlog.Hash{0xf0, 0x4c})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := note.Open(fork, note.VerifierList(self.LoopVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range order[:m.WitnessQuorum] {
		skey, err := os.ReadFile(filepath.Join(ms[code].cfg.DataDir, "keys", "witness.key"))
		if err != nil {
			t.Fatal(err)
		}
		cs, err := exchange.NewCosigner(string(skey))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := cs.Cosign(fn)
		if err != nil {
			t.Fatal(err)
		}
		fork = exchange.AddSignatures(fork, lines)
	}
	if _, ok, err := m.WitnessedLog(loop, fork); err != nil || !ok {
		t.Fatalf("forged fork is not witnessed: %v", err)
	}
	// The origin stops; an impostor with its credentials serves the fork.
	om.stop()
	serveImpostor(t, om, m, map[string][]byte{"/loop/" + origin + "/checkpoint": fork})
	eventually(t, 60*time.Second, follower.code+" raises an equivocation alert on the loop log", func() bool {
		as, err := follower.n.Alerts()
		if err != nil {
			return false
		}
		for _, a := range as {
			if a.Kind == exchange.AlertEquivocation && a.Origin == loop && len(a.Evidence) == 2 &&
				a.Evidence[0] == string(servedNote) && a.Evidence[1] == string(fork) && strings.HasPrefix(a.Reason, "two witnessed loop checkpoints") {
				return true
			}
		}
		return false
	})
	if ls := follower.mirror(t, origin).Loop; ls.Followed != served.Size || !ls.Witnessed {
		t.Fatalf("%s after the fork follows %+v, want the good checkpoint of size %d", follower.code, ls, served.Size)
	}
}

// serveImpostor serves paths over HTTP/3 at mb's endpoint with mb's server
// credentials (mb stopped): what a member that equivocates would serve.
// Any other path is 404.
func serveImpostor(t *testing.T, mb *member, m *exchange.Manifest, paths map[string][]byte) {
	t.Helper()
	cert, pool, err := pki.LoadCredentials(filepath.Join(mb.cfg.DataDir, "tls", "replica"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Members {
		pool.AddCert(m.Members[i].CACert())
	}
	me, _ := m.Member(mb.code)
	srv := &http3.Server{Addr: strings.TrimPrefix(me.Endpoint, "https://"), TLSConfig: http3.ConfigureTLSConfig(pki.ServerConfig(cert, pool)),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, ok := paths[r.URL.Path]; ok {
				w.Write(b)
				return
			}
			http.NotFound(w, r)
		})}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })
}

// TestLoopLogCustodians: the two custodians of each member's loop log
// (rendezvous order of its loop origin) hold a verified copy up to the
// witnessed checkpoint they follow and serve it at /loop/<code>/ (the same
// checkpoint, the same hash tiles as the origin); the other member holds
// none of its entries and serves 404 there.
func TestLoopLogCustodians(t *testing.T) {
	ms, m := startConsortiumCfg(t, append([]provision.MemberSpec(nil), deltaMembers...), nil,
		func(c *node.Config) { c.Sanctions.LoopLog = true })
	ctx := context.Background()
	var codes []string
	for code := range ms {
		codes = append(codes, code)
	}
	zj := ms["330000"]
	e, _ := zj.listing(t, 5)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	loop := schemas.LoopOrigin("330000")
	self, _ := m.Member("330000")
	custodians := exchange.Custodians("330000", codes)
	if len(custodians) != exchange.LoopCustodians || slices.Contains(custodians, "330000") {
		t.Fatalf("custodians of 330000: %v", custodians)
	}
	var size uint64
	eventually(t, 30*time.Second, "330000's custodians hold its witnessed loop log", func() bool {
		cp, _ := servedWitnessedLoop(t, zj, m, "330000")
		if cp == nil || cp.Size == 0 {
			return false
		}
		size = cp.Size
		for _, code := range custodians {
			if ls := ms[code].mirror(t, "330000").Loop; ls == nil || ls.Entries != cp.Size || ls.Followed != cp.Size {
				return false
			}
		}
		return true
	})
	tilePath := "/loop/330000/tile/0/000.p/" + strconv.FormatUint(size, 10)
	bundlePath := "/loop/330000/" + ledger.EntriesPath(0, int(size)) + "?purpose=audit"
	tileStatus, tile := do(t, zj.creds["auditor"].Client, "GET", zj.n.URL()+tilePath, nil)
	bundleStatus, bundle := do(t, zj.creds["auditor"].Client, "GET", zj.n.URL()+bundlePath, nil)
	if tileStatus != 200 || bundleStatus != 200 {
		t.Fatalf("330000 serves its own loop log's hash tile with %d, its entry bundle with %d; want 200", tileStatus, bundleStatus)
	}
	for _, code := range codes {
		if code == "330000" {
			continue
		}
		mb := ms[code]
		status, body := loopCheckpoint(t, mb, "330000")
		gotStatus, got := do(t, mb.creds["auditor"].Client, "GET", mb.n.URL()+tilePath, nil)
		if !slices.Contains(custodians, code) {
			if ls := mb.mirror(t, "330000").Loop; ls.Entries != 0 || status != http.StatusNotFound {
				t.Errorf("non-custodian %s holds %d entries of %s, serves its checkpoint with %d", code, ls.Entries, loop, status)
			}
			continue
		}
		if status != 200 {
			t.Fatalf("custodian %s: GET /loop/330000/checkpoint %d %s", code, status, body)
		}
		cp, err := ledger.OpenCheckpoint(body, loop, self.LoopVerifier())
		if err != nil || cp.Size < size {
			t.Fatalf("custodian %s serves %v (%v), want a checkpoint of size >= %d", code, cp, err, size)
		}
		if _, ok, err := m.WitnessedLog(loop, body); err != nil || !ok {
			t.Errorf("custodian %s serves an unwitnessed loop checkpoint: %v", code, err)
		}
		if cp.Size == size && (gotStatus != 200 || string(got) != string(tile)) {
			t.Errorf("custodian %s's hash tile of %s: %d, differs from the origin's", code, loop, gotStatus)
		}
		// The copy's entry bundles (notices: never public) are gated as the
		// origin's: refused without a certificate, served to a credential.
		pool := mb.creds["auditor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
		public := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		if st, b := do(t, public, "GET", mb.n.URL()+bundlePath, nil); st != http.StatusUnauthorized {
			t.Errorf("custodian %s: public read of %s's entry bundle: %d %.200s, want 401", code, loop, st, b)
		}
		if st, b := do(t, mb.creds["auditor"].Client, "GET", mb.n.URL()+bundlePath, nil); st != 200 || string(b) != string(bundle) {
			t.Errorf("custodian %s: auditor's read of %s's entry bundle: %d, same as the origin's %v; want 200, true", code, loop, st, string(b) == string(bundle))
		}
		if ms := mb.mirror(t, "330000"); ms.Stopped {
			t.Errorf("custodian %s: mirror stopped", code)
		}
		if as, _ := mb.n.Alerts(); len(as) != 0 {
			t.Errorf("custodian %s raised alerts: %+v", code, as)
		}
	}
	// A later notice: the custodians follow the larger checkpoint with the
	// consistency proof the origin served with its long-poll answer
	// (exchange/loop_proof.go), checked, not one built from its tiles.
	served := func() (n uint64) {
		for _, code := range custodians {
			n += ms[code].n.ExchangeWork().ServedProofs
		}
		return n
	}
	before := served()
	e, _ = zj.listing(t, 6)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "330000's custodians hold its larger loop log", func() bool {
		cp, _ := servedWitnessedLoop(t, zj, m, "330000")
		if cp == nil || cp.Size <= size {
			return false
		}
		for _, code := range custodians {
			if ls := ms[code].mirror(t, "330000").Loop; ls == nil || ls.Entries != cp.Size || ls.Followed != cp.Size {
				return false
			}
		}
		return true
	})
	if served() == before {
		t.Error("no custodian followed the larger loop checkpoint with the proof served with the answer")
	}
	for _, code := range custodians {
		if as, _ := ms[code].n.Alerts(); len(as) != 0 {
			t.Errorf("custodian %s raised alerts: %+v", code, as)
		}
	}
}
