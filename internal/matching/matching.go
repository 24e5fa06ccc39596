// Package matching is the node's side of matching persons (issue 14 item 4;
// docs/PRIVACY.md): POST /v1/persons/hash turns citizen IDs into their keyed
// hashes (h1:...) with the consortium match key.
//
// Whoever holds the match key and reads an id_hash (every consortium
// credential reads entry bundles) recovers the ID by trying the candidates
// a masked form leaves: 10^8-10^10 HMACs, seconds to minutes on one core. So
// no agency credential holds it: it stays on the replicas (keys/match.key)
// and the node hashes on request:
//
//	POST /v1/persons/hash  {"ids": ["<citizen ID>", ...], "purpose": "<code>"}
//	-> 200 {"hashes": ["h1:...", ...]}            (same order)
//
// This package checks the request and hashes ([Hash]). Package node keeps
// what makes each guess costly and attributed: the roles (publish, admin),
// one access-log entry naming the persons (short hashes) per request and
// one subject token spent per ID, so an attacker's guesses with a
// credential are rate-limited and logged.
//
// # Failures
//
// A bad request is a 400 api.ErrorBody naming the field ("ids", "purpose")
// and, for an invalid citizen ID, its position; nothing is hashed then.
// The request body is read up to 1 MiB.
package matching

import (
	"fmt"
	"io"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/schemas"
)

// MaxIDs is the most citizen IDs one request may hash.
const MaxIDs = 1000

// maxBody bounds the request body read.
const maxBody = 1 << 20

// Hash reads a POST /v1/persons/hash request from body, checks it (1 to
// MaxIDs valid citizen IDs; a purpose that checkPurpose, the catalogue's
// check, accepts) and hashes each ID with key, in order.
func Hash(body io.Reader, key schemas.MatchKey, checkPurpose func(purpose, why string) *api.ErrorBody) (api.PersonsHashRequest, api.PersonsHashResponse, *api.ErrorBody) {
	var req api.PersonsHashRequest
	if err := httpx.DecodeJSON(body, maxBody, &req); err != nil {
		return req, api.PersonsHashResponse{}, &api.ErrorBody{Status: http.StatusBadRequest, Error: fmt.Sprintf("malformed request: %v", err)}
	}
	if len(req.IDs) == 0 || len(req.IDs) > MaxIDs {
		return req, api.PersonsHashResponse{}, &api.ErrorBody{Status: http.StatusBadRequest, Error: "ids: give 1 to 1000 citizen IDs",
			Errors: []api.FieldError{{Record: -1, Field: "ids", Rule: "count", Message: fmt.Sprintf("got %d", len(req.IDs))}}}
	}
	if perr := checkPurpose(req.Purpose, "hashing citizen IDs"); perr != nil {
		return req, api.PersonsHashResponse{}, &api.ErrorBody{Status: http.StatusBadRequest, Error: "purpose: hashing citizen IDs requires a purpose code of the catalogue",
			Errors: []api.FieldError{{Record: -1, Field: "purpose", Rule: "purpose", Message: perr.Error}}}
	}
	out := api.PersonsHashResponse{Hashes: make([]string, len(req.IDs))}
	for i, s := range req.IDs {
		if err := schemas.CheckCitizenID(s); err != nil {
			return req, api.PersonsHashResponse{}, &api.ErrorBody{Status: http.StatusBadRequest, Error: "invalid citizen ID",
				Errors: []api.FieldError{{Record: i, Field: "ids", Rule: "citizen_id", Message: err.Error()}}}
		}
		out.Hashes[i] = key.HashID(s)
	}
	return req, out, nil
}
