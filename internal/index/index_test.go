package index

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
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
		v, err := DecodeView(e)
		if err != nil {
			t.Fatalf("%s: %v", r.Kind(), err)
		}
		if v.Kind != r.Kind() {
			t.Errorf("kind %q, want %q", v.Kind, r.Kind())
		}
		if !slices.Equal(v.Refs, RecordRefs(r)) {
			t.Errorf("%s: refs %v, want %v", r.Kind(), v.Refs, RecordRefs(r))
		}
		if lst, ok := r.(*schemas.Listing); ok && !slices.Equal(v.Subjects, ListingSubjectKeys(lst)) {
			t.Errorf("subjects %v, want %v", v.Subjects, ListingSubjectKeys(lst))
		}
	}
	if len(ListingSubjectKeys(l)) != 2 {
		t.Fatalf("listing should be indexed under its USCC and its legal representative")
	}
	if _, err := DecodeView([]byte(`{"key":"k","record":{"schema":"nope/v1"}}`)); err == nil {
		t.Error("unknown schema indexed")
	}
}

// TestAdmittedParsesReused: the FSM's parse of an entry (ParsedFor) is the
// one admission recorded for the same bytes, taken once; for other bytes,
// or a second time, it is a fresh parse equal to it; the set is bounded.
func TestAdmittedParsesReused(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	auth := schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}
	l, err := synth.Listing(6, synth.Options{Region: "330000", Authority: auth, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, priv)
	if err != nil {
		t.Fatal(err)
	}
	s, rec, err := schemas.ParseDecode(e)
	if err != nil {
		t.Fatal(err)
	}
	ix := New(Steps{})
	ix.Admitted(e, s, rec)
	leaf := tlog.RecordHash(e)
	got := ix.ParsedFor(leaf, e)
	if got.Rec != rec || got.Signed != s || got.Leaf != leaf {
		t.Fatal("admission's parse not reused for the same bytes")
	}
	again := ix.ParsedFor(leaf, e) // taken: parsed afresh, to the same
	if again.Rec == rec || again.Err != nil || again.DecErr != nil || !reflect.DeepEqual(again.Rec, rec) || !reflect.DeepEqual(again.Signed, s) {
		t.Fatalf("second parse: reused %v, err %v/%v, equal %v", again.Rec == rec, again.Err, again.DecErr, reflect.DeepEqual(again.Rec, rec))
	}
	other := append(bytes.Clone(e[:len(e)-3]), 'A', '"', '}') // other bytes (signature changed)
	ix.Admitted(e, s, rec)
	if p := ix.ParsedFor(tlog.RecordHash(other), other); p.Rec == rec {
		t.Fatal("a parse reused for other bytes")
	}
	for i := range admittedMax + 10 {
		var h tlog.Hash
		h[0], h[1], h[2] = byte(i), byte(i>>8), byte(i>>16)
		ix.admitted.put(Parsed{Leaf: h, Rec: rec})
		if n := len(ix.admitted.m); n > admittedMax || n == 0 {
			t.Fatalf("after %d puts the admitted set holds %d parses, bound %d", i+1, n, admittedMax)
		}
	}
}

// TestAdmittedLeafReused: a parse handed over with its leaf hash (the
// mirror verifier's, AdmittedLeaf) is the one ParsedFor returns for those
// bytes, once; a whole mirror batch (4096) fits in the set.
func TestAdmittedLeafReused(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	auth := schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}
	l, err := synth.Listing(7, synth.Options{Region: "330000", Authority: auth, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, priv)
	if err != nil {
		t.Fatal(err)
	}
	s, rec, err := schemas.ParseDecode(e)
	if err != nil {
		t.Fatal(err)
	}
	ix := New(Steps{})
	leaf := tlog.RecordHash(e)
	ix.AdmittedLeaf(leaf, s, rec)
	if got := ix.ParsedFor(leaf, e); got.Rec != rec || got.Signed != s || got.Leaf != leaf {
		t.Fatal("the verifier's parse not reused for the same bytes")
	}
	if got := ix.ParsedFor(leaf, e); got.Rec == rec || !reflect.DeepEqual(got.Rec, rec) {
		t.Fatal("a handed-over parse was taken twice, or the fresh parse differs")
	}
	if admittedMax < 2*4096 {
		t.Fatalf("admittedMax %d: no room for a mirror batch of 4096 beside admission's parses", admittedMax)
	}
}
