package exchange

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// slowRT answers at once, except paths under /slow, which it holds until
// their context ends (a member too slow to answer in time, or gone).
type slowRT struct{}

func (slowRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/slow") {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("x\n")), Request: r}, nil
}

// TestRedialOnlyWhenNothingAnswers: a request past its deadline discards
// the connection (redial) only if nothing came back on it meanwhile. A
// member that answered another request during the wait is alive and only
// slow: redialling it would fail every request parked on the connection
// and cost a handshake (issue 20: thousands of redials in a 45-member run
// short of CPU). One that answered nothing is redialled as before.
func TestRedialOnlyWhenNothingAnswers(t *testing.T) {
	m := parsed(t, testManifest(t, "310000", "320000", "330000"))
	mb, _ := m.Member("310000")
	c := &Client{mb: mb, tr: &http3.Transport{}, hc: &http.Client{Transport: slowRT{}}}
	ctx := context.Background()

	done := make(chan error, 1)
	go func() {
		_, _, err := c.doWithin(ctx, 500*time.Millisecond, http.MethodGet, "/slow/a", nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if _, _, err := c.do(ctx, http.MethodGet, "/fast", nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the slow request was answered")
	}
	if n := c.Redials(); n != 0 {
		t.Fatalf("%d redials after a timeout on a connection that answered meanwhile, want 0", n)
	}

	if _, _, err := c.doWithin(ctx, 200*time.Millisecond, http.MethodGet, "/slow/b", nil); err == nil {
		t.Fatal("the slow request was answered")
	}
	if n := c.Redials(); n != 1 {
		t.Fatalf("%d redials after a timeout with nothing answered, want 1", n)
	}
	if n := c.requests.Load(); n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
}

// TestHandshakeGetsTheRequestDeadline: a QUIC handshake is abandoned no
// sooner than the request that dials it (quic-go allows a handshake twice
// its idle timeout). With 3 s (6 s in all) a 45-member process short of
// CPU abandoned handshakes by the thousand and redid them (issue 20).
func TestHandshakeGetsTheRequestDeadline(t *testing.T) {
	m := parsed(t, testManifest(t, "310000", "320000", "330000"))
	mb, _ := m.Member("310000")
	c := &Client{mb: mb}
	tr, _ := c.newTransport()
	idle := tr.QUICConfig.HandshakeIdleTimeout
	if 2*idle < RequestTimeout {
		t.Errorf("handshake bound %v (idle timeout %v) is shorter than the request's %v", 2*idle, idle, RequestTimeout)
	}
	if idle > RequestTimeout {
		t.Errorf("handshake idle timeout %v is longer than a request's deadline %v", idle, RequestTimeout)
	}
}
