package node

import (
	"net/http"
	"slices"
	"strings"

	"github.com/creditx/creditx/internal/access"
	"github.com/creditx/creditx/sanctions"
)

// Strict query parameters (issue 11 item 8): every enumerated parameter is
// checked against its values and anything else answers 400 naming the
// parameter and what it accepts, instead of being ignored (state=bogus
// answered 200 []) or recorded as given (any free-text purpose went into the
// access log; the purpose catalogue is package access's).

// noticeStates are the values of GET /v1/notices?state= (comma-separated).
var noticeStates = []string{"all", sanctions.NoticePending, sanctions.NoticeAnswered, sanctions.NoticeOverdue, sanctions.NoticeLifted}

// parseStates parses ?state=a,b; empty means all.
func parseStates(s string) ([]string, *apiError) {
	if s == "" {
		return nil, nil
	}
	states := strings.Split(s, ",")
	for _, st := range states {
		if !slices.Contains(noticeStates, st) {
			return nil, errorf(http.StatusBadRequest, "state: %q is not a notice state; use one or more of %s, comma-separated", clip(st), strings.Join(noticeStates, ", "))
		}
	}
	return states, nil
}

// parseCount parses an optional non-negative decimal parameter name, at
// most max (def if absent).
func parseCount(name, s string, def, max uint64) (uint64, *apiError) {
	return access.ParseCount(name, s, def, max)
}

// clip shortens a caller's value quoted back in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
