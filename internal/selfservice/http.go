package selfservice

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"
)

// WriteJSON writes v as indented JSON with status, as every node answer is
// written.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// WriteErr writes an error answer.
func WriteErr(w http.ResponseWriter, e *api.ErrorBody) { WriteJSON(w, e.Status, e) }

func errorf(status int, format string, args ...any) *api.ErrorBody {
	return &api.ErrorBody{Status: status, Error: fmt.Sprintf(format, args...)}
}

// clip shortens a caller's value quoted back in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
