package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// fixture: entry 0 registers the publisher's key (signed by the anchor);
// entries 1..n-1 are listings signed by the publisher.
func fixture(t *testing.T, n int) (Origin, [][]byte, ed25519.PrivateKey) {
	t.Helper()
	apub, admin, _ := ed25519.GenerateKey(rand.Reader)
	ppub, pub, _ := ed25519.GenerateKey(rand.Reader)
	adminUSCC, pubUSCC := synth.EnterpriseUSCC("330000", 1), synth.EnterpriseUSCC("330000", 2)
	o := Origin{Origin: "creditx.330000/ledger", Anchors: []Anchor{{Name: "office", USCC: adminUSCC, PublicKey: base64.StdEncoding.EncodeToString(apub)}}}
	g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: adminUSCC, CreatedAt: schemas.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Action: schemas.ActionAgencyKeyRegister, AgencyKeyRegister: &schemas.AgencyKeyRegister{
			Agency: schemas.GovAgency{Name: "authority", USCC: pubUSCC, Region: "330000"}, KeyID: schemas.KeyID(ppub),
			PublicKey: base64.StdEncoding.EncodeToString(ppub), Roles: []string{"publish"}}}
	e0, err := schemas.Sign(g, admin)
	if err != nil {
		t.Fatal(err)
	}
	entries := [][]byte{e0}
	for i := 1; i < n; i++ {
		l, err := synth.Listing(uint64(i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: "authority", USCC: pubUSCC}})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := schemas.Sign(l, pub)
		entries = append(entries, e)
	}
	return o, entries, pub
}

func runChecker(t *testing.T, o Origin, entries [][]byte) (int, error) {
	c, err := o.Checker(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if err := c(uint64(i), e); err != nil {
			return i, err
		}
	}
	return -1, nil
}

func runPipeline(t *testing.T, o Origin, entries [][]byte) (int, error) {
	p, err := o.Pipeline(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if p.Check(uint64(i), e) != nil {
			break
		}
	}
	err = p.Close()
	var ee *EntryError
	if errors.As(err, &ee) {
		return int(ee.Index), err
	}
	return -1, err
}

// TestPipelineMatchesChecker: the parallel checker accepts what the
// sequential one accepts and reports the same first failing index.
func TestPipelineMatchesChecker(t *testing.T) {
	o, entries, _ := fixture(t, 200)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	badSig := func(es [][]byte) [][]byte {
		out := append([][]byte(nil), es...)
		s, _ := schemas.ParseSigned(out[150])
		rec, _ := s.Decode()
		out[150], _ = schemas.Sign(rec, stranger) // signed by an unregistered key
		return out
	}
	forged := func(es [][]byte) [][]byte {
		out := append([][]byte(nil), es...)
		s, _ := schemas.ParseSigned(out[120])
		s2, _ := schemas.ParseSigned(out[121])
		// entry 120's record with entry 121's signature: same key, wrong signature
		b := append([]byte(`{"key":"`+s.KeyID+`","record":`), s.Record...)
		b = append(b, []byte(`,"sig":"`+base64.StdEncoding.EncodeToString(s2.Sig)+`"}`)...)
		out[120] = b
		return out
	}
	keyFirst := func(es [][]byte) [][]byte { // the registration moved after the records it signed
		out := append([][]byte(nil), es[1:]...)
		return append(out, es[0])
	}
	cases := map[string]struct {
		entries [][]byte
		want    int
	}{
		"clean":             {entries, -1},
		"unregistered key":  {badSig(entries), 150},
		"forged signature":  {forged(entries), 120},
		"key after records": {keyFirst(entries), 0},
	}
	for name, c := range cases {
		si, serr := runChecker(t, o, c.entries)
		pi, perr := runPipeline(t, o, c.entries)
		if si != c.want || pi != c.want {
			t.Errorf("%s: sequential failed at %d (%v), pipeline at %d (%v); want %d", name, si, serr, pi, perr, c.want)
		}
	}
}

func BenchmarkPipeline(b *testing.B) {
	t := &testing.T{}
	o, entries, _ := fixture(t, 2000)
	b.ResetTimer()
	for b.Loop() {
		p, _ := o.Pipeline(nil, 0)
		for i, e := range entries {
			p.Check(uint64(i), e)
		}
		if err := p.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(entries)*b.N)/b.Elapsed().Seconds(), "entries/s")
}

func BenchmarkChecker(b *testing.B) {
	t := &testing.T{}
	o, entries, _ := fixture(t, 2000)
	b.ResetTimer()
	for b.Loop() {
		c, _ := o.Checker(nil)
		for i, e := range entries {
			if err := c(uint64(i), e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(entries)*b.N)/b.Elapsed().Seconds(), "entries/s")
}
