package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
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
//   - listing: judged under the catalogue in force (internal/adopted);
//   - catalogue_adopt: the SHA-256 must be that of a catalogue this node
//     knows (catalogue.go: embedded default, sanctions.catalogue and
//     sanctions.catalogues) with that version;
//   - calendar_adopt: the year must extend the calendar in force without a
//     gap and obey the calendar rules (field record.calendar_adopt.<path>).
func (n *Node) admitLoop(i int, rec schemas.Record, id pki.Identity) []statusFieldError {
	var out []statusFieldError
	switch r := rec.(type) {
	case *schemas.Listing:
		eng := n.sanctions.engine
		if err := n.fsm.view(func(tx *ledger.ReadTx) error { eng = n.engineOf(tx.Bucket(bucketCatalogues)); return nil }); err != nil { // catalogue.go
			out = append(out, n.readFailed(i, "the catalogue in force", err))
			break
		}
		for _, p := range eng.Admissible(r, time.Now()) {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record." + p.Field, Rule: p.Rule, Message: p.Message}})
		}
	case *schemas.Repair:
		var l *schemas.Listing
		if err := n.fsm.view(func(tx *ledger.ReadTx) error {
			l, _ = readRecord(tx, r.Listing.Origin, r.Listing.Index).(*schemas.Listing)
			return nil
		}); err != nil {
			out = append(out, n.readFailed(i, "the repaired listing", err))
		} else if p := n.sanctions.engine.RepairAuthority(l, r, id.ID, id.Domains); p != nil {
			out = append(out, statusFieldError{http.StatusForbidden, FieldError{Record: i, Field: "record." + p.Field, Rule: p.Rule, Message: p.Message}})
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
		case r.Action == schemas.ActionManifestPropose && r.ManifestPropose != nil:
			rule = "membership"
			field, msg = n.checkManifestPropose(r.ManifestPropose) // membership.go
		}
		if field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: field, Rule: rule, Message: msg}})
		}
	}
	return out
}
