package node

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Issue 12 item 2: a listing a receiving member cannot apply (its catalogue
// does not know the programme; no executing agency of its own) produced zero
// notices and only an INFO log line. It is now a visible not_applied state
// with the reason, identical on every replica, and is not queued.
func TestNotAppliedIsVisible(t *testing.T) {
	dir := t.TempDir()
	s, v, key := zhejiangKeys(t)
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
		l := zjEnvListing(t, 1, at)
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
