package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

func issued(t *testing.T, ca *pki.CA, id pki.Identity) []*x509.Certificate {
	t.Helper()
	certPEM, _, err := ca.Issue(id, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{leaf, ca.Cert}
}

func TestRateLimitPerClient(t *testing.T) {
	ca, err := pki.NewCA("330000", "test CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pubA := issued(t, ca, pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency, ID: agencyUSCC(t, "MB000002"), Name: "A", Domains: []string{"environment"}})
	pubB := issued(t, ca, pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency, ID: agencyUSCC(t, "MB000005"), Name: "B", Domains: []string{"environment"}})
	replica := issued(t, ca, pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "zj-1", Name: "replica zj-1"})

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rl := newRateLimiter(RateLimitConfig{PerSecond: 2, Burst: 3, PublicPerSecond: 1, PublicBurst: 1}, func() time.Time { return now })
	served := 0
	h := rl.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++ }))
	call := func(chain []*x509.Certificate, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/records", nil)
		r.RemoteAddr = ip + ":40000"
		if chain != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: chain, VerifiedChains: [][]*x509.Certificate{chain}}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	steps := []struct {
		name    string
		chain   []*x509.Certificate
		ip      string
		advance time.Duration
		want    int
	}{
		{"A burst 1", pubA, "10.0.0.1", 0, 200},
		{"A burst 2", pubA, "10.0.0.1", 0, 200},
		{"A burst 3", pubA, "10.0.0.1", 0, 200},
		{"A over budget", pubA, "10.0.0.1", 0, 429},
		{"A from another IP is still A", pubA, "10.0.0.9", 0, 429},
		{"B has its own bucket", pubB, "10.0.0.1", 0, 200},
		{"replica never limited 1", replica, "10.0.0.2", 0, 200},
		{"replica never limited 2", replica, "10.0.0.2", 0, 200},
		{"replica never limited 3", replica, "10.0.0.2", 0, 200},
		{"replica never limited 4", replica, "10.0.0.2", 0, 200},
		{"public by IP", nil, "10.0.0.3", 0, 200},
		{"public over budget", nil, "10.0.0.3", 0, 429},
		{"other public IP", nil, "10.0.0.4", 0, 200},
		{"A refilled after 500 ms (2/s)", pubA, "10.0.0.1", 500 * time.Millisecond, 200},
		{"A empty again", pubA, "10.0.0.1", 0, 429},
	}
	wantServed := 0
	for _, s := range steps {
		now = now.Add(s.advance)
		w := call(s.chain, s.ip)
		if w.Code != s.want {
			t.Fatalf("%s: status %d, want %d: %s", s.name, w.Code, s.want, w.Body)
		}
		if s.want == 200 {
			wantServed++
		} else if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("%s: Retry-After %q", s.name, w.Header().Get("Retry-After"))
		}
	}
	if served != wantServed {
		t.Fatalf("handler ran %d times, want %d (a limited request reached it)", served, wantServed)
	}
	// Idle buckets are dropped: memory is bounded by recently active clients.
	now = now.Add(11 * time.Minute)
	call(pubB, "10.0.0.1")
	if n := len(rl.buckets); n != 1 {
		t.Fatalf("%d buckets after 11 idle minutes, want 1", n)
	}
	if h := RateLimit(http.NotFoundHandler(), RateLimitConfig{}); h == nil {
		t.Fatal("RateLimit with a zero config returned nil")
	}
}

// TestRateLimitDefaults: a zero config limits (on by default), a negative
// rate switches one class off, and the tlog-tiles API, probes and IPv6
// neighbours behave as documented on RateLimitConfig.
func TestRateLimitDefaults(t *testing.T) {
	got := RateLimitConfig{}.withDefaults()
	if want := (RateLimitConfig{PerSecond: 200, Burst: 400, PublicPerSecond: 20, PublicBurst: 40, TilesPerSecond: 1000, TilesBurst: 2000}); got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	if got := (RateLimitConfig{PerSecond: 5}).withDefaults(); got.Burst != 10 || got.PublicPerSecond != 20 {
		t.Fatalf("per_second 5: %+v, want burst 10 and the public default", got)
	}

	ca, err := pki.NewCA("330000", "test CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub := issued(t, ca, pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency, ID: agencyUSCC(t, "MB000002"), Name: "A", Domains: []string{"environment"}})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	call := func(h http.Handler, chain []*x509.Certificate, remote, path string) int {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		if chain != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: chain, VerifiedChains: [][]*x509.Certificate{chain}}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	// Certificates unlimited, the public still at its default of 20/s, burst 40.
	h := newRateLimiter(RateLimitConfig{PerSecond: -1}, func() time.Time { return now }).wrap(ok)
	for i := range 1000 {
		if c := call(h, pub, "10.0.0.1:1", "/v1/status"); c != 200 {
			t.Fatalf("certificate request %d with per_second -1: %d", i, c)
		}
	}
	served := 0
	for range 100 {
		if call(h, nil, "10.0.0.2:1", "/v1/status") == 200 {
			served++
		}
	}
	if served != 40 {
		t.Fatalf("public: %d of 100 instant requests served, want the default burst of 40", served)
	}
	for _, p := range []string{"/ledger/330000/checkpoint", "/ledger/330000/tile/entries/000", "/healthz", "/readyz"} {
		if c := call(h, nil, "10.0.0.2:1", p); c != 200 {
			t.Errorf("GET %s by an exhausted public client: %d, want 200 (never limited)", p, c)
		}
	}
	if c := call(h, nil, "10.0.0.2:1", "/ledger/../v1/status"); c != 429 {
		t.Errorf("a path outside /ledger/ slipped through: %d", c)
	}
	// One IPv6 /64 is one client; another /64 is another.
	h = newRateLimiter(RateLimitConfig{PublicPerSecond: 1, PublicBurst: 1}, func() time.Time { return now }).wrap(ok)
	if c := call(h, nil, "[2001:db8:1:2::1]:443", "/"); c != 200 {
		t.Fatalf("first IPv6 request: %d", c)
	}
	if c := call(h, nil, "[2001:db8:1:2::ffff]:443", "/"); c != 429 {
		t.Errorf("same /64, other host: %d, want 429", c)
	}
	if c := call(h, nil, "[2001:db8:1:3::1]:443", "/"); c != 200 {
		t.Errorf("other /64: %d, want 200", c)
	}
	// Both rates negative: no limiter at all.
	if h := newRateLimiter(RateLimitConfig{PerSecond: -1, PublicPerSecond: -1}, time.Now).wrap(ok); call(h, nil, "10.0.0.3:1", "/") != 200 {
		t.Fatal("disabled limiter refused")
	}
}

// agencyUSCC is the USCC of a sample agency of region 330000 (as
// provision.DevUSCC makes them; that package imports this one).
func agencyUSCC(t *testing.T, body string) string {
	t.Helper()
	code, err := schemas.CompleteUSCC("11330000" + body)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
