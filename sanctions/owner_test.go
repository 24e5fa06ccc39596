package sanctions

import (
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

// TestOwnerRulesInState: events written by someone other than the rightful
// owner stay in the history but change nothing, and Status.Ignored says
// why (the lifecycle half of the owner table, as a mirror applies it).
func TestOwnerRulesInState(t *testing.T) {
	e := newEngine(t)
	L := ref("330000", 10)
	O := ref("330000", 11)
	rogue := func(ev Event, uscc string) Event {
		switch r := ev.Record.(type) {
		case *schemas.Correction:
			r.Submitter = uscc
		case *schemas.Repair:
			r.Submitter = uscc
		case *schemas.ObjectionDecision:
			r.Submitter, r.Authority.USCC = uscc, uscc
		}
		return ev
	}
	otherSubject := envListing("2026-03-02")
	otherSubject.Subject.USCC = usccOther
	foreign := withdraw(ref("310000", 5), L, "2026-04-01 10:00")
	tests := []struct {
		name   string
		events []Event
		state  string
		why    string
	}{
		{"tourism bureau withdraws an environment listing", []Event{rogue(withdraw(ref("330000", 20), L, "2026-04-01 10:00"), usccSHTourism)},
			StateActive, "did not file the target"},
		{"withdrawal written in another member's ledger", []Event{foreign}, StateActive, "must be written in the target's ledger"},
		{"credit office withdraws, recorded as such", []Event{func() Event {
			ev := rogue(withdraw(ref("330000", 20), L, "2026-04-01 10:00"), usccCreditOffice)
			ev.CreditOffice = true
			return ev
		}()}, StateWithdrawn, ""},
		{"amend naming another enterprise", []Event{amend(t, ref("330000", 20), L, "2026-04-01 10:00", otherSubject)},
			StateActive, "names another subject"},
		{"repair submitted by another agency", []Event{rogue(repair(ref("330000", 20), L, "2026-04-05 10:00", "decision_revoked", usccZJEnv, "", "remove"), usccJSEnv)},
			StateActive, "neither the listing authority"},
		{"objection decided by another agency", []Event{objection(O, L, "2026-04-01 10:00"),
			rogue(decision(ref("330000", 12), O, "2026-04-03 10:00", "upheld", "remove"), usccJSEnv)},
			StateSuspended, "neither the listing authority nor a credit office"},
		{"objection decided by the listing authority", []Event{objection(O, L, "2026-04-01 10:00"),
			decision(ref("330000", 12), O, "2026-04-03 10:00", "upheld", "remove")}, StateRemoved, ""},
		{"objection filed for another subject", []Event{func() Event {
			ev := objection(O, L, "2026-04-01 10:00")
			ev.Record.(*schemas.Objection).SubjectKey = usccOther
			return ev
		}()}, StateActive, "is not a subject of the listing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.State(ListingHistory{Ref: L, Listing: envListing("2026-03-02"), Events: tt.events}, at("2026-04-10 12:00"))
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.state {
				t.Fatalf("state %s (%s), want %s; ignored %+v", st.State, st.Reason, tt.state, st.Ignored)
			}
			if tt.why == "" {
				if len(st.Ignored) != 0 {
					t.Fatalf("ignored %+v", st.Ignored)
				}
				if last := tt.events[len(tt.events)-1]; last.CreditOffice && !strings.Contains(st.Trail[len(st.Trail)-1].Effect, "by the credit office "+usccCreditOffice) {
					t.Fatalf("credit office's act not recorded as such: %+v", st.Trail)
				}
				return
			}
			if len(st.Ignored) != 1 || !strings.Contains(st.Ignored[0].Reason, tt.why) || !strings.Contains(st.Ignored[0].Reason, "rightful owner") {
				t.Fatalf("ignored %+v, want one naming %q and the rightful owner", st.Ignored, tt.why)
			}
		})
	}
}

// TestFeedbackBinding: feedback counts only in the notice's ledger, by and
// for its executing agency.
func TestFeedbackBinding(t *testing.T) {
	nt := &schemas.SanctionNotice{ExecutingAgency: schemas.ExecutingAgency{Name: "省财政厅", USCC: usccZJFinance}}
	fb := func(sub, agency string) *schemas.Feedback {
		return &schemas.Feedback{Header: schemas.Header{Submitter: sub}, Agency: schemas.Agency{USCC: agency}, Outcome: "applied"}
	}
	zj, sh := ref("330000", 1), ref("310000", 1)
	cases := []struct {
		name   string
		f      *schemas.Feedback
		origin string
		field  string
	}{
		{"bound", fb(usccZJFinance, usccZJFinance), zj.Origin, ""},
		{"another agency of the member", fb(usccZJMarket, usccZJMarket), zj.Origin, "record.submitter"},
		{"another agency naming the addressee", fb(usccZJMarket, usccZJFinance), zj.Origin, "record.submitter"},
		{"cross-member forged", fb(usccSHTravel, usccZJFinance), sh.Origin, "record.notice"},
	}
	for _, c := range cases {
		err := CheckOwner(OwnerCase{Record: c.f, Origin: c.origin, By: Writer{USCC: c.f.Submitter}, Target: nt, TargetRef: zj})
		var oe *OwnerError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &oe) || oe.Field != c.field || !errors.Is(err, ErrNotOwner) || !strings.Contains(err.Error(), usccZJFinance)):
			t.Errorf("%s: got %v, want an OwnerError on %s naming the addressee", c.name, err, c.field)
		}
	}
	// NoticeStatus does not count feedback by another submitter either.
	nt.FeedbackDue, nt.End = day("2026-05-01"), day("2027-05-01")
	st := NoticeStatus(nt, []*schemas.Feedback{fb(usccZJMarket, usccZJFinance)}, Status{State: StateActive, Restricts: true}, at("2026-04-10 12:00"))
	if st.State != NoticePending || st.Feedback != nil {
		t.Fatalf("notice %s with feedback %v, want pending: foreign feedback counted", st.State, st.Feedback)
	}
}
