package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	fnote "github.com/transparency-dev/formats/note"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fixtureOpts choose the faults built into a fixture at creation time (the
// ones that need re-signed ledgers); file-level tampering is done by the
// tests on the written trees.
type fixtureOpts struct {
	backdateFeedback bool // 320000's first feedback is dated before its notice
	lateKey          bool // 330000's publisher key is registered after its listings
	rogue            bool // 310000 writes a withdrawal and feedback for 330000's entries (owner_test.go)
	// loop: every member writes its notices and feedback to its loop log,
	// creditx.<code>/loop (loop_test.go), held by the member only at
	// dir/<code>/<code>-loop and cosigned unless loopUnwitnessed; the
	// manifest carries each loop_vkey.
	loop, loopUnwitnessed bool
}

// member is one consortium member of a fixture.
type member struct {
	code             string
	logS             note.Signer
	logV             string
	witS             note.Signer
	witV             string
	admin, pub, exec ed25519.PrivateKey
	entries          [][]byte
	phase1           int // entries in the mirrors' (lagging) checkpoint
	// the loop log, when the fixture has loop logs (fixtureOpts.loop)
	useLoop     bool
	loopS       note.Signer
	loopV       string
	loopEntries [][]byte
}

func (m *member) loopOrigin() string { return "creditx." + m.code + "/loop" }

// signLoop appends r to the loop log when the member has one, else to its
// ledger, and returns the index.
func (m *member) signLoop(t fataler, r schemas.Record, k ed25519.PrivateKey) uint64 {
	t.Helper()
	if !m.useLoop {
		return m.sign(t, r, k)
	}
	e, err := schemas.Sign(r, k)
	if err != nil {
		t.Fatal(err)
	}
	m.loopEntries = append(m.loopEntries, e)
	return uint64(len(m.loopEntries) - 1)
}

// loopRef is the reference to entry i of the log signLoop writes to.
func (m *member) loopRef(i uint64) schemas.Ref {
	if !m.useLoop {
		return m.ref(i)
	}
	h := tlog.RecordHash(m.loopEntries[i])
	return schemas.Ref{Origin: m.loopOrigin(), Index: i, Hash: hex.EncodeToString(h[:])}
}

func (m *member) loopEntry(i uint64) []byte {
	if m.useLoop {
		return m.loopEntries[i]
	}
	return m.entries[i]
}

func (m *member) origin() string { return "creditx." + m.code + "/ledger" }
func (m *member) uscc(suffix string) string {
	c, err := schemas.CompleteUSCC("12" + m.code + suffix)
	if err != nil {
		panic(err)
	}
	return c
}
func (m *member) adminUSCC() string { return m.uscc("MB000001") }
func (m *member) pubUSCC() string   { return m.uscc("MB000002") }
func (m *member) execUSCC() string  { return m.uscc("MB000003") }

// fixture is a written audit directory: dir/manifest.yaml and
// dir/<holder>/<origin code>/ trees, every checkpoint cosigned by the
// other members' witnesses (quorum 2).
type fixture struct {
	dir     string
	members []*member
	// where: named entries ("listing 310000/0", "feedback 320000/0") -> index
	where map[string]uint64
	base  time.Time
}

func (fx *fixture) member(code string) *member {
	for _, m := range fx.members {
		if m.code == code {
			return m
		}
	}
	panic(code)
}

func (fx *fixture) tree(holder, code string) string { return filepath.Join(fx.dir, holder, code) }

var fixtureBase = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func newMember(t fataler, code string) *member {
	m := &member{code: code}
	skey, vkey, err := ledger.GenerateKey(m.origin(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if m.logS, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	m.logV = vkey
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "creditx."+code+"/witness")
	if err != nil {
		t.Fatal(err)
	}
	if m.witS, err = fnote.NewSignerForCosignatureV1(wskey); err != nil {
		t.Fatal(err)
	}
	m.witV = wvkey
	_, m.admin, _ = ed25519.GenerateKey(rand.Reader)
	_, m.pub, _ = ed25519.GenerateKey(rand.Reader)
	_, m.exec, _ = ed25519.GenerateKey(rand.Reader)
	return m
}

func (m *member) sign(t fataler, r schemas.Record, k ed25519.PrivateKey) uint64 {
	t.Helper()
	if err := schemas.NewValidator(nil).Validate(r); err != nil {
		t.Fatalf("fixture record invalid: %v", err)
	}
	e, err := schemas.Sign(r, k)
	if err != nil {
		t.Fatal(err)
	}
	m.entries = append(m.entries, e)
	return uint64(len(m.entries) - 1)
}

func (m *member) register(t fataler, k ed25519.PrivateKey, uscc, role string, at time.Time) {
	pk := k.Public().(ed25519.PublicKey)
	m.sign(t, &schemas.Governance{Header: schemas.Header{Region: m.code, Submitter: m.adminUSCC(), CreatedAt: schemas.NewTime(at)},
		Action: schemas.ActionAgencyKeyRegister, AgencyKeyRegister: &schemas.AgencyKeyRegister{
			Agency: schemas.GovAgency{Name: "Agency " + role + " " + m.code, USCC: uscc, Region: m.code}, KeyID: schemas.KeyID(pk),
			PublicKey: base64.StdEncoding.EncodeToString(pk), Roles: []string{role}}}, m.admin)
}

func (m *member) ref(i uint64) schemas.Ref {
	h := tlog.RecordHash(m.entries[i])
	return schemas.Ref{Origin: m.origin(), Index: i, Hash: hex.EncodeToString(h[:])}
}

func day0(t time.Time) schemas.Date { return schemas.NewDate(t.Year(), t.Month(), t.Day()) }

// buildFixture writes a three-member fixture into a new temporary directory.
// Each member publishes listingsPer listings; every member issues one
// notice per listing; feedback comes for all but the last notice of each
// member, which is overdue at fixtureAt.
func buildFixture(t testing.TB, listingsPer int, o fixtureOpts) *fixture {
	t.Helper()
	fx := &fixture{dir: t.TempDir(), where: map[string]uint64{}, base: fixtureBase}
	for _, c := range []string{"310000", "320000", "330000"} {
		m := newMember(t, c)
		if o.loop {
			skey, vkey, err := ledger.GenerateKey(m.loopOrigin(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if m.loopS, err = note.NewSigner(skey); err != nil {
				t.Fatal(err)
			}
			m.useLoop, m.loopV = true, vkey
		}
		fx.members = append(fx.members, m)
	}
	type lref struct {
		m *member
		i uint64
		l *schemas.Listing
	}
	var listings []lref
	for _, m := range fx.members {
		late := o.lateKey && m.code == "330000"
		if !late {
			m.register(t, m.pub, m.pubUSCC(), "publish", fx.base)
		}
		m.register(t, m.exec, m.execUSCC(), "execute", fx.base)
		for n := 0; n < listingsPer; n++ {
			created := fx.base.Add(time.Duration(n+1) * time.Hour)
			l, err := synth.Listing(uint64(n+1), synth.Options{Region: m.code, Authority: schemas.Agency{Name: "Listing authority " + m.code, USCC: m.pubUSCC()}, Now: created})
			if err != nil {
				t.Fatal(err)
			}
			i := m.sign(t, l, m.pub)
			fx.where[fmt.Sprintf("listing %s/%d", m.code, n)] = i
			listings = append(listings, lref{m, i, l})
		}
		if late {
			m.register(t, m.pub, m.pubUSCC(), "publish", fx.base.Add(30*24*time.Hour))
		}
	}
	for _, m := range fx.members {
		m.phase1 = len(m.entries)
	}
	for mi, m := range fx.members {
		var notices []uint64
		for li, lr := range listings {
			created := lr.l.CreatedAt.Add(time.Duration(1+mi) * time.Hour)
			start := day0(created.In(cst))
			n := &schemas.SanctionNotice{Header: schemas.Header{Region: m.code, Submitter: m.adminUSCC(), CreatedAt: schemas.NewTime(created)},
				Listing: lr.m.ref(lr.i),
				Measure: schemas.Measure{Code: "ENV-PROC-01", CatalogueVersion: "2026.1", Memorandum: "发改财金〔2016〕1580号", Item: "1",
					Text: "限制参加政府采购活动", Scope: "general", AppliesTo: []string{"enterprise"}},
				ExecutingAgency: schemas.ExecutingAgency{Name: "Procurement " + m.code, USCC: m.execUSCC(), DeptType: "procurement"},
				Target:          schemas.Target{Kind: "enterprise", USCC: lr.l.Subject.USCC},
				Start:           start, End: schemas.Date{Time: start.AddDate(3, 0, 0)}, FeedbackDue: schemas.Date{Time: start.AddDate(0, 0, 10)}}
			i := m.signLoop(t, n, m.admin)
			fx.where[fmt.Sprintf("notice %s/%d", m.code, li)] = i
			notices = append(notices, i)
		}
		for k, ni := range notices[:len(notices)-1] {
			var nt schemas.SanctionNotice
			s, _ := schemas.ParseSigned(m.loopEntry(ni))
			r, _ := s.Decode()
			nt = *r.(*schemas.SanctionNotice)
			created := nt.CreatedAt.Add(24 * time.Hour)
			if o.backdateFeedback && m.code == "320000" && k == 0 {
				created = nt.CreatedAt.Add(-2 * time.Hour)
			}
			i := m.signLoop(t, &schemas.Feedback{Header: schemas.Header{Region: m.code, Submitter: m.execUSCC(), CreatedAt: schemas.NewTime(created)},
				Notice: m.loopRef(ni), Agency: schemas.Agency{Name: "Procurement " + m.code, USCC: m.execUSCC()}, Outcome: "applied",
				ActedAt: schemas.NewTime(created)}, m.exec)
			fx.where[fmt.Sprintf("feedback %s/%d", m.code, k)] = i
		}
	}
	if o.rogue {
		addRogue(t, fx)
	}
	fx.write(t)
	for _, m := range fx.members {
		if m.useLoop {
			fx.writeLoop(t, m, !o.loopUnwitnessed)
		}
	}
	return fx
}

// writeLoop stores m's loop log, exports it to dir/<code>/<code>-loop and
// cosigns its checkpoint with the other members' witnesses if cosign.
func (fx *fixture) writeLoop(t testing.TB, m *member, cosign bool) {
	vr, err := note.NewVerifier(m.loopV)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(filepath.Join(t.TempDir(), "loop.db"), ledger.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(func(tx *ledger.Tx) error {
		if _, err := tx.Append(m.loopOrigin(), m.loopEntries); err != nil {
			return err
		}
		lr := tx.Log(m.loopOrigin())
		root, err := lr.TreeHash(lr.Size())
		if err != nil {
			return err
		}
		cp, err := ledger.SignCheckpoint(m.loopS, m.loopOrigin(), lr.Size(), root)
		if err != nil {
			return err
		}
		return tx.SetCheckpoint(m.loopOrigin(), cp, vr)
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := fx.tree(m.code, m.code+"-loop")
	if err := ledger.Export(t.Context(), s.Log(m.loopOrigin()), dir, m.loopV); err != nil {
		t.Fatal(err)
	}
	if cosign {
		fx.cosign(t, m, dir)
	}
}

// write stores each member's ledger, exports it to every holder's
// directory (the next member in the ring holds the lagging phase-1 copy),
// cosigns every checkpoint with the other members' witnesses, and writes
// the manifest.
func (fx *fixture) write(t testing.TB) {
	for mi, m := range fx.members {
		vr, err := note.NewVerifier(m.logV)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		lagging := fx.members[(mi+1)%len(fx.members)].code
		appendCP := func(entries [][]byte) {
			err := s.Update(func(tx *ledger.Tx) error {
				if _, err := tx.Append(m.origin(), entries); err != nil {
					return err
				}
				lr := tx.Log(m.origin())
				root, err := lr.TreeHash(lr.Size())
				if err != nil {
					return err
				}
				cp, err := ledger.SignCheckpoint(m.logS, m.origin(), lr.Size(), root)
				if err != nil {
					return err
				}
				return tx.SetCheckpoint(m.origin(), cp, vr)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		export := func(holder string) {
			dir := fx.tree(holder, m.code)
			if err := ledger.Export(t.Context(), s.Log(m.origin()), dir, m.logV); err != nil {
				t.Fatal(err)
			}
			fx.cosign(t, m, dir)
		}
		appendCP(m.entries[:m.phase1])
		export(lagging)
		appendCP(m.entries[m.phase1:])
		for _, h := range fx.members {
			if h.code != lagging {
				export(h.code)
			}
		}
		s.Close()
	}
	var man strings.Builder
	man.WriteString("version: 1\nwitness_quorum: 2\naccepted_schemas: [listing/v1]\nmembers:\n")
	for _, m := range fx.members {
		a := []trust.Anchor{{Name: "Credit office " + m.code, USCC: m.adminUSCC(), PublicKey: base64.StdEncoding.EncodeToString(m.admin.Public().(ed25519.PublicKey))}}
		ab, _ := yaml.Marshal(a)
		fmt.Fprintf(&man, "  - code: %q\n    name: Member %s\n    endpoint: https://%s.example:8443\n    log_vkey: %s\n    witness_vkey: %s\n    status: active\n",
			m.code, m.code, m.code, m.logV, m.witV)
		if m.loopV != "" {
			fmt.Fprintf(&man, "    loop_vkey: %s\n", m.loopV)
		}
		man.WriteString("    anchors:\n")
		for _, line := range strings.Split(strings.TrimSpace(string(ab)), "\n") {
			man.WriteString("      " + line + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(fx.dir, ManifestFile), []byte(man.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cosign appends the other members' tlog-cosignature/v1 lines to the
// checkpoint in dir.
func (fx *fixture) cosign(t testing.TB, origin *member, dir string) {
	p := filepath.Join(dir, ledger.ExportCheckpointFile)
	signed, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text := string(signed[:strings.Index(string(signed), "\n\n")+1])
	out := signed
	for _, w := range fx.members {
		if w == origin {
			continue
		}
		cs, err := note.Sign(&note.Note{Text: text}, w.witS)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs[len(text)+1:]...)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fataler is the part of testing.TB the ledger builders need, so that the
// Example can use them too.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
}
