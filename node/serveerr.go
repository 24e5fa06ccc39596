package node

import (
	"net/http"

	"github.com/creditx/creditx/internal/httpx"
)

// readError answers a failed ledger read of what ("record creditx.../12",
// "tile tile/0/001") as JSON (httpx.ReadError: the caller learns nothing of
// the node's internals; damaged data is refused and logged).
func (n *Node) readError(w http.ResponseWriter, what string, err error) {
	writeErr(w, n.publicReadError(what, err))
}

func (n *Node) publicReadError(what string, err error) *apiError {
	return httpx.ReadError(n.logger, what, err)
}

var tilePathError = httpx.TilePathError
