package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// Issue 12 item 3: a catalogue_adopt governance record was accepted and
// nothing used it. The audit lists every adoption and, per ledger, the
// catalogue its last adoption put in force, in the text and HTML reports.
func TestCatalogueAdoptionsReported(t *testing.T) {
	const sh, zj = "creditx.310000/ledger", "creditx.330000/ledger"
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	def, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("ab", 32)
	adopt := func(region, version, digest string) *schemas.Governance {
		return &schemas.Governance{Header: schemas.Header{Region: region, CreatedAt: schemas.NewTime(at)},
			Action: schemas.ActionCatalogueAdopt, CatalogueAdopt: &schemas.CatalogueAdopt{Version: version, SHA256: digest}}
	}
	fs := newFactSet()
	opts := Options{At: at.Add(time.Hour), ObjectionWorkdays: 10}
	if r := fs.loop(opts, []string{sh, zj}).Rules; len(r.CatalogueAdopted) != 0 || len(r.CatalogueInForce) != 0 {
		t.Fatalf("no adoption: %+v %+v", r.CatalogueAdopted, r.CatalogueInForce)
	}
	fs.add(zj, 7, adopt("330000", "2026.3", other))
	fs.add(sh, 4, adopt("310000", def.Version(), def.Digest()))
	fs.add(zj, 3, adopt("330000", def.Version(), def.Digest()))
	r := fs.loop(opts, []string{sh, zj}).Rules
	if len(r.CatalogueAdopted) != 3 || r.CatalogueAdopted[0].Origin != sh || r.CatalogueAdopted[1].Index != 3 || r.CatalogueAdopted[2].Index != 7 {
		t.Fatalf("adopted: %+v", r.CatalogueAdopted)
	}
	if len(r.CatalogueInForce) != 2 || r.CatalogueInForce[0].Origin != sh || !strings.Contains(r.CatalogueInForce[0].What, "(the embedded default)") ||
		r.CatalogueInForce[1].Index != 7 || !strings.Contains(r.CatalogueInForce[1].What, "catalogue 2026.3 sha256 "+other+" in force") {
		t.Fatalf("in force: %+v", r.CatalogueInForce)
	}
	rep := &Report{At: opts.At, Loop: fs.loop(opts, []string{sh, zj})}
	var text, html strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"measures catalogue adopted on the ledgers (catalogue_adopt): 3 record(s); in force:", zj + "#7 catalogue 2026.3 sha256 " + other + " in force since this entry", zj + "#3 catalogue " + def.Version()} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(html.String(), "Measures catalogue adopted on the ledgers") || !strings.Contains(html.String(), "catalogue 2026.3 sha256 "+other+" in force since this entry") {
		t.Errorf("HTML report lacks the catalogue row")
	}
}
