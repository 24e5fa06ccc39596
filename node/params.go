package node

import (
	"github.com/creditx/creditx/internal/access"
)

// Strict query parameters (issue 11 item 8): every enumerated parameter is
// checked against its values and anything else answers 400 naming the
// parameter and what it accepts, instead of being ignored (state=bogus
// answered 200 []) or recorded as given (any free-text purpose went into the
// access log; the purpose catalogue is package access's).

// parseCount parses an optional non-negative decimal parameter name, at
// most max (def if absent).
func parseCount(name, s string, def, max uint64) (uint64, *apiError) {
	return access.ParseCount(name, s, def, max)
}
