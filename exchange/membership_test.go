package exchange

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

var founders = []string{"310000", "320000", "330000", "340000"}

// joinChange is the change that admits a new member code with fresh keys.
func joinChange(t testing.TB, code, endpoint string) *Change {
	t.Helper()
	mb := testManifest(t, code).Members[0]
	c := &Change{Op: schemas.ChangeJoin, Code: code, Name: "杭州市", Endpoint: endpoint, LogVKey: mb.LogVKey,
		WitnessVKey: mb.WitnessVKey, CA: mb.CA}
	for _, a := range mb.Anchors {
		c.Anchors = append(c.Anchors, schemas.ChangeAnchor{Name: a.Name, USCC: "91330100143689503K", PublicKey: a.PublicKey})
	}
	return c
}

func parsed(t testing.TB, m *Manifest) *Manifest {
	t.Helper()
	p, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func propose(t testing.TB, by string, index uint64, base *Manifest, c *Change) (GovRecord, *Manifest) {
	t.Helper()
	res, err := ApplyChange(base, c)
	if err != nil {
		t.Fatal(err)
	}
	return GovRecord{By: by, Index: index, Propose: &schemas.ManifestPropose{Base: ManifestHash(base), Change: c, SHA256: ManifestHash(res)}}, res
}

func approve(by string, index uint64, m *Manifest) GovRecord {
	return GovRecord{By: by, Index: index, Approve: &schemas.ManifestApprove{SHA256: ManifestHash(m)}}
}

func TestReconstruct(t *testing.T) {
	g := parsed(t, testManifest(t, founders...))
	join := joinChange(t, "330100", "https://127.0.0.1:9443")
	p1, v2 := propose(t, "310000", 5, g, join)
	recs := []GovRecord{
		approve("320000", 3, v2), // before the proposal in the merged order: counts
		p1,
		approve("330100", 6, v2), // the candidate itself is not effective: does not count
		approve("330000", 9, v2), // the third of four: decides
		approve("340000", 12, v2),
	}
	h := Reconstruct(g, nil, recs)
	if len(h.Versions) != 2 || len(h.Pending) != 0 || len(h.Refused) != 0 {
		t.Fatalf("versions %d, pending %d, refused %v", len(h.Versions), len(h.Pending), h.Refused)
	}
	v := h.Current()
	if v.Hash != ManifestHash(v2) || v.From != 9 || v.Manifest.Version != 2 || v.Decided.By != "330000" {
		t.Fatalf("current = version %d from %d decided by %v", v.Manifest.Version, v.From, v.Decided)
	}
	if !slices.Equal(v.Approvers, []string{"310000", "320000", "330000"}) || len(v.Electorate) != 4 {
		t.Errorf("approvers %v of electorate %v", v.Approvers, v.Electorate)
	}
	if h.At(8).Hash != ManifestHash(g) || h.At(9).Hash != v.Hash || h.At(0).Hash != ManifestHash(g) {
		t.Error("At does not switch at the deciding index")
	}
	if eff := v.Manifest.Effective(nil); !eff["330100"] || len(eff) != 5 {
		t.Errorf("effective after the join: %v", eff)
	}
	// The order the ledgers are read in does not matter.
	for range 20 {
		sh := slices.Clone(recs)
		rand.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		if h2 := Reconstruct(g, nil, sh); h2.Current().Hash != v.Hash || h2.Current().From != 9 {
			t.Fatal("Reconstruct depends on record order")
		}
	}

	// Without a majority: two of four is not more than half.
	h = Reconstruct(g, nil, recs[:3])
	if len(h.Versions) != 1 || len(h.Pending) != 1 || !slices.Equal(h.Pending[0].Votes, []string{"310000", "320000"}) || h.Pending[0].Needed != 3 {
		t.Fatalf("no majority: versions %d pending %+v", len(h.Versions), h.Pending)
	}

	// A leave on v2 needs 3 of 5; the departed member's votes stop counting
	// and a proposal on the old base is stale.
	p2, v3 := propose(t, "330100", 20, v2, &Change{Op: schemas.ChangeLeave, Code: "340000"})
	stale, _ := propose(t, "310000", 21, g, &Change{Op: schemas.ChangeEndpoint, Code: "320000", Endpoint: "https://127.0.0.1:7443"})
	recs = append(recs, p2, stale, approve("310000", 22, v3), approve("320000", 23, v3))
	h = Reconstruct(g, nil, recs)
	if len(h.Versions) != 3 || h.Current().From != 23 || len(h.Current().Electorate) != 5 {
		t.Fatalf("leave: versions %d, current from %d electorate %v", len(h.Versions), h.Current().From, h.Current().Electorate)
	}
	if len(h.Refused) != 1 || !strings.Contains(h.Refused[0].Reason, "not the manifest in force") {
		t.Errorf("stale proposal: refused %v", h.Refused)
	}
	p3, v4 := propose(t, "340000", 30, v3, &Change{Op: schemas.ChangeEndpoint, Code: "330000", Endpoint: "https://127.0.0.1:6443"})
	h = Reconstruct(g, nil, append(recs, p3, approve("310000", 31, v4), approve("320000", 32, v4)))
	if len(h.Versions) != 3 || len(h.Refused) != 2 || !strings.Contains(h.Refused[1].Reason, "not an effective member") {
		t.Errorf("a removed member's proposal counted: versions %d refused %v", len(h.Versions), h.Refused)
	}

	// A member whose genesis is the manifest a proposal produced (a city
	// configured with the manifest in force) reads that proposal as applied.
	h = Reconstruct(v2, nil, recs[:5])
	if len(h.Versions) != 1 || len(h.Refused) != 0 || len(h.Pending) != 0 || h.Current().Hash != ManifestHash(v2) {
		t.Errorf("genesis v2: versions %d, refused %v, pending %d", len(h.Versions), h.Refused, len(h.Pending))
	}

	// A proposal whose hash is not the result's is refused.
	bad := p1
	bad.Propose = &schemas.ManifestPropose{Base: p1.Propose.Base, Change: join, SHA256: strings.Repeat("ab", 32)}
	h = Reconstruct(g, nil, []GovRecord{bad, approve("320000", 6, v2), approve("330000", 7, v2)})
	if len(h.Versions) != 1 || len(h.Refused) != 1 || !strings.Contains(h.Refused[0].Reason, "not the hash") {
		t.Errorf("wrong hash: versions %d refused %v", len(h.Versions), h.Refused)
	}
}

func TestApplyChangeErrors(t *testing.T) {
	g := parsed(t, testManifest(t, founders...))
	before := ManifestHash(g)
	join := joinChange(t, "330100", "https://127.0.0.1:9443")
	for _, c := range []struct {
		name  string
		c     *Change
		field string
	}{
		{"join existing", func() *Change { c := *join; c.Code = "310000"; return &c }(), "change.code"},
		{"join used endpoint", func() *Change { c := *join; c.Endpoint = g.Members[0].Endpoint; return &c }(), "change.endpoint"},
		{"join bad ca", func() *Change { c := *join; c.CA = "nope"; return &c }(), "change.ca"},
		{"join misnamed log key", func() *Change { c := *join; c.LogVKey = g.Members[1].LogVKey; return &c }(), "change.log_vkey"},
		{"join no anchors", func() *Change { c := *join; c.Anchors = nil; return &c }(), "change.anchors"},
		{"leave unknown", &Change{Op: schemas.ChangeLeave, Code: "350000"}, "change.code"},
		{"endpoint same", &Change{Op: schemas.ChangeEndpoint, Code: "310000", Endpoint: g.Members[0].Endpoint}, "change.endpoint"},
		{"endpoint no port", &Change{Op: schemas.ChangeEndpoint, Code: "310000", Endpoint: "https://sh.example"}, "change.endpoint"},
		{"rotate ca same", &Change{Op: schemas.ChangeRotateCA, Code: "310000", CA: g.Members[0].CA}, "change.ca"},
		{"rotate witness same", &Change{Op: schemas.ChangeRotateKeys, Code: "310000", WitnessVKey: g.Members[0].WitnessVKey}, "change.witness_vkey"},
		{"rotate nothing", &Change{Op: schemas.ChangeRotateKeys, Code: "310000"}, "change."},
		{"bad op", &Change{Op: "merge", Code: "310000"}, "change.op"},
	} {
		_, err := ApplyChange(g, c.c)
		var ce *ChangeError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s: got %v, want a *ChangeError on %s", c.name, err, c.field)
		}
	}
	// Two leaves take a 4-member manifest with quorum 2 to one other member.
	m, err := ApplyChange(g, &Change{Op: schemas.ChangeLeave, Code: "310000"})
	if err != nil {
		t.Fatal(err)
	}
	var ce *ChangeError
	if _, err := ApplyChange(m, &Change{Op: schemas.ChangeLeave, Code: "320000"}); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "witness_quorum") {
		t.Errorf("a leave that makes witness_quorum unreachable: %v", err)
	}
	if ManifestHash(g) != before {
		t.Error("ApplyChange modified its base manifest")
	}
	res, err := ApplyChange(g, join)
	if err != nil || res.Version != g.Version+1 || len(res.Members) != 5 || ManifestHash(res) == before {
		t.Fatalf("join: %v", err)
	}
}

// FuzzParseChange parses arbitrary change JSON and applies what parses: no
// panic, every error is a *ChangeError, and an applied change yields a
// manifest that parses again to the same hash.
func FuzzParseChange(f *testing.F) {
	g := parsed(f, testManifest(f, founders...))
	join, _ := json.Marshal(joinChange(f, "330100", "https://127.0.0.1:9443"))
	f.Add(join)
	f.Add([]byte(`{"op":"leave","code":"340000"}`))
	f.Add([]byte(`{"op":"endpoint","code":"310000","endpoint":"https://127.0.0.1:7443"}`))
	f.Add([]byte(`{"op":"rotate_keys","code":"310000"}`))
	f.Add([]byte(`{"op":"leave","code":"340000","x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseChange(b)
		var ce *ChangeError
		if err != nil {
			if !errors.As(err, &ce) {
				t.Fatalf("ParseChange error %T is not a *ChangeError", err)
			}
			return
		}
		res, err := ApplyChange(g, c)
		if err != nil {
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "change") {
				t.Fatalf("ApplyChange error %v is not a *ChangeError", err)
			}
			return
		}
		again := parsed(t, res)
		if ManifestHash(again) != ManifestHash(res) || res.Version != g.Version+1 {
			t.Fatal("an applied change does not round-trip")
		}
	})
}
