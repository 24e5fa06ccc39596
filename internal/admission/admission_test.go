package admission

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// fakeHost is a node whose ledger.db cannot be read (View fails) and whose
// loop log is "loop".
type fakeHost struct {
	t        *testing.T
	loopSeen [][]byte
}

var errRead = errors.New("store closed")

func (h *fakeHost) View(func(tx *ledger.ReadTx) error) error { return errRead }
func (h *fakeHost) Keyring() *schemas.Keyring {
	kr, err := schemas.NewKeyring(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return kr
}
func (h *fakeHost) Engine() *sanctions.Engine                                    { return nil }
func (h *fakeHost) EngineIn(*ledger.ReadTx) *sanctions.Engine                    { return nil }
func (h *fakeHost) CheckCatalogueAdopt(*schemas.CatalogueAdopt) (string, string) { return "", "" }
func (h *fakeHost) CheckCalendarAdopt(*schemas.CalendarAdopt) (string, string)   { return "", "" }
func (h *fakeHost) CheckManifestPropose(*schemas.ManifestPropose) (string, string) {
	return "", ""
}
func (h *fakeHost) LoopOrigin() string              { return "loop" }
func (h *fakeHost) RecordLog(schemas.Record) string { return "own" }
func (h *fakeHost) SubmitLog([][]byte) (string, *api.ErrorBody) {
	return "own", nil
}
func (h *fakeHost) CheckLoopEntry(e []byte) error {
	h.loopSeen = append(h.loopSeen, e)
	return nil
}

func newFake(t *testing.T) (*Checker, *fakeHost) {
	h := &fakeHost{t: t}
	return New(Config{Region: "330000", Origin: "own", Access: "access", Store: h, Sanctions: h, Governance: h, Logs: h,
		Validator:   schemas.NewValidator(nil),
		CheckAccess: func(e []byte) error { return errors.New("not an access record") },
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil))}), h
}

// TestBatchStatus: the most specific status of a batch wins: the lowest 4xx
// that is not 422, else 422.
func TestBatchStatus(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want int
	}{
		{[]int{422}, 422},
		{[]int{422, 403}, 403},
		{[]int{403, 422}, 403},
		{[]int{413, 400, 422}, 400},
		{[]int{500, 403}, 403},
		{[]int{422, 500}, 500},
	} {
		st := 0
		for _, s := range c.in {
			st = batchStatus(st, s)
		}
		if st != c.want {
			t.Errorf("batchStatus over %v = %d, want %d", c.in, st, c.want)
		}
	}
}

// TestBatchReadFailure: a ledger.db that cannot be read refuses the batch
// with 500 (rule "read"), not an admission at index 0.
func TestBatchReadFailure(t *testing.T) {
	c, _ := newFake(t)
	ae := c.Batch(pki.Identity{Role: pki.RolePublish}, [][]byte{[]byte("{}")})
	if ae == nil || ae.Status != http.StatusInternalServerError || len(ae.Errors) != 1 || ae.Errors[0].Rule != "read" {
		t.Fatalf("Batch on an unreadable store = %+v; want one 500 read problem", ae)
	}
}

// TestForwardedRefusals: a replica may forward only appends to the own
// ledger, the access log (entries checked) and the loop log, and the
// region's own state commands.
func TestForwardedRefusals(t *testing.T) {
	c, _ := newFake(t)
	if ae := c.Forwarded(6, true, false, "", nil); ae != nil {
		t.Errorf("region op: %+v, want nil", ae)
	}
	if ae := c.Forwarded(2, false, false, "own", nil); ae == nil || ae.Status != http.StatusForbidden {
		t.Errorf("op 2: %+v, want 403", ae)
	}
	if ae := c.Forwarded(1, false, true, "elsewhere", nil); ae == nil || ae.Status != http.StatusForbidden {
		t.Errorf("foreign origin: %+v, want 403", ae)
	}
	ae := c.Forwarded(1, false, true, "access", [][]byte{[]byte("x")})
	if ae == nil || ae.Status != http.StatusBadRequest || len(ae.Errors) != 1 || ae.Errors[0].Rule != "access_record" {
		t.Errorf("bad access entry: %+v, want 400 access_record", ae)
	}
	// SubmitLog says "own", not the loop log: refused.
	if ae := c.Forwarded(1, false, true, "loop", [][]byte{[]byte("x")}); ae == nil || ae.Status != http.StatusForbidden {
		t.Errorf("loop log entry for another log: %+v, want 403", ae)
	}
}

// TestCheckEntryOrigins: the FSM's check leaves other ledgers alone, hands
// loop-log entries to the loop rules, and does not refuse an own entry
// that is not a signed record (the indexer reports it).
func TestCheckEntryOrigins(t *testing.T) {
	c, h := newFake(t)
	if err := c.CheckEntry("mirror", 0, []byte("junk")); err != nil {
		t.Errorf("mirror entry: %v", err)
	}
	if err := c.CheckEntry("loop", 0, []byte("n")); err != nil || len(h.loopSeen) != 1 {
		t.Errorf("loop entry: %v, seen %d; want checked by the loop rules", err, len(h.loopSeen))
	}
	if err := c.CheckEntry("own", 0, []byte("not a record")); err != nil {
		t.Errorf("own unsigned entry: %v, want nil", err)
	}
}
