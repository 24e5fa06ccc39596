package sanctions

import (
	"fmt"
	"slices"

	"github.com/creditx/creditx/schemas"
)

// Repair authority (issue 12; DOMAIN.md 4: "environmental repair cannot
// bypass the environment authority"). Kept apart from the owner-rule table
// (owner.go), which says who may write a repair at all; this says which
// authority must have decided it when the programme names one.

// RepairAuthority checks repair r of listing l against the programme's
// repair.requires_authority (a domain): the repair's decision.authority
// must be an authority of that domain, which is either the listing's own
// authority when the listing is of that domain, or the submitting agency
// itself when its certificate's domains (submitterDomains) include it. It
// returns nil when the programme requires none or is unknown (admission
// refuses unknown programmes on listings).
func (e *Engine) RepairAuthority(l *schemas.Listing, r *schemas.Repair, submitter string, submitterDomains []string) *FieldProblem {
	if l == nil || r == nil {
		return nil
	}
	prog, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
	if !ok || prog.Repair.RequiresAuthority == "" {
		return nil
	}
	need := prog.Repair.RequiresAuthority
	by := r.Decision.Authority.USCC
	if by == l.Authority.USCC && l.Domain == need {
		return nil
	}
	if by == submitter && slices.Contains(submitterDomains, need) {
		return nil
	}
	return &FieldProblem{Field: "decision.authority.uscc", Rule: "requires_authority",
		Message: fmt.Sprintf("programme %s requires the %s authority to decide a repair; %s is neither the listing authority %s (%s) nor a submitting agency of domain %s",
			prog.Code, need, by, l.Authority.USCC, l.Domain, need)}
}
