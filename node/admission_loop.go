package node

import (
	"net/http"

	"github.com/creditx/creditx/schemas"
)

// admitLoop is admission's part of issue 12 (a closed loop that cannot
// lie): records that would be accepted but could never take effect as
// filed are refused here with a field error, and nothing is written.
//
//   - calendar_adopt: the year must extend the calendar in force without a
//     gap and obey the calendar rules (field record.calendar_adopt.<path>).
func (n *Node) admitLoop(i int, rec schemas.Record) []statusFieldError {
	var out []statusFieldError
	if g, ok := rec.(*schemas.Governance); ok && g.Action == schemas.ActionCalendarAdopt && g.CalendarAdopt != nil {
		if field, msg := n.checkCalendarAdopt(g.CalendarAdopt); field != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{i, field, "calendar", msg}})
		}
	}
	return out
}
