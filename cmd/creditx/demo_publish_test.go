package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creditx/creditx/client"
)

// TestPublishListingsAtOnce: bench delta's publishing submits Zhejiang's
// first batch alone, then every other batch at once, a member's
// authorities too (before, each member's batches went one after another,
// a second submit and TLS handshake on the path to "published"); the demo's
// order, one by one, is unchanged. The rules records (then) go beside the
// other batches at once, after the last batch one by one.
func TestPublishListingsAtOnce(t *testing.T) {
	counts := []int{2, 2, 3} // Zhejiang, then two members
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var inFlight []string
		submit := func(k, j int) error {
			mu.Lock()
			inFlight = append(inFlight, fmt.Sprintf("%d/%d", k, j))
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight = slices.DeleteFunc(inFlight, func(s string) bool { return s == fmt.Sprintf("%d/%d", k, j) })
			mu.Unlock()
			return nil
		}
		done := make(chan error, 1)
		go func() { done <- publishListings(counts, true, submit, func() error { return submit(-1, -1) }) }()
		synctest.Wait()
		mu.Lock()
		first := slices.Clone(inFlight)
		mu.Unlock()
		if !slices.Equal(first, []string{"0/0"}) {
			t.Errorf("first in flight: %v, want Zhejiang's first batch alone", first)
		}
		release <- struct{}{} // Zhejiang's first batch answered
		synctest.Wait()
		mu.Lock()
		rest := slices.Sorted(slices.Values(inFlight))
		mu.Unlock()
		if want := []string{"-1/-1", "0/1", "1/0", "1/1", "2/0", "2/1", "2/2"}; !slices.Equal(rest, want) {
			t.Errorf("then in flight at once: %v, want %v", rest, want)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	var order []string
	rec := func(k, j int) error { order = append(order, fmt.Sprintf("%d/%d", k, j)); return nil }
	err := publishListings(counts, false, rec, func() error { return rec(-1, -1) })
	if want := []string{"0/0", "0/1", "1/0", "1/1", "2/0", "2/1", "2/2", "-1/-1"}; err != nil || !slices.Equal(order, want) {
		t.Errorf("one by one: %v, %v; want %v", order, err, want)
	}
}

// TestPublishListingsErrors: at once, every batch is submitted even when
// one fails, and the errors are joined; Zhejiang's first batch failing
// stops the rest.
func TestPublishListingsErrors(t *testing.T) {
	boom := errors.New("boom")
	var n atomic.Int32
	err := publishListings([]int{1, 2, 2}, true, func(k, j int) error {
		n.Add(1)
		if k == 1 {
			return fmt.Errorf("member %d batch %d: %w", k, j, boom)
		}
		return nil
	}, func() error { n.Add(1); return fmt.Errorf("rules records: %w", boom) })
	if !errors.Is(err, boom) || n.Load() != 6 || strings.Count(err.Error(), "boom") != 3 {
		t.Errorf("err %v after %d submits; want both of member 1's errors and the rules records' after 6", err, n.Load())
	}
	n.Store(0)
	err = publishListings([]int{2, 2}, true, func(k, j int) error { n.Add(1); return boom }, func() error { n.Add(1); return nil })
	if !errors.Is(err, boom) || n.Load() != 1 {
		t.Errorf("err %v after %d submits; want Zhejiang's first error alone", err, n.Load())
	}
}

// TestSubmitRetryingNotes: a retried 503 is counted by its cause, and a
// new connection's setup time is recorded once (the retry reuses it);
// bench delta reports both.
func TestSubmitRetryingNotes(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"not committed, safe to retry: timed out enqueuing operation"}`)
			return
		}
		fmt.Fprint(w, `{"results":[]}`)
	}))
	defer srv.Close()
	var ph demoPhases
	p := &client.Credentials{Client: srv.Client()}
	if _, err := submitRetrying(t.Context(), &ph, p, srv.URL, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"503 not committed, safe to retry: timed out enqueuing operation": 1}; calls.Load() != 2 || !maps.Equal(ph.Retries, want) {
		t.Errorf("%d calls, retries %v; want 2 calls and %v", calls.Load(), ph.Retries, want)
	}
	if len(ph.Conns) != 1 {
		t.Errorf("%d new connections recorded, want 1", len(ph.Conns))
	}
	if got := retryCause(fmt.Errorf("Post \"https://127.0.0.1:1234/v1/records\": %w", errors.New("EOF"))); got != "no answer: EOF" {
		t.Errorf("retryCause of a dropped connection: %q", got)
	}
}

// TestDeltaReportRetries: the report says how long the listings and the
// rules records took to publish, how many submit attempts were retried and
// why, and the new connections' setup time.
func TestDeltaReportRetries(t *testing.T) {
	ph := &demoPhases{Submits: []time.Duration{time.Millisecond}, Conns: []time.Duration{10 * time.Millisecond, 30 * time.Millisecond},
		Listings: 1500 * time.Millisecond, Rules: 4 * time.Second, Published: 4 * time.Second}
	r := deltaReport{N: 2, Converged: true, Phases: ph}
	if s := r.String(); !strings.Contains(s, "published 4.0 s (last listing answered at 1.5 s, the rules records at 4.0 s)") {
		t.Errorf("report without the listings' and rules records' times:\n%s", s)
	}
	if s := r.String(); !strings.Contains(s, "listing submits: 1, p50 1 ms, max 1 ms (retries included); no attempt retried; 2 new connections, setup (dial and TLS handshake) p50 30 ms, max 30 ms") {
		t.Errorf("report:\n%s", s)
	}
	ph.Retries = map[string]int{"no answer: EOF": 1, "503 not committed": 3}
	if s := r.String(); !strings.Contains(s, "4 attempts retried: 3× 503 not committed; 1× no answer: EOF") {
		t.Errorf("report:\n%s", s)
	}
}
