package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// Issue 12 item 2: a listing a receiving member cannot apply (its catalogue
// does not know the programme; no executing agency of its own) produced zero
// notices and only an INFO log line. It is now a visible not_applied state
// with the reason, identical on every replica, and is not queued.
func TestNotAppliedIsVisible(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := ledger.GenerateKey(LedgerOrigin("330000"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	a := calendarReplica(t, filepath.Join(dir, "a.db"), s, v)
	b := calendarReplica(t, filepath.Join(dir, "b.db"), s, v)
	// b's member has no executing agencies at all.
	eng, err := sanctions.NewEngine(sanctions.Config{Catalogue: b.sanctions.engine.Catalogue(), Calendar: b.sanctions.engine.Calendar(),
		Agencies: sanctions.NoAgencies("330000"), Region: "330000", Issuer: calIssuer})
	if err != nil {
		t.Fatal(err)
	}
	b.sanctions.engine = eng

	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	sign := func(mut func(l *schemas.Listing)) []byte {
		l, err := synth.Listing(1, synth.Options{Region: "330000", Domain: "environment", Now: at,
			Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 9)}})
		if err != nil {
			t.Fatal(err)
		}
		mut(l)
		e, err := schemas.Sign(l, key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	good := sign(func(*schemas.Listing) {})
	unknown := sign(func(l *schemas.Listing) { l.Programme.Code = "XX-UNKNOWN" })
	for _, r := range []*Node{a, b} {
		applyAll(t, r.fsm, ownAppend(t, 1, at, good, unknown))
	}
	na, err := a.NotApplied()
	if err != nil || len(na) != 1 || na[0].Index != 1 || na[0].State != "not_applied" || !strings.Contains(na[0].Reason, "XX-UNKNOWN") {
		t.Fatalf("member with agencies: %+v %v", na, err)
	}
	nb, _ := b.NotApplied()
	if len(nb) != 2 || !strings.Contains(nb[0].Reason, "no executing agency of 330000") {
		t.Fatalf("member without agencies: %+v", nb)
	}
	a.fsm.view(func(tx *ledger.ReadTx) error {
		q := tx.Bucket(bucketNoticeQueue)
		if q.Get(entryKey(a.origin, 0)) == nil || q.Get(entryKey(a.origin, 1)) != nil {
			t.Error("only the applicable listing may be queued for notices")
		}
		l, _ := readRecord(tx, a.origin, 1).(*schemas.Listing)
		if st := a.listingState(tx, a.origin, 1, l, at); !strings.Contains(st.NotApplied, "XX-UNKNOWN") {
			t.Errorf("listing status does not show not_applied: %+v", st)
		}
		return nil
	})
}
