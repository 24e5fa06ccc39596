package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/schemas"
)

// admitLoop is admission's part of issue 12 (a closed loop that cannot
// lie): records that would be accepted but could never take effect as
// filed are refused here with a field error, and nothing is written.
//
//   - listing: sanctions.Engine.Admissible (unknown programme, domain not
//     the programme's, dates against the programme and today, no measure
//     for the subject's type), each problem on its field;
//   - calendar_adopt: the year must extend the calendar in force without a
//     gap and obey the calendar rules (field record.calendar_adopt.<path>).
func (n *Node) admitLoop(i int, rec schemas.Record) []statusFieldError {
	var out []statusFieldError
	if l, ok := rec.(*schemas.Listing); ok {
		for _, p := range n.sanctions.engine.Admissible(l, time.Now()) {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, "record." + p.Field, p.Rule, p.Message}})
		}
	}
	if g, ok := rec.(*schemas.Governance); ok && g.Action == schemas.ActionCalendarAdopt && g.CalendarAdopt != nil {
		if field, msg := n.checkCalendarAdopt(g.CalendarAdopt); field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, field, "calendar", msg}})
		}
	}
	return out
}
