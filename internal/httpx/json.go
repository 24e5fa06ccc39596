package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/jsonarray"
	"github.com/creditx/creditx/pki"
)

// WriteJSON answers v as indented JSON with status. HTML characters are
// not escaped (records carry Chinese names and URLs as they were signed).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// WriteCompactJSON is WriteJSON without indentation, for large machine-read
// answers (receipts of a batch).
func WriteCompactJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// WriteErr answers e with its own status.
func WriteErr(w http.ResponseWriter, e *api.ErrorBody) { WriteJSON(w, e.Status, e) }

// Clip shortens a caller's value quoted back in an error message to 64
// bytes and an ellipsis, so an answer never echoes a whole oversized input.
func Clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Errorf is an error answer with status and a formatted message.
func Errorf(status int, format string, args ...any) *api.ErrorBody {
	return &api.ErrorBody{Status: status, Error: fmt.Sprintf(format, args...)}
}

// Require answers 401/403 and returns false unless the caller's verified
// client certificate (pki.IdentityFromRequest) has one of roles.
func Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	id := pki.IdentityFromRequest(r)
	if id.Role == pki.RolePublic {
		WriteErr(w, Errorf(http.StatusUnauthorized, "a client certificate issued by the region CA is required"))
		return id, false
	}
	for _, role := range roles {
		if id.Role == role {
			return id, true
		}
	}
	WriteErr(w, Errorf(http.StatusForbidden, "role %q may not use %s %s", id.Role, r.Method, r.URL.Path))
	return id, false
}

// ReadBody reads r's body up to limit bytes: a longer body is 413, a
// failed read 400.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *api.ErrorBody) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	return body, nil
}

// readAll is io.ReadAll starting with room for a body of the declared
// length (when it is within limit) and one byte more, so a body of that
// length is read into one allocation instead of doubling from 512 bytes (a
// batch of 50 records is about 55 KB: eight reallocations and copies). A
// body longer or shorter than declared is read all the same.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	size := int64(512)
	if declared > 0 && declared <= limit {
		size = declared + 1
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the growth
		}
	}
}

// SplitBatch accepts one signed record (a JSON object) or a JSON array of
// at most max of them, and returns each record's bytes exactly as sent
// (sub-slices of body).
func SplitBatch(body []byte, max int) ([][]byte, *api.ErrorBody) {
	s := bytes.TrimSpace(body)
	if len(s) == 0 {
		return nil, Errorf(http.StatusBadRequest, "empty body: send one signed record or a JSON array of them")
	}
	if s[0] == '{' {
		return [][]byte{s}, nil
	}
	out, err := jsonarray.Split(s, max)
	if errors.Is(err, jsonarray.ErrTooLarge) {
		return nil, &api.ErrorBody{Status: http.StatusRequestEntityTooLarge, Error: fmt.Sprintf("batch exceeds the limit of %d records", max),
			Errors: []api.FieldError{{Record: max, Rule: "max_batch", Message: fmt.Sprintf("record %d is over the limit of %d records per request; split the batch", max, max)}}}
	}
	if err != nil {
		return nil, &api.ErrorBody{Status: http.StatusBadRequest, Error: "malformed JSON: send one signed record or a JSON array of them",
			Errors: []api.FieldError{{Record: -1, Rule: "json", Message: err.Error()}}}
	}
	if len(out) == 0 {
		return nil, Errorf(http.StatusBadRequest, "empty batch")
	}
	return out, nil
}

// DecodeJSON decodes one JSON value from body into v, reading at most
// limit bytes and refusing unknown fields (a misspelt field is an error,
// not a silent default).
func DecodeJSON(body io.Reader, limit int64, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, limit))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ParseAt parses the "at" of a request, an RFC 3339 time; "" is now (UTC).
func ParseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("at: %q is not an RFC 3339 time", s)
	}
	return t, nil
}
