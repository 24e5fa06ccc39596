package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
)

// crossField applies the rules that relate several fields of one record.
// Field-level rules (required, formats) are the validator tags'.
func (val *Validator) crossField(r Record) ValidationErrors {
	var c checker
	switch r := r.(type) {
	case *Listing:
		c.listing(r)
	case *SanctionNotice:
		c.notice(r)
	case *Feedback:
		if r.Outcome == "not_applicable" && r.Reason == "" {
			c.add("reason", "required_if", "required when outcome is not_applicable")
		}
		if r.Outcome != "not_applicable" && r.Reason != "" {
			c.add("reason", "excluded_unless", "only allowed when outcome is not_applicable")
		}
	case *ObjectionDecision:
		if r.Decision == "rejected" && len(r.Actions) > 0 {
			c.add("actions", "excluded_if", "must be empty when the decision is rejected")
		}
		if r.Decision != "rejected" && r.Decision != "" && len(r.Actions) == 0 {
			c.add("actions", "required_unless", "required unless the decision is rejected")
		}
	case *Repair:
		c.repair(r)
	case *Correction:
		val.correction(&c, r)
	case *Governance:
		c.governance(r)
	}
	return c.errs
}

type checker struct{ errs ValidationErrors }

func (c *checker) add(field, rule, msg string) {
	c.errs = append(c.errs, FieldError{Field: field, Rule: rule, Message: msg})
}

// before reports an error on field b unless a <= b (or a < b when strict).
// Zero dates are left to the required rule.
func (c *checker) order(aName string, a Date, bName string, b Date, strict bool) {
	if inOrder(a, b, strict) {
		return
	}
	word := "on or after"
	if strict {
		word = "after"
	}
	c.add(bName, "order", fmt.Sprintf("%s must be %s %s %s", b, word, aName, a))
}

// inOrder is order's test: a <= b (a < b when strict), or a date is zero.
func inOrder(a, b Date, strict bool) bool {
	return a.IsZero() || b.IsZero() || !(b.Before(a.Time) || strict && b.Equal(a.Time))
}

func (c *checker) listing(l *Listing) {
	s := l.Subject
	if s.Type == SubjectNaturalPerson {
		if s.Person == nil {
			c.add("subject.person", "required_if", "required when subject.type is natural_person")
		} else if s.Name != "" && s.Person.NameMasked != "" && s.Name != s.Person.NameMasked {
			c.add("subject.name", "masked", "a natural person's name must be given masked, equal to subject.person.name_masked")
		}
		if s.USCC != "" {
			c.add("subject.uscc", "excluded_if", "a natural person has no USCC; leave it out")
		}
		if len(s.ResponsiblePersons) > 0 {
			c.add("subject.responsible_persons", "excluded_if", "only organisations have responsible persons")
		}
	} else if s.Type != "" {
		if s.USCC == "" {
			c.add("subject.uscc", "required_unless", "required for subject type "+s.Type)
		}
		if s.Person != nil {
			c.add("subject.person", "excluded_unless", "only allowed when subject.type is natural_person")
		}
	}
	c.order("decision.date", l.Decision.Date, "listed_on", l.ListedOn, false)
	c.order("listed_on", l.ListedOn, "publicity_end", l.PublicityEnd, false)
	c.order("pre_notice.date", l.PreNotice.Date, "listed_on", l.ListedOn, true)
	c.order("pre_notice.date", l.PreNotice.Date, "pre_notice.statement_deadline", l.PreNotice.StatementDeadline, true)
	c.order("pre_notice.statement_deadline", l.PreNotice.StatementDeadline, "listed_on", l.ListedOn, false)
	for i, u := range l.UnderlyingDecisions {
		if inOrder(u.Date, l.Decision.Date, false) {
			continue // the field name is only built for a message
		}
		c.order(fmt.Sprintf("underlying_decisions[%d].date", i), u.Date, "decision.date", l.Decision.Date, false)
	}
}

func (c *checker) notice(n *SanctionNotice) {
	c.order("start", n.Start, "end", n.End, false)
	c.order("start", n.Start, "feedback_due", n.FeedbackDue, false)
	toPersons := slices.Contains(n.Measure.AppliesTo, "responsible_persons")
	if toPersons && n.Measure.LegalBasis == "" {
		c.add("measure.legal_basis", "required_if", "a measure that applies to natural persons needs an explicit legal basis")
	}
	switch n.Target.Kind {
	case "enterprise":
		if n.Target.USCC == "" {
			c.add("target.uscc", "required_if", "required when target.kind is enterprise")
		}
		if n.Target.IDHash != "" {
			c.add("target.id_hash", "excluded_if", "only allowed when target.kind is responsible_person")
		}
		if len(n.Measure.AppliesTo) > 0 && !slices.Contains(n.Measure.AppliesTo, "enterprise") {
			c.add("target.kind", "applies_to", "the measure does not apply to enterprises")
		}
	case "responsible_person":
		if n.Target.IDHash == "" {
			c.add("target.id_hash", "required_if", "required when target.kind is responsible_person")
		}
		if n.Target.USCC != "" {
			c.add("target.uscc", "excluded_if", "only allowed when target.kind is enterprise")
		}
		if len(n.Measure.AppliesTo) > 0 && !toPersons {
			c.add("target.kind", "applies_to", "the measure does not apply to responsible persons")
		}
	}
}

func (c *checker) repair(r *Repair) {
	if r.Type == "early_repair" {
		if r.Application == nil {
			c.add("application", "required_if", "required when type is early_repair")
		}
		if !r.MinPeriodMet {
			c.add("min_period_met", "required_if", "early repair is only possible once the minimum period is met")
		}
	}
	if r.Application != nil {
		c.order("application.date", r.Application.Date, "decision.date", r.Decision.Date, false)
	}
}

func (val *Validator) correction(c *checker, r *Correction) {
	switch {
	case r.Action == "amend" && len(r.Replacement) == 0:
		c.add("replacement", "required_if", "required when action is amend")
	case r.Action == "withdraw" && len(r.Replacement) > 0:
		c.add("replacement", "excluded_if", "must be absent when action is withdraw")
	}
	if len(r.Replacement) == 0 {
		return
	}
	rep, err := Decode(r.Replacement)
	if err != nil {
		c.add("replacement", "record", err.Error())
		return
	}
	if rep.Kind() == "correction" {
		c.add("replacement", "record", "a correction cannot replace a record with another correction")
		return
	}
	for _, fe := range val.validate(rep) {
		fe.Field = joinPath("replacement", fe.Field)
		c.errs = append(c.errs, fe)
	}
}

func (c *checker) governance(g *Governance) {
	params := []struct {
		name    string
		present bool
	}{
		{ActionAgencyKeyRegister, g.AgencyKeyRegister != nil},
		{ActionAgencyKeyRevoke, g.AgencyKeyRevoke != nil},
		{ActionMemberApprove, g.MemberApprove != nil},
		{ActionMemberRemove, g.MemberRemove != nil},
		{ActionSchemaAdopt, g.SchemaAdopt != nil},
		{ActionCatalogueAdopt, g.CatalogueAdopt != nil},
		{ActionCalendarAdopt, g.CalendarAdopt != nil},
		{ActionManifestPropose, g.ManifestPropose != nil},
		{ActionManifestApprove, g.ManifestApprove != nil},
	}
	for _, p := range params {
		switch {
		case p.name == g.Action && !p.present:
			c.add(p.name, "required_if", "required when action is "+g.Action)
		case p.name != g.Action && p.present && g.Action != "":
			c.add(p.name, "excluded_unless", "must be absent when action is "+g.Action)
		}
	}
	if p := g.ManifestPropose; p != nil {
		c.manifestPropose(p) // membership.go
	}
	if reg := g.AgencyKeyRegister; reg != nil {
		pub, err := base64.StdEncoding.Strict().DecodeString(reg.PublicKey)
		if err == nil && len(pub) == ed25519.PublicKeySize && reg.KeyID != "" {
			if want := KeyID(pub); reg.KeyID != want {
				c.add("agency_key_register.key_id", "keyid", fmt.Sprintf("is %s, but the public key's id is %s", reg.KeyID, want))
			}
		}
	}
}
