package sanctions

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/sanctions/catalogue"
)

// variant is the embedded catalogue renamed to version v with every
// programme's feedback deadline set to days.
func variant(t *testing.T, v, days string) []byte {
	t.Helper()
	b := catalogue.DefaultFile()
	b = bytes.Replace(b, []byte(`version: "2026.2"`), []byte(`version: "`+v+`"`), 1)
	return bytes.ReplaceAll(b, []byte("feedback_workdays: 10"), []byte("feedback_workdays: "+days))
}

func TestCatalogueSet(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v3.yaml")
	if err := os.WriteFile(p, variant(t, "2026.3", "40"), 0o644); err != nil {
		t.Fatal(err)
	}
	def, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadCatalogueSet([]string{p, p}, def, def)
	if err != nil {
		t.Fatal(err)
	}
	all := s.All()
	if len(all) != 2 || all[0].Version() != "2026.2" || all[1].Version() != "2026.3" {
		t.Fatalf("set: %d catalogues", len(all))
	}
	c, ok := s.ByDigest(all[1].Digest())
	if !ok || c.Version() != "2026.3" {
		t.Fatal("ByDigest")
	}
	if pr, _ := c.Programme("ZJ-ENV-SEVERE"); pr.FeedbackWorkdays != 40 {
		t.Fatalf("variant feedback %d", pr.FeedbackWorkdays)
	}
	if _, ok := s.ByDigest(strings.Repeat("0", 64)); ok {
		t.Fatal("unknown digest found")
	}
	if c, ok := s.ByVersion("2026.2"); !ok || c.Digest() != def.Digest() {
		t.Fatal("ByVersion")
	}

	// The same version with another text is refused, naming both digests.
	q := filepath.Join(dir, "v3b.yaml")
	if err := os.WriteFile(q, variant(t, "2026.3", "41"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalogueSet([]string{p, q}); err == nil || !strings.Contains(err.Error(), "version 2026.3 has two texts") {
		t.Fatalf("same version twice: %v", err)
	}
	// A file that does not load names the file.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: x\n"), 0o644)
	if _, err := LoadCatalogueSet([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := LoadCatalogueSet([]string{filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Fatal("missing file accepted")
	}
}
