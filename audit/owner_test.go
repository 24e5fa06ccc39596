package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// addRogue makes 310000 write, in its own ledger, a withdrawal of 330000's
// first listing, an objection to it for a subject it does not name, and
// feedback for 330000's last (unanswered) notice naming 330000's executing
// agency: the cross-member forgeries of issues 11 and 12.
func addRogue(t testing.TB, fx *fixture) {
	sh, zj := fx.member("310000"), fx.member("330000")
	at := schemas.NewTime(fx.base.Add(72 * time.Hour))
	fx.where["rogue withdrawal"] = sh.sign(t, &schemas.Correction{Header: schemas.Header{Region: sh.code, Submitter: sh.execUSCC(), CreatedAt: at},
		Target: zj.ref(fx.where["listing 330000/0"]), Action: "withdraw", Reason: "rogue"}, sh.exec)
	var last uint64
	for k, i := range fx.where {
		if strings.HasPrefix(k, "notice 330000/") && i > last {
			last = i
		}
	}
	fx.where["rogue objection"] = sh.sign(t, &schemas.Objection{Header: schemas.Header{Region: sh.code, Submitter: sh.execUSCC(), CreatedAt: at},
		Target: zj.ref(fx.where["listing 330000/0"]), SubjectKey: synth.EnterpriseUSCC("310000", 999), Grounds: []string{"fact_error"},
		Statement: "filed for a subject the listing does not name", FiledAt: at, ProvidingUnit: schemas.Agency{Name: "Environment 330000", USCC: zj.execUSCC()}}, sh.exec)
	fx.where["rogue feedback"] = sh.sign(t, &schemas.Feedback{Header: schemas.Header{Region: sh.code, Submitter: sh.execUSCC(), CreatedAt: at},
		Notice: zj.ref(last), Agency: schemas.Agency{Name: "Procurement 330000", USCC: zj.execUSCC()}, Outcome: "applied", ActedAt: at}, sh.exec)
}

// TestOwnerFindings: the audit names every entry that breaks the owner
// table as an integrity failure, and does not count forged feedback as the
// addressee's answer (issue 11 item 1, issue 12 binding).
func TestOwnerFindings(t *testing.T) {
	clean, err := runDir(t, buildFixture(t, 3, fixtureOpts{}).dir)
	if err != nil {
		t.Fatal(err)
	}
	fx := buildFixture(t, 3, fixtureOpts{rogue: true})
	rep, _ := runDir(t, fx.dir)
	if rep.OK {
		t.Fatal("audit passed a ledger with rogue entries")
	}
	found := map[int64]string{}
	for _, f := range rep.Failures {
		if f.Check == CheckOwner {
			found[f.Index] = f.Reason
		} else {
			t.Errorf("unexpected failure %s", f)
		}
	}
	for _, what := range []string{"rogue withdrawal", "rogue objection", "rogue feedback"} {
		why, ok := found[int64(fx.where[what])]
		if !ok || !strings.Contains(why, "creditx.330000/ledger") {
			t.Errorf("%s (310000 entry %d) not named as an owner failure naming the target: %v", what, fx.where[what], found)
		}
	}
	if len(found) != 3 {
		t.Errorf("%d owner failures, want 3: %v", len(found), found)
	}
	if why := found[int64(fx.where["rogue objection"])]; !strings.Contains(why, "not a subject of the listing") {
		t.Errorf("rogue objection: %q does not say the subject_key names another subject", why)
	}
	// The rules section names the unbound feedback, and says how much it checked.
	if r := rep.Loop.Rules; len(r.FeedbackUnbound) != 1 || r.FeedbackUnbound[0].Index != fx.where["rogue feedback"] || r.FeedbackChecked != clean.Loop.Rules.FeedbackChecked+1 {
		t.Errorf("feedback binding: %d checked (%d without the forgery), unbound %+v", r.FeedbackChecked, clean.Loop.Rules.FeedbackChecked, r.FeedbackUnbound)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("310000/ledger#%d feedback by", fx.where["rogue feedback"]); !strings.Contains(text.String(), want) || !strings.Contains(text.String(), "1 unbound (not counted)") {
		t.Errorf("text report does not name the unbound feedback (%q):\n%s", want, text.String())
	}
	if got, want := len(rep.Loop.OverdueItems), len(clean.Loop.OverdueItems); got != want {
		t.Errorf("%d overdue items with forged feedback, %d without: forged feedback counted as an answer", got, want)
	}
}
