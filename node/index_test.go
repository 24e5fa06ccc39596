package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestIndexViewMatchesFullDecode: the FSM's minimal decode finds the same
// subjects and references as a full decode, for every record kind that has them.
func TestIndexViewMatchesFullDecode(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var mk schemas.MatchKey
	auth := schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}
	l, err := synth.Listing(5, synth.Options{Region: "330000", Authority: auth, MatchKey: mk, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	ref := schemas.Ref{Origin: "creditx.330000/ledger", Index: 7, Hash: "00"}
	h := schemas.Header{Region: "330000", Submitter: auth.USCC, CreatedAt: schemas.NewTime(time.Now())}
	recs := []schemas.Record{
		l,
		&schemas.Correction{Header: h, Target: ref, Action: "withdraw", Reason: "r"},
		&schemas.Repair{Header: h, Listing: ref, Type: "expiry"},
		&schemas.Objection{Header: h, Target: ref},
		&schemas.ObjectionDecision{Header: h, Objection: ref, Decision: "rejected"},
		&schemas.Feedback{Header: h, Notice: ref, Outcome: "applied"},
		&schemas.SanctionNotice{Header: h, Listing: ref, Target: schemas.Target{Kind: "enterprise", USCC: auth.USCC}},
	}
	for _, r := range recs {
		e, err := schemas.Sign(r, priv)
		if err != nil {
			t.Fatalf("%s: %v", r.Kind(), err)
		}
		v, err := decodeIndexView(e)
		if err != nil {
			t.Fatalf("%s: %v", r.Kind(), err)
		}
		if v.kind != r.Kind() {
			t.Errorf("kind %q, want %q", v.kind, r.Kind())
		}
		if !slices.Equal(v.refs, recordRefs(r)) {
			t.Errorf("%s: refs %v, want %v", r.Kind(), v.refs, recordRefs(r))
		}
		if lst, ok := r.(*schemas.Listing); ok && !slices.Equal(v.subjects, listingSubjectKeys(lst)) {
			t.Errorf("subjects %v, want %v", v.subjects, listingSubjectKeys(lst))
		}
	}
	if len(listingSubjectKeys(l)) != 2 {
		t.Fatalf("listing should be indexed under its USCC and its legal representative")
	}
	if _, err := decodeIndexView([]byte(`{"key":"k","record":{"schema":"nope/v1"}}`)); err == nil {
		t.Error("unknown schema indexed")
	}
}
