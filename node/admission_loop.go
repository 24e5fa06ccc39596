package node

import (
	"fmt"
	"net/http"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node/pki"
	"github.com/creditx/creditx/sanctions/catalogue"

	"github.com/creditx/creditx/schemas"
)

// admitLoop is admission's part of issue 12 (a closed loop that cannot
// lie): records that would be accepted but could never take effect as
// filed are refused here with a field error, and nothing is written.
//
//   - listing: sanctions.Engine.Admissible (unknown programme, domain not
//     the programme's, dates against the programme and today, no measure
//     for the subject's type), each problem on its field;
//   - repair: the programme's repair.requires_authority
//     (sanctions.Engine.RepairAuthority), field record.decision.authority.uscc;
//   - catalogue_adopt: the SHA-256 must be that of a catalogue this node
//     knows (the embedded default or the configured file) with that version;
//   - calendar_adopt: the year must extend the calendar in force without a
//     gap and obey the calendar rules (field record.calendar_adopt.<path>).
func (n *Node) admitLoop(i int, rec schemas.Record, id pki.Identity) []statusFieldError {
	var out []statusFieldError
	if l, ok := rec.(*schemas.Listing); ok {
		for _, p := range n.sanctions.engine.Admissible(l, time.Now()) {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, "record." + p.Field, p.Rule, p.Message}})
		}
	}
	if rp, ok := rec.(*schemas.Repair); ok {
		var l *schemas.Listing
		n.fsm.view(func(tx *ledger.ReadTx) error {
			l, _ = readRecord(tx, rp.Listing.Origin, rp.Listing.Index).(*schemas.Listing)
			return nil
		})
		if p := n.sanctions.engine.RepairAuthority(l, rp, id.ID, id.Domains); p != nil {
			out = append(out, statusFieldError{http.StatusForbidden, FieldError{i, "record." + p.Field, p.Rule, p.Message}})
		}
	}
	if g, ok := rec.(*schemas.Governance); ok && g.Action == schemas.ActionCatalogueAdopt && g.CatalogueAdopt != nil {
		if field, msg := n.checkCatalogueAdopt(g.CatalogueAdopt); field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, field, "catalogue", msg}})
		}
	}
	if g, ok := rec.(*schemas.Governance); ok && g.Action == schemas.ActionCalendarAdopt && g.CalendarAdopt != nil {
		if field, msg := n.checkCalendarAdopt(g.CalendarAdopt); field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, field, "calendar", msg}})
		}
	}
	return out
}

// checkCatalogueAdopt refuses a catalogue_adopt whose sha256 matches no
// catalogue this node knows, or names another version than that one's.
func (n *Node) checkCatalogueAdopt(a *schemas.CatalogueAdopt) (field, msg string) {
	known := map[string]string{} // digest -> version
	if c := n.sanctions.engine.Catalogue(); c != nil {
		known[c.Digest()] = c.Version()
	}
	if c, err := catalogue.Default(); err == nil {
		known[c.Digest()] = c.Version()
	}
	v, ok := known[a.SHA256]
	switch {
	case !ok:
		return "record.catalogue_adopt.sha256", fmt.Sprintf("%s is the digest of no measures catalogue this node knows (known: %v); load the catalogue file on every member first", a.SHA256, known)
	case v != a.Version:
		return "record.catalogue_adopt.version", fmt.Sprintf("the catalogue with digest %s is version %s, not %s", a.SHA256, v, a.Version)
	}
	return "", ""
}
