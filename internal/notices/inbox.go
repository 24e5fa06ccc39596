package notices

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Web is what the agency inbox's HTTP handler needs of the node's API.
type Web interface {
	// Require answers 401/403 and returns false unless the caller has one of roles.
	Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool)
	// CheckPurpose is nil for a purpose code of the catalogue, else a 400.
	CheckPurpose(p string) *api.ErrorBody
	// LogPersons records in the access log the read of persons (keyed
	// hashes) for purpose; false: it answered the failure.
	LogPersons(w http.ResponseWriter, r *http.Request, id pki.Identity, what string, persons []string, purpose string) bool
	// ReadError answers a failed store read of what.
	ReadError(w http.ResponseWriter, what string, err error)
	// WriteJSON answers v as JSON with status.
	WriteJSON(w http.ResponseWriter, status int, v any)
}

// States are the values of GET /v1/notices?state= (comma-separated).
var States = []string{"all", sanctions.NoticePending, sanctions.NoticeAnswered, sanctions.NoticeOverdue, sanctions.NoticeLifted}

// ParseStates parses ?state=a,b; empty means all.
func ParseStates(s string) ([]string, *api.ErrorBody) {
	if s == "" {
		return nil, nil
	}
	states := strings.Split(s, ",")
	for _, st := range states {
		if !slices.Contains(States, st) {
			return nil, &api.ErrorBody{Status: http.StatusBadRequest, Error: fmt.Sprintf("state: %q is not a notice state; use one or more of %s, comma-separated", httpx.Clip(st), strings.Join(States, ", "))}
		}
	}
	return states, nil
}

// ServeInbox is GET /v1/notices?agency=<USCC>[&since=CURSOR][&limit=N][&state=pending,overdue][&wait=30s]:
// the sanction notices addressed to an executing agency, with their state,
// one page at a time (api.NoticesPage; Page), wait at most
// httpx.MaxLongPoll. With wait, an empty page is held until a notice
// arrives past the cursor (the FSM wakes the reader when it applies
// anything) or wait passes; the answer's write deadline is moved to wait +
// t's write timeout before (httpx.Timeouts.Hold).
func (s *Service) ServeInbox(w http.ResponseWriter, r *http.Request, web Web, t httpx.Timeouts) {
	id, ok := web.Require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	fail := func(e *api.ErrorBody) { web.WriteJSON(w, e.Status, e) }
	q := r.URL.Query()
	agency := q.Get("agency")
	if agency == "" {
		agency = id.ID
	}
	if id.Role == pki.RoleExecute && agency != id.ID {
		fail(&api.ErrorBody{Status: http.StatusForbidden, Error: "agency " + id.ID + " may read only its own notices"})
		return
	}
	if err := schemas.CheckUSCC(agency); err != nil {
		fail(fieldErrorf("agency", "uscc", "agency: %v", err))
		return
	}
	states, perr := ParseStates(q.Get("state"))
	if perr != nil {
		fail(perr)
		return
	}
	if p := q.Get("purpose"); p != "" {
		if perr := web.CheckPurpose(p); perr != nil {
			fail(perr)
			return
		}
	}
	fp, perr := ParseFeedParams(q, FeedNotices, httpx.MaxLongPoll)
	if perr != nil {
		fail(perr)
		return
	}
	if fp.Wait > 0 {
		t.Hold(w, fp.Wait)
	}
	page, err := s.Inbox(r.Context(), agency, fp, states)
	if err != nil {
		if r.Context().Err() == nil { // else the caller went away while waiting
			web.ReadError(w, "notices for "+agency, err)
		}
		return
	}
	// Notices addressed to responsible persons name them (keyed hash): the
	// read is logged before it is answered. Reading one's notices has a
	// known purpose, so none needs to be given.
	var persons []string
	for _, v := range page.Notices {
		if v.Notice != nil {
			persons = append(persons, disclose.Persons(v.Notice)...)
		}
	}
	purpose := q.Get("purpose")
	if purpose == "" {
		purpose = "sanction_notices"
	}
	if len(persons) > 0 && !web.LogPersons(w, r, id, "notices for "+agency, persons, purpose) {
		return
	}
	web.WriteJSON(w, http.StatusOK, page)
}

// Inbox is the long poll of GET /v1/notices: the page of agency's notices
// from feed position from (Page), held, while it is empty, until a notice
// arrives past the cursor (the FSM wakes the reader when it applies
// anything), wait passes or ctx ends (then ctx's error).
func (s *Service) Inbox(ctx context.Context, agency string, fp FeedParams, states []string) (api.NoticesPage, error) {
	deadline := time.Now().Add(fp.Wait)
	from := fp.From[0]
	for {
		changed := s.waker.Wait() // before reading: an apply after the read wakes us
		page, err := s.Page(agency, from, fp.Limit, states, time.Now())
		if err != nil {
			return page, err
		}
		if len(page.Notices) > 0 || page.More || !time.Now().Before(deadline) {
			return page, nil
		}
		// Nothing past the cursor (or nothing matching the state filter):
		// the scanned positions are done, wait from where the page ended.
		if next, err := DecodeCursor(FeedNotices, page.Next); err == nil {
			from = next[0]
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return page, ctx.Err()
		}
		t.Stop()
	}
}
