package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/sanctions/catalogue"
)

// creditx catalogue adopt signs and submits a catalogue_adopt record to a
// real node: the embedded catalogue is adopted (GET /v1/catalogue lists it
// at the returned index); a catalogue the node does not know is refused at
// admission with the field error and leaves the adoptions unchanged; --out
// writes a signed entry without submitting anything.
func TestCatalogueAdoptCLI(t *testing.T) {
	n, dir := startNode(t)
	admin := filepath.Join(dir, "agencies", "admin")
	creds, err := client.LoadCredentials(filepath.Join(dir, "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	adopted := func() []node.AdoptedCatalogue {
		t.Helper()
		var st node.CatalogueState
		if err := creds.Get(t.Context(), n.URL()+"/v1/catalogue", &st); err != nil {
			t.Fatal(err)
		}
		return st.Adopted
	}
	def, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "catalogue", "adopt", "--admin", admin, "--node", n.URL())
	if err != nil || !strings.Contains(out, "adopted: creditx.330000/ledger index ") {
		t.Fatalf("adopt: %q %v", out, err)
	}
	if a := adopted(); len(a) != 1 || a[0].SHA256 != def.Digest() || a[0].Version != def.Version() || !strings.Contains(out, def.Digest()) {
		t.Fatalf("after adoption: %+v (output %q)", a, out)
	}

	// Another version with the same measures: valid, but unknown to the node.
	other := filepath.Join(t.TempDir(), "catalogue-next.yaml")
	b := bytes.Replace(catalogue.DefaultFile(), []byte(`version: "`+def.Version()+`"`), []byte(`version: "2099.1"`), 1)
	if bytes.Equal(b, catalogue.DefaultFile()) {
		t.Fatal("test setup: version line not found")
	}
	if err := os.WriteFile(other, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "catalogue", "adopt", other, "--admin", admin, "--node", n.URL()); err == nil || !strings.Contains(err.Error(), "catalogue_adopt.sha256") {
		t.Fatalf("unknown catalogue: %v", err)
	}
	if a := adopted(); len(a) != 1 {
		t.Fatalf("a refused adoption changed the adoptions: %+v", a)
	}

	signed := filepath.Join(t.TempDir(), "adopt.json")
	if out, err := run(t, "catalogue", "adopt", other, "--admin", admin, "--out", signed); err != nil || !strings.Contains(out, "2099.1") {
		t.Fatalf("--out: %q %v", out, err)
	}
	if b, err := os.ReadFile(signed); err != nil || !bytes.Contains(b, []byte(`"catalogue_adopt"`)) {
		t.Fatalf("signed entry: %s %v", b, err)
	}
	if _, err := run(t, "catalogue", "adopt", "--admin", admin); err == nil || !strings.Contains(err.Error(), "exactly one of --node and --out") {
		t.Fatalf("no destination: %v", err)
	}
	if _, err := run(t, "catalogue", "show", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("show of a missing file succeeded")
	}
}
