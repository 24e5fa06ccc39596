package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
)

// ReadError is the public answer to a failed ledger read of what ("record
// creditx.../12", "tile tile/0/001"), issue 11 items 6 and 8: 404 for
// ledger.ErrNotFound; 500 for a damaged stored entry, tile or page
// (ledger.ErrDamaged, found by the per-read check of each entry against its
// hash tile), logged at ERROR and never served; 500 for any other failure,
// logged. The answer names what and nothing of the node's internals.
func ReadError(log *slog.Logger, what string, err error) *api.ErrorBody {
	switch {
	case errors.Is(err, ledger.ErrDamaged):
		log.Error("refusing to serve damaged ledger data; run creditx verify on this replica's data directory",
			"what", what, "err", err)
		return Errorf(http.StatusInternalServerError, "%s cannot be served: this replica's stored copy failed its integrity check; ask another replica", what)
	case errors.Is(err, ledger.ErrNotFound):
		return Errorf(http.StatusNotFound, "%s does not exist (yet)", what)
	default:
		log.Error("ledger read failed", "what", what, "err", err)
		return Errorf(http.StatusInternalServerError, "%s could not be read", what)
	}
}

// TilePathError is the public form of a ledger.ParseTilePath error: the
// reason without the package prefix and the grammar of a valid path.
func TilePathError(path string, err error) *api.ErrorBody {
	reason := err.Error()
	if i := strings.LastIndex(reason, ": "); i >= 0 {
		reason = reason[i+2:]
	}
	return Errorf(http.StatusBadRequest, "tile path %q: %s (want tile/<level>/<N> or tile/entries/<N>, N in 3-digit groups x000/…/000, optionally .p/<width 1-255>)",
		path, reason)
}
