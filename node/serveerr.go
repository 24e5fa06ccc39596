package node

import (
	"errors"
	"net/http"
	"strings"

	"github.com/creditx/creditx/ledger"
)

// Read errors as callers see them (issue 11 items 6 and 8). A caller learns
// what was wrong with its request and nothing of the node's internals (no
// package prefixes, stored widths, file paths or bbolt messages): those go to
// the node's log. A damaged stored entry, tile or page (ledger.ErrDamaged,
// found by the per-read check of each entry against its hash tile) is
// refused with 500 and logged at ERROR, never served.

// readError answers a failed ledger read of what ("record creditx.../12",
// "tile tile/0/001") as JSON.
func (n *Node) readError(w http.ResponseWriter, what string, err error) {
	writeErr(w, n.publicReadError(what, err))
}

func (n *Node) publicReadError(what string, err error) *apiError {
	switch {
	case errors.Is(err, ledger.ErrDamaged):
		n.logger.Error("refusing to serve damaged ledger data; run creditx verify on this replica's data directory",
			"what", what, "err", err)
		return errorf(http.StatusInternalServerError, "%s cannot be served: this replica's stored copy failed its integrity check; ask another replica", what)
	case errors.Is(err, ledger.ErrNotFound):
		return errorf(http.StatusNotFound, "%s does not exist (yet)", what)
	default:
		n.logger.Error("ledger read failed", "what", what, "err", err)
		return errorf(http.StatusInternalServerError, "%s could not be read", what)
	}
}

// tilePathError is the public form of a ledger.ParseTilePath error: the
// reason without the package prefix and the grammar of a valid path.
func tilePathError(path string, err error) *apiError {
	reason := err.Error()
	if i := strings.LastIndex(reason, ": "); i >= 0 {
		reason = reason[i+2:]
	}
	return errorf(http.StatusBadRequest, "tile path %q: %s (want tile/<level>/<N> or tile/entries/<N>, N in 3-digit groups x000/…/000, optionally .p/<width 1-255>)",
		path, reason)
}
