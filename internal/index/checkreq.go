package index

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/sanctions"
)

// CheckErrorBody is the answer to a failed check (GET and POST /v1/check):
// 400 naming the field (and, in a batch, the subject's 0-based position)
// for a bad request (*sanctions.CheckInputError), otherwise 500 with the
// error.
func CheckErrorBody(err error) *api.ErrorBody {
	var ce *sanctions.CheckInputError
	if errors.As(err, &ce) {
		return &api.ErrorBody{Status: http.StatusBadRequest, Error: "invalid check request",
			Errors: []api.FieldError{{Record: ce.Index - 1, Field: ce.Field, Rule: "check", Message: ce.Reason}}}
	}
	return &api.ErrorBody{Status: http.StatusInternalServerError, Error: fmt.Sprintf("%v", err)}
}

// MaxBatchCheck is the most subjects one POST /v1/check may name.
const MaxBatchCheck = 1000

// BatchCheck is a checked POST /v1/check request.
type BatchCheck struct {
	api.BatchCheckRequest
	Time     time.Time // At parsed
	Keys     []string  // the index key of each subject, in order
	Personal []string  // the keys of the natural persons among them
}

// ParseBatchCheck reads a POST /v1/check body (at most 1 MiB, no unknown
// fields): 1 to MaxBatchCheck subjects, each turned into its index key by
// key (which also says whether it names a natural person), and an RFC 3339
// at ("" is now). A bad request is a 400 naming what is wrong (a subject
// by its 0-based position).
func ParseBatchCheck(body io.Reader, key func(subject string) (string, bool, error)) (*BatchCheck, *api.ErrorBody) {
	var b BatchCheck
	if err := httpx.DecodeJSON(body, 1<<20, &b.BatchCheckRequest); err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "malformed batch check: %v", err)
	}
	if len(b.Subjects) == 0 || len(b.Subjects) > MaxBatchCheck {
		return nil, httpx.Errorf(http.StatusBadRequest, "subjects: give 1 to 1000 subjects, got %d", len(b.Subjects))
	}
	var err error
	if b.Time, err = httpx.ParseAt(b.At); err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "%v", err)
	}
	b.Keys = make([]string, len(b.Subjects))
	for i, s := range b.Subjects {
		k, p, err := key(s)
		if err != nil {
			return nil, &api.ErrorBody{Status: http.StatusBadRequest, Error: "invalid subject", Errors: []api.FieldError{{Record: i, Field: "subjects", Rule: "subject", Message: err.Error()}}}
		}
		b.Keys[i] = k
		if p {
			b.Personal = append(b.Personal, k)
		}
	}
	return &b, nil
}
