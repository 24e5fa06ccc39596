// Package limits bounds what one client may ask of a node: per-client token
// buckets for the HTTP API (RateConfig, Limiter; the per-subject bucket of
// batch checks, Limiter.TakeSubjects) and the daily cap on
// plaintext citizen-ID lookups (Charge, Tally), the cap's accounting being
// independent of raft: the node's FSM calls Tally and Store in the
// transaction that appends the access-log entries carrying the charges.
//
// Guarantees: a request over its client's budget is refused before the
// handler runs, with Retry-After (whole seconds, at least 1); replicas,
// members and health probes are never limited; the buckets' memory is
// bounded by the clients active in the last ten minutes. The lookup cap is
// decided only from the charges and the counts stored before them, so every
// replica decides alike, and a charge that would pass the cap is refused
// whole (CapError) with nothing counted. Limiter is safe for concurrent use;
// the lookup functions run inside the caller's bbolt transaction.
package limits

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/pki"
	"golang.org/x/time/rate"
)

// RateConfig is the `rate_limit:` section of a replica's config
// (node Config.RateLimit): how fast one client may call the API. Limiting is on by
// default; a zero field takes its default, a negative rate switches that
// class of caller off.
//
//	rate_limit:
//	  per_second: 200         # sustained requests/s per client certificate; default 200; < 0: no limit
//	  burst: 400              # bucket size; default 2 x per_second
//	  public_per_second: 20   # per remote IP (IPv6: per /64) for callers without a certificate; default 20; < 0: no limit
//	  public_burst: 40        # default 2 x public_per_second
//	  tiles_per_second: 1000  # GET /ledger/... per client (certificate or IP); default 1000; < 0: no limit
//	  tiles_burst: 2000       # default 2 x tiles_per_second
//
// The defaults leave every legitimate agency far below its budget: the busiest
// integrations the domain documents (a provincial finance platform at ~50,000
// calls a day, Hangzhou's 11.5 million credit services a year) average well
// under 1 request/s, and the batch endpoints (POST /v1/records, POST
// /v1/check: up to 1000 items) count as one request (POST /v1/check also
// spends one token per subject from a subject bucket, node/privacy_batch.go). 200/s still holds one
// runaway or compromised certificate to a fraction of what a node serves
// (thousands of checks/s, BENCHMARKS.md P3), so it cannot starve the others.
// The public reads the register in a browser: 20/s per address.
//
// The tlog-tiles read API (GET /ledger/...) serves immutable or signed data
// that verifiers (creditx audit, monitors) read in bulk, so it has its own,
// larger budget, separate from the API's: a full audit of a 200,000-entry
// ledger reads ~1,600 tiles and bundles, under two seconds at the default,
// while one client can no longer keep the node busy serving tiles (issue 11
// item 7).
//
// Never limited: replicas (forwarding writes to their leader) and members
// (witnessing, mirroring), the consortium's own traffic, whose throttling
// would slow every member's ingest; and the /healthz and /readyz probes. Behind a reverse proxy every public caller has
// the proxy's address; limit the public at the proxy instead.
type RateConfig struct {
	PerSecond       float64 `yaml:"per_second"`
	Burst           int     `yaml:"burst"`
	PublicPerSecond float64 `yaml:"public_per_second"`
	PublicBurst     int     `yaml:"public_burst"`
	TilesPerSecond  float64 `yaml:"tiles_per_second"`
	TilesBurst      int     `yaml:"tiles_burst"`
}

// Default rates of RateConfig, requests per second.
const (
	DefaultRatePerSecond       = 200
	DefaultPublicRatePerSecond = 20
	DefaultTilesRatePerSecond  = 1000
)

// withDefaults fills in zero fields (see RateConfig).
func (c RateConfig) WithDefaults() RateConfig {
	if c.PerSecond == 0 {
		c.PerSecond = DefaultRatePerSecond
	}
	if c.Burst <= 0 {
		c.Burst = max(1, int(math.Ceil(2*c.PerSecond)))
	}
	if c.PublicPerSecond == 0 {
		c.PublicPerSecond = DefaultPublicRatePerSecond
	}
	if c.PublicBurst <= 0 {
		c.PublicBurst = max(1, int(math.Ceil(2*c.PublicPerSecond)))
	}
	if c.TilesPerSecond == 0 {
		c.TilesPerSecond = DefaultTilesRatePerSecond
	}
	if c.TilesBurst <= 0 {
		c.TilesBurst = max(1, int(math.Ceil(2*c.TilesPerSecond)))
	}
	return c
}

// Limiter holds one token bucket per client: the serial number of its
// verified client certificate (the issuing CA is part of the key, so two
// regions' serials never collide), or its remote IP for the public. Buckets
// idle for longer than idleAfter are dropped, so memory stays bounded by the
// number of clients active in that window. One Limiter serves both the
// HTTPS and the HTTP/3 listener of a node, so a client has one budget.
type Limiter struct {
	cfg       RateConfig // defaults filled in; fixed after construction
	now       func() time.Time
	idleAfter time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket // guarded by mu
	lastSweep time.Time          // guarded by mu
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter is a Limiter for c (zero fields take their defaults) reading
// the time from now.
func NewLimiter(c RateConfig, now func() time.Time) *Limiter {
	return &Limiter{cfg: c.WithDefaults(), now: now, idleAfter: 10 * time.Minute, buckets: map[string]*bucket{}}
}

// Config is the limiter's configuration, defaults filled in.
func (rl *Limiter) Config() RateConfig { return rl.cfg }

// Wrap wraps h with the per-client buckets (see RateConfig). A request over
// its client's budget gets a Retry-After header (whole seconds, at least 1)
// and refuse writes the answer (429 Too Many Requests, with msg); h never
// sees it. With every rate negative Wrap returns h.
func (rl *Limiter) Wrap(h http.Handler, refuse func(w http.ResponseWriter, msg string)) http.Handler {
	if rl.cfg.PerSecond < 0 && rl.cfg.PublicPerSecond < 0 && rl.cfg.TilesPerSecond < 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, public, exempt := ClientKey(r)
		if exempt || unlimitedPath(r) {
			h.ServeHTTP(w, r)
			return
		}
		// The client's budget: tile reads have their own; otherwise by
		// whether it presented a certificate. A negative rate: no limit.
		class, perSecond, burst, unit := "", rl.cfg.PerSecond, rl.cfg.Burst, ""
		switch {
		case isTilePath(r):
			class, perSecond, burst, unit = "tiles|", rl.cfg.TilesPerSecond, rl.cfg.TilesBurst, " tile"
		case public:
			perSecond, burst = rl.cfg.PublicPerSecond, rl.cfg.PublicBurst
		}
		if perSecond < 0 {
			h.ServeHTTP(w, r)
			return
		}
		if wait, ok := rl.Take(class+key, perSecond, burst, 1); !ok {
			secs := RetryAfter(w, wait)
			refuse(w, fmt.Sprintf("rate limit: more than %s%s requests per second from %s; retry in %ds",
				strconv.FormatFloat(perSecond, 'f', -1, 64), unit, key, secs))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RetryAfter sets the Retry-After header to wait in whole seconds, at least
// 1, and returns the seconds.
func RetryAfter(w http.ResponseWriter, wait time.Duration) int {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}

// isTilePath reports whether r reads the tlog-tiles API (GET /ledger/...),
// which has its own rate budget (RateConfig.TilesPerSecond).
func isTilePath(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return strings.HasPrefix(path.Clean(r.URL.Path), "/ledger/")
}

// unlimitedPath reports whether r is for a health probe, which is never
// limited (see RateConfig).
func unlimitedPath(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := path.Clean(r.URL.Path)
	return p == "/healthz" || p == "/readyz"
}

// Take takes n tokens from key's bucket (made at perSecond with burst on
// first use). When they are not there it takes none and returns how long
// until they are (n > burst: n/perSecond, the time to earn them).
func (rl *Limiter) Take(key string, perSecond float64, burst, n int) (time.Duration, bool) {
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if now.Sub(rl.lastSweep) > rl.idleAfter {
		for k, b := range rl.buckets {
			if now.Sub(b.seen) > rl.idleAfter {
				delete(rl.buckets, k)
			}
		}
		rl.lastSweep = now
	}
	b := rl.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
		rl.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, n)
	if !res.OK() {
		return time.Duration(float64(n) / perSecond * float64(time.Second)), false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// ClientKey identifies the caller: "cert:<issuer serial>/<serial>" for a
// verified client certificate, "ip:<addr>" (IPv6: "ip:<prefix>/64") for the
// public (public true). Replicas and members are exempt.
func ClientKey(r *http.Request) (key string, public, exempt bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		switch pki.IdentityFromRequest(r).Role {
		case pki.RoleReplica, pki.RoleMember:
			return "", false, true
		}
		chain := r.TLS.VerifiedChains[0]
		issuer := chain[len(chain)-1]
		// As fmt's %x of each serial, without fmt (12 us of a check in
		// the profile, with the stack growth it caused).
		return "cert:" + issuer.SerialNumber.Text(16) + "/" + chain[0].SerialNumber.Text(16), false, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		// One IPv6 host commonly holds a whole /64: limit the prefix.
		p, _ := ip.Prefix(64)
		host = p.String()
	}
	return "ip:" + host, true, false
}
