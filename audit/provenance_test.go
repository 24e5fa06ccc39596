package audit

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// openFixtureBundle writes fx.dir as a bundle, unpacks it and reads it with
// the fixture's manifest as the independent trust.
func openFixtureBundle(t *testing.T, fx *fixture) (string, Inputs) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteBundle(&b, fx.dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "audit.tar.gz")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, cleanup, err := OpenBundle(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return dir, fixtureInputs(t, fx, dir)
}

// fixtureInputs reads dir with the fixture's manifest as the trust.
func fixtureInputs(t *testing.T, fx *fixture, dir string) Inputs {
	t.Helper()
	in, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if in.Trust, err = LoadTrustFiles(filepath.Join(fx.dir, ManifestFile), ""); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestProvenanceFromBundle answers every provenance field for a listing
// from a bundle and the manifest alone, and names the break when one byte
// of the entry, of its key's registration or of a cosignature is altered.
func TestProvenanceFromBundle(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	zj := fx.member("330000")
	idx := fx.where["listing 330000/0"]
	_, in := openFixtureBundle(t, fx)
	p, err := BuildProvenance(t.Context(), in, zj.origin(), idx)
	if err != nil {
		t.Fatal(err)
	}
	pub := zj.pub.Public().(ed25519.PublicKey)
	admin := zj.admin.Public().(ed25519.PublicKey)
	s := p.Signer
	if s.KeyID != schemas.KeyID(pub) || s.Anchor || s.RegisteredAt != 0 || s.RegisteredBy != schemas.KeyID(admin) ||
		s.RegisteredByName != "Credit office 330000" || !s.ValidAtIndex || !s.RegisteredOn.Equal(fx.base) || s.AgencyUSCC != zj.pubUSCC() {
		t.Errorf("signer %+v", s)
	}
	if p.Schema != schemas.SchemaListing || !strings.HasPrefix(p.Summary, "listing of ") || len(p.Record) == 0 || p.LeafHash == "" {
		t.Errorf("record: %s %q", p.Schema, p.Summary)
	}
	c := p.Checkpoint
	if c.Size != uint64(len(zj.entries)) || !c.Witnessed || len(c.Cosigners) != 2 || c.Holder != "330000" || len(p.InclusionProof) == 0 {
		t.Errorf("checkpoint %+v", c)
	}
	for _, x := range c.Cosigners {
		if x.Time.IsZero() || x.Witness == "creditx.330000/witness" {
			t.Errorf("cosigner %+v", x)
		}
	}
	if len(p.Mirrors) != 2 {
		t.Fatalf("mirrors %+v", p.Mirrors)
	}
	for _, m := range p.Mirrors {
		if !m.Covers || m.Index != idx || m.Problem != "" || len(m.Acted) != 2 { // the member's notice and its feedback
			t.Errorf("mirror %+v", m)
		}
	}
	kinds := map[string]int{}
	for _, r := range p.Related {
		kinds[r.Kind]++
		if !r.HashOK {
			t.Errorf("related %+v: ref hash does not match", r)
		}
	}
	if kinds["sanction_notice"] != 3 || kinds["feedback"] != 3 || p.State != "in force" {
		t.Errorf("related %v, state %q", kinds, p.State)
	}
	var txt, js, html bytes.Buffer
	if err := p.WriteText(&txt); err != nil || !strings.Contains(txt.String(), "registered by governance record creditx.330000/ledger#0") {
		t.Errorf("text: %v\n%s", err, txt.String())
	}
	if err := p.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"registered_by": "`+schemas.KeyID(admin)) {
		t.Errorf("json: %v\n%s", err, js.String())
	}
	if err := p.WriteHTMLSection(&html); err != nil || !strings.Contains(html.String(), "<section") || !strings.Contains(html.String(), schemas.KeyID(pub)) {
		t.Errorf("html: %v", err)
	}

	step := func(err error) string {
		var pe *ProvenanceError
		if errors.As(err, &pe) {
			return pe.Step
		}
		return "not a ProvenanceError: " + errorString(err)
	}
	size := uint64(len(zj.entries))
	for name, c := range map[string]struct {
		tamper func(dir string)
		want   string
		names  string // what the error must name
	}{
		"one byte of the entry": {func(dir string) {
			rewriteBundle(t, entryBundleFile(filepath.Join(dir, "330000", "330000"), idx, size), func(es [][]byte) [][]byte {
				es[idx%ledger.TileWidth][20] ^= 1
				return es
			})
		}, StepEntry, fmt.Sprintf("entry %d:", idx)},
		"one byte of the key registration": {func(dir string) {
			rewriteBundle(t, entryBundleFile(filepath.Join(dir, "330000", "330000"), 0, size), func(es [][]byte) [][]byte {
				es[0][len(es[0])-30] ^= 1
				return es
			})
		}, StepRegistered, "entry 0:"},
		"one byte of a cosignature": {func(dir string) {
			cp := filepath.Join(dir, "330000", "330000", ledger.ExportCheckpointFile)
			b, err := os.ReadFile(cp)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.LastIndex(b, []byte("\n— creditx.310000/witness ")) + len("\n— creditx.310000/witness ") + 20
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			if err := os.WriteFile(cp, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, StepCosig, "creditx.310000/witness"},
	} {
		t.Run(name, func(t *testing.T) {
			dir, _ := openFixtureBundle(t, fx)
			c.tamper(dir)
			in := fixtureInputs(t, fx, dir)
			_, err := BuildProvenance(t.Context(), in, zj.origin(), idx)
			if got := step(err); got != c.want {
				t.Fatalf("step %q (%v), want %q", got, err, c.want)
			}
			if !strings.Contains(err.Error(), c.names) {
				t.Errorf("error %q does not name %q", err, c.names)
			}
		})
	}
	// Without independent trust for the origin nothing is claimed.
	in.Trust = Trust{}
	if _, err := BuildProvenance(t.Context(), in, zj.origin(), idx); step(err) != StepTrust {
		t.Errorf("without trust: %v", err)
	}
}

func errorString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestParseEntryRef(t *testing.T) {
	for in, want := range map[string]string{"330000#12": "creditx.330000/ledger#12", "creditx.310000/ledger#0": "creditx.310000/ledger#0"} {
		o, i, err := ParseEntryRef(in)
		if err != nil || (key{o, i}).String() != want {
			t.Errorf("%s: %s#%d %v", in, o, i, err)
		}
	}
	for _, bad := range []string{"330000", "#1", "330000#x", "330000#-1"} {
		if _, _, err := ParseEntryRef(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzParseEntryRef(f *testing.F) {
	f.Add("330000#12")
	f.Add("creditx.330000/ledger#0")
	f.Add("#")
	f.Fuzz(func(t *testing.T, s string) {
		o, i, err := ParseEntryRef(s)
		if err != nil {
			return
		}
		if !strings.Contains(o, "/") {
			t.Fatalf("%q: origin %q is not an origin", s, o)
		}
		if o2, i2, err := ParseEntryRef((key{o, i}).String()); err != nil || o2 != o || i2 != i {
			t.Fatalf("%q: %s#%d does not parse back: %v", s, o, i, err)
		}
	})
}
