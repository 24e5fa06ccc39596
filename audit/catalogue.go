package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// Measures-catalogue versions adopted on the ledgers (issue 12; package
// internal/adopted): every catalogue_adopt governance record found, in ledger
// order, and per ledger the catalogue in force after its last adoption. A
// member applies an adoption from the index at which its FSM indexes it
// (its own ledger's, or a mirrored member's when it mirrors it); the audit
// reports what each ledger adopted. The digest is compared with the
// auditor's embedded catalogue only to name it; any other digest must be
// compared with the member's catalogue file (the node refused at admission
// any digest it did not know).

type catFact struct {
	key
	adopt *schemas.CatalogueAdopt
}

// catalogueFindings lists the adoptions (ledger order) and the catalogue
// in force per ledger that adopted one (origin order).
func (fs *factSet) catalogueFindings() (adopted, inForce []Finding) {
	cs := slices.Clone(fs.catalogues)
	slices.SortFunc(cs, func(a, b catFact) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index)) })
	embedded := ""
	if c, err := catalogue.Default(); err == nil {
		embedded = c.Digest()
	}
	name := func(a *schemas.CatalogueAdopt) string {
		s := fmt.Sprintf("catalogue %s sha256 %s", a.Version, a.SHA256)
		if a.SHA256 == embedded {
			s += " (the embedded default)"
		}
		return s
	}
	adopted, inForce = []Finding{}, []Finding{}
	for i, c := range cs {
		adopted = append(adopted, Finding{c.origin, c.index, name(c.adopt) + " adopted"})
		if i == len(cs)-1 || cs[i+1].origin != c.origin {
			inForce = append(inForce, Finding{c.origin, c.index, name(c.adopt) + " in force since this entry"})
		}
	}
	return adopted, inForce
}

// writeCatalogueText adds the catalogue lines of the rules section.
func (r Rules) writeCatalogueText(b *strings.Builder) {
	fmt.Fprintf(b, "  measures catalogue adopted on the ledgers (catalogue_adopt): %d record(s)", len(r.CatalogueAdopted))
	if len(r.CatalogueInForce) == 0 {
		b.WriteString("; every member's initial catalogue in force\n")
		return
	}
	b.WriteString("; in force:\n")
	for _, f := range r.CatalogueInForce {
		fmt.Fprintf(b, "    %s#%d %s\n", f.Origin, f.Index, f.What)
	}
	b.WriteString("    (ledgers not named: their member's initial catalogue)\n")
}
