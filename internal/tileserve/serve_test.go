package tileserve

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/creditx/creditx/ledger"
)

func TestWriteCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 200},
		{fmt.Errorf("reading: %w", ledger.ErrNoCheckpoint), 404},
		{errors.New("disk"), 500},
	} {
		w := httptest.NewRecorder()
		WriteCheckpoint(w, []byte("cp\n"), tc.err)
		if w.Code != tc.code {
			t.Errorf("%v: %d, want %d", tc.err, w.Code, tc.code)
		}
		if tc.code == 200 && (w.Body.String() != "cp\n" || w.Header().Get("Cache-Control") != "no-store") {
			t.Errorf("checkpoint answer: %q %v", w.Body, w.Header())
		}
	}
}
