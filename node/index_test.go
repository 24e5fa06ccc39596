package node

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

// TestAdmittedParsesReused: the FSM's parse of an entry (parsedFor) is the
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
	ix := &indexer{}
	ix.admittedEntry(e, s, rec)
	leaf := tlog.RecordHash(e)
	got := ix.parsedFor(leaf, e)
	if got.rec != rec || got.signed != s || got.leaf != leaf {
		t.Fatal("admission's parse not reused for the same bytes")
	}
	again := ix.parsedFor(leaf, e) // taken: parsed afresh, to the same
	if again.rec == rec || again.err != nil || again.decErr != nil || !reflect.DeepEqual(again.rec, rec) || !reflect.DeepEqual(again.signed, s) {
		t.Fatalf("second parse: reused %v, err %v/%v, equal %v", again.rec == rec, again.err, again.decErr, reflect.DeepEqual(again.rec, rec))
	}
	other := append(bytes.Clone(e[:len(e)-3]), 'A', '"', '}') // other bytes (signature changed)
	ix.admittedEntry(e, s, rec)
	if p := ix.parsedFor(tlog.RecordHash(other), other); p.rec == rec {
		t.Fatal("a parse reused for other bytes")
	}
	for i := range admittedMax + 10 {
		var h tlog.Hash
		h[0], h[1], h[2] = byte(i), byte(i>>8), byte(i>>16)
		ix.admitted.put(parsedEntry{leaf: h, rec: rec})
		if n := len(ix.admitted.m); n > admittedMax || n == 0 {
			t.Fatalf("after %d puts the admitted set holds %d parses, bound %d", i+1, n, admittedMax)
		}
	}
}
