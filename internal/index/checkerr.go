package index

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"
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
