package limits

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTileRateLimit: the tlog-tiles API has its own budget per client
// (default 1000/s, burst 2000), separate from the API's, and can be
// switched off; issue 11 item 7 found it unlimited.
func TestTileRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	call := func(h http.Handler, remote, path string) int {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	h := NewLimiter(RateConfig{}, func() time.Time { return now }).Wrap(ok, refuse)
	served := 0
	for range 2500 {
		if call(h, "10.0.0.1:1", "/ledger/330000/tile/0/000") == 200 {
			served++
		}
	}
	if served != 2000 {
		t.Fatalf("%d of 2500 instant tile requests served, want the default tile burst of 2000", served)
	}
	if c := call(h, "10.0.0.1:1", "/v1/status"); c != 200 {
		t.Fatalf("API request after the tile budget is spent: %d, want 200 (separate budgets)", c)
	}
	if c := call(h, "10.0.0.2:1", "/ledger/330000/tile/0/000"); c != 200 {
		t.Fatalf("another client's tile request: %d", c)
	}
	if c := call(h, "10.0.0.1:1", "/healthz"); c != 200 {
		t.Fatalf("probe: %d", c)
	}
	now = now.Add(time.Second) // 1000 tokens back
	served = 0
	for range 1500 {
		if call(h, "10.0.0.1:1", "/ledger/330000/tile/entries/000") == 200 {
			served++
		}
	}
	if served != 1000 {
		t.Fatalf("after 1s: %d tile requests served, want 1000", served)
	}
	h = NewLimiter(RateConfig{TilesPerSecond: -1}, func() time.Time { return now }).Wrap(ok, refuse)
	for i := range 5000 {
		if c := call(h, "10.0.0.1:1", "/ledger/330000/tile/0/000"); c != 200 {
			t.Fatalf("tiles_per_second -1: request %d got %d", i, c)
		}
	}
}
