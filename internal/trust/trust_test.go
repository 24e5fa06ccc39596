package trust

import (
	"bytes"
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

// TestPipelineSameErrors: where an entry fails, the pipeline (which parses
// it in a worker) reports the failure the sequential checker reports, also
// when one entry has several faults (the checker's order: envelope and
// record, key, signature, decoding), and Check does not keep the caller's
// buffer (it is overwritten after each call here).
func TestPipelineSameErrors(t *testing.T) {
	o, entries, pub := fixture(t, 300)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	edit := func(i int, f func(e []byte) []byte) [][]byte {
		out := append([][]byte(nil), entries...)
		out[i] = f(append([]byte(nil), entries[i]...))
		return out
	}
	s, _ := schemas.ParseSigned(entries[200])
	rec, _ := s.Decode()
	strangers, _ := schemas.Sign(rec, stranger)
	envelope := func(r, sig []byte) []byte {
		e := append([]byte(`{"key":"`+s.KeyID+`","record":`), r...)
		return append(e, `,"sig":"`+base64.StdEncoding.EncodeToString(sig)+`"}`...)
	}
	badSig := func([]byte) []byte { sig := bytes.Clone(s.Sig); sig[0] ^= 1; return envelope(s.Record, sig) }
	cases := map[string][][]byte{
		"not an entry": edit(200, func([]byte) []byte { return []byte("garbage") }),
		"record not canonical": edit(200, func(e []byte) []byte {
			return bytes.Replace(e, []byte(`"record":{"`), []byte(`"record":{ "`), 1)
		}),
		"record does not decode": edit(200, func([]byte) []byte { // signed, canonical, of no known schema
			r := bytes.Replace(s.Record, []byte(`"schema":"listing/`), []byte(`"schema":"listinx/`), 1)
			return envelope(r, ed25519.Sign(pub, append([]byte("creditx/record/v1\n"), r...)))
		}),
		"bad signature": edit(200, badSig),
		"unknown key":   edit(200, func([]byte) []byte { return strangers }),
		"record not canonical, unknown key": edit(200, func([]byte) []byte {
			return bytes.Replace(strangers, []byte(`"record":{"`), []byte(`"record":{ "`), 1)
		}),
		"bad signature, record does not decode": edit(200, func([]byte) []byte {
			return envelope(bytes.Replace(s.Record, []byte(`"schema":"listing/`), []byte(`"schema":"listinx/`), 1), s.Sig)
		}),
		"two bad entries": edit(250, badSig),
	}
	cases["two bad entries"][100] = []byte("garbage")
	for name, es := range cases {
		si, serr := runChecker(t, o, es)
		p, err := o.Pipeline(nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 2048)
		for i, e := range es {
			buf = append(buf[:0], e...)
			if p.Check(uint64(i), buf) != nil {
				break
			}
			clear(buf[:cap(buf)])
		}
		perr := p.Close()
		t.Logf("%s: %v", name, perr)
		var ee *EntryError
		if serr == nil || !errors.As(perr, &ee) || int(ee.Index) != si || ee.Err.Error() != serr.Error() {
			t.Errorf("%s: checker: entry %d: %v; pipeline: %v", name, si, serr, perr)
		}
	}
}
