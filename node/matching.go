package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	PersonsHashRequest  = api.PersonsHashRequest
	PersonsHashResponse = api.PersonsHashResponse
)

// Matching by the node (issue 14 item 4; docs/PRIVACY.md).
//
// The consortium match key turns a citizen ID into its keyed hash (h1:...).
// Whoever holds it and reads an id_hash (every consortium credential reads
// entry bundles) recovers the ID by trying the candidates a masked form
// leaves: 10^8-10^10 HMACs, seconds to minutes on one core. So no agency
// credential holds it: it stays on the replicas (keys/match.key) and the node
// hashes on request:
//
//	POST /v1/persons/hash  {"ids": ["<citizen ID>", ...], "purpose": "<code>"}
//	-> 200 {"hashes": ["h1:...", ...]}            (same order)
//
// Roles publish (to name persons in the records they sign) and admin. Every
// request writes one access-log entry naming the persons (short hashes) and
// spends one subject token per ID (privacy_batch.go), so each guess an
// attacker makes with a credential is rate-limited and attributed.

func (n *Node) handlePersonsHash(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RolePublish, pki.RoleAdmin)
	if !ok {
		return
	}
	var req PersonsHashRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "malformed request: %v", err))
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > 1000 {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "ids: give 1 to 1000 citizen IDs",
			Errors: []FieldError{{Record: -1, Field: "ids", Rule: "count", Message: fmt.Sprintf("got %d", len(req.IDs))}}})
		return
	}
	if perr := checkPurpose(req.Purpose, "hashing citizen IDs"); perr != nil {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "purpose: hashing citizen IDs requires a purpose code of the catalogue",
			Errors: []FieldError{{Record: -1, Field: "purpose", Rule: "purpose", Message: perr.Error}}})
		return
	}
	out := PersonsHashResponse{Hashes: make([]string, len(req.IDs))}
	for i, s := range req.IDs {
		if err := schemas.CheckCitizenID(s); err != nil {
			writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "invalid citizen ID",
				Errors: []FieldError{{Record: i, Field: "ids", Rule: "citizen_id", Message: err.Error()}}})
			return
		}
		out.Hashes[i] = n.matchKey.HashID(s)
	}
	if !n.allowLookups(w, id, len(req.IDs)) || !n.allowSubjects(w, r, len(req.IDs)) { // lookupcap.go, privacy_batch.go
		return
	}
	if !n.logLookupOrFail(w, r, id, fmt.Sprintf("hash %d citizen IDs", len(req.IDs)), req.Purpose, shortHashes(out.Hashes), len(req.IDs)) {
		return
	}
	writeJSON(w, http.StatusOK, out)
}
