package node

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/access"
	"github.com/creditx/creditx/internal/matching"
	"github.com/creditx/creditx/pki"
)

// Wire types of this file's endpoints (package api).
type (
	PersonsHashRequest  = api.PersonsHashRequest
	PersonsHashResponse = api.PersonsHashResponse
)

// handlePersonsHash is POST /v1/persons/hash (package matching: the
// request and the hashing). Roles publish and admin; every request writes
// one access-log entry naming the persons and spends one subject token per
// ID (privacy_batch.go), so each guess is rate-limited and attributed.
func (n *Node) handlePersonsHash(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RolePublish, pki.RoleAdmin)
	if !ok {
		return
	}
	req, out, aerr := matching.Hash(r.Body, n.matchKey, checkPurpose)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	if !n.allowLookups(w, id, len(req.IDs)) || !n.allowSubjects(w, r, len(req.IDs)) { // lookupcap.go, privacy_batch.go
		return
	}
	if !n.logLookupOrFail(w, r, id, fmt.Sprintf("hash %d citizen IDs", len(req.IDs)), req.Purpose, access.ShortHashes(out.Hashes), len(req.IDs)) {
		return
	}
	writeJSON(w, http.StatusOK, out)
}
