package admission

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Loop is admission's part of issue 12 (a closed loop that cannot lie):
// the problems of record rec (entry i, submitted by id) that would be
// accepted but could never take effect as filed, each on its field.
//
//   - listing: sanctions.Engine.Admissible (unknown programme, domain not
//     the programme's, dates against the programme and today, no measure
//     for the subject's type), judged under the catalogue in force
//     (Sanctions.EngineIn, internal/adopted);
//   - repair: the programme's repair.requires_authority
//     (sanctions.Engine.RepairAuthority), field record.decision.authority.uscc;
//   - catalogue_adopt: the SHA-256 must be that of a catalogue this node
//     knows with that version (Governance.CheckCatalogueAdopt);
//   - calendar_adopt: the year must extend the calendar in force without a
//     gap and obey the calendar rules (field record.calendar_adopt.<path>);
//   - manifest_propose: Governance.CheckManifestPropose.
func (c *Checker) Loop(i int, rec schemas.Record, id pki.Identity) []Problem {
	var out []Problem
	switch r := rec.(type) {
	case *schemas.Listing:
		eng := c.cfg.Sanctions.Engine()
		if err := c.cfg.Store.View(func(tx *ledger.ReadTx) error { eng = c.cfg.Sanctions.EngineIn(tx); return nil }); err != nil {
			out = append(out, c.ReadFailed(i, "the catalogue in force", err))
			break
		}
		for _, p := range eng.Admissible(r, time.Now()) {
			out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record." + p.Field, Rule: p.Rule, Message: p.Message}})
		}
	case *schemas.Repair:
		var l *schemas.Listing
		if err := c.cfg.Store.View(func(tx *ledger.ReadTx) error {
			l, _ = readRecord(tx, r.Listing.Origin, r.Listing.Index).(*schemas.Listing)
			return nil
		}); err != nil {
			out = append(out, c.ReadFailed(i, "the repaired listing", err))
		} else if p := c.cfg.Sanctions.Engine().RepairAuthority(l, r, id.ID, id.Domains); p != nil {
			out = append(out, Problem{http.StatusForbidden, api.FieldError{Record: i, Field: "record." + p.Field, Rule: p.Rule, Message: p.Message}})
		}
	case *schemas.Governance:
		var field, rule, msg string
		switch {
		case r.Action == schemas.ActionCatalogueAdopt && r.CatalogueAdopt != nil:
			rule = "catalogue"
			field, msg = c.cfg.Governance.CheckCatalogueAdopt(r.CatalogueAdopt)
		case r.Action == schemas.ActionCalendarAdopt && r.CalendarAdopt != nil:
			rule = "calendar"
			field, msg = c.cfg.Governance.CheckCalendarAdopt(r.CalendarAdopt)
		case r.Action == schemas.ActionManifestPropose && r.ManifestPropose != nil:
			rule = "membership"
			field, msg = c.cfg.Governance.CheckManifestPropose(r.ManifestPropose)
		}
		if field != "" {
			out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: field, Rule: rule, Message: msg}})
		}
	}
	return out
}
