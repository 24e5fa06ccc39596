package node

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
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
	switch r := rec.(type) {
	case *schemas.Listing:
		for _, p := range n.sanctions.engine.Admissible(r, time.Now()) {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, "record." + p.Field, p.Rule, p.Message}})
		}
	case *schemas.Repair:
		var l *schemas.Listing
		if err := n.fsm.view(func(tx *ledger.ReadTx) error {
			l, _ = readRecord(tx, r.Listing.Origin, r.Listing.Index).(*schemas.Listing)
			return nil
		}); err != nil {
			out = append(out, n.readFailed(i, "the repaired listing", err))
		} else if p := n.sanctions.engine.RepairAuthority(l, r, id.ID, id.Domains); p != nil {
			out = append(out, statusFieldError{http.StatusForbidden, FieldError{i, "record." + p.Field, p.Rule, p.Message}})
		}
	case *schemas.Governance:
		var field, rule, msg string
		switch {
		case r.Action == schemas.ActionCatalogueAdopt && r.CatalogueAdopt != nil:
			rule = "catalogue"
			field, msg = n.checkCatalogueAdopt(r.CatalogueAdopt)
		case r.Action == schemas.ActionCalendarAdopt && r.CalendarAdopt != nil:
			rule = "calendar"
			field, msg = n.checkCalendarAdopt(r.CalendarAdopt)
		}
		if field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, field, rule, msg}})
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
		var names []string
		for d, v := range known {
			names = append(names, fmt.Sprintf("version %s sha256 %s", v, d))
		}
		slices.Sort(names)
		return "record.catalogue_adopt.sha256", fmt.Sprintf("%s is the digest of no measures catalogue this node knows (it knows %s); load the catalogue file on every member first",
			a.SHA256, strings.Join(names, "; "))
	case v != a.Version:
		return "record.catalogue_adopt.version", fmt.Sprintf("the catalogue with digest %s is version %s, not %s", a.SHA256, v, a.Version)
	}
	return "", ""
}
