package vaultops

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/creditx/creditx/vault"
)

// TestParseEraseReason: a catalogue code, optionally with a case reference
// that holds no personal data and no control character.
func TestParseEraseReason(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"court_order", "court_order", true},
		{" court_order :  case 2026-17 ", "court_order: case 2026-17", true},
		{"because", "", false},
		{"court_order: a\x01b", "", false},
		{"court_order: call 13812345678", "", false},
	} {
		got, err := ParseEraseReason(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseEraseReason(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestRefusal maps each vault refusal of the FSM to its status, wrapped or
// not; other errors are no refusal.
func TestRefusal(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{&vault.ConflictError{Path: "subject.person"}, http.StatusConflict},
		{fmt.Errorf("x: %w", vault.ErrErased), http.StatusGone},
		{vault.ErrEpoch, http.StatusServiceUnavailable},
		{vault.ErrNoEntry, http.StatusNotFound},
	} {
		if ae := Refusal(tc.err); ae == nil || ae.Status != tc.status {
			t.Errorf("Refusal(%v) = %+v; want status %d", tc.err, ae, tc.status)
		}
	}
	if ae := Refusal(errors.New("disk")); ae != nil {
		t.Errorf("Refusal(other) = %+v; want nil", ae)
	}
	if ae := Refusal(nil); ae != nil {
		t.Errorf("Refusal(nil) = %+v", ae)
	}
}
