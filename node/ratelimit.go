package node

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/creditx/creditx/node/pki"
	"golang.org/x/time/rate"
)

// RateLimitConfig bounds how fast one client may call the API. It is meant
// as the `rate_limit:` section of a replica's config (Config.RateLimit, wired
// by the caller); the zero value disables limiting.
//
//	rate_limit:
//	  per_second: 50     # sustained requests per second per client certificate (0: off)
//	  burst: 100         # bucket size; default 2 x per_second, at least 1
//	  public_per_second: 10   # per remote IP for callers without a client certificate; default per_second
//	  public_burst: 20
//
// Replicas (forwarding writes to their leader) and members (witnessing,
// mirroring) are never limited: they are the consortium's own traffic, and
// throttling them would slow every member's ingest.
type RateLimitConfig struct {
	PerSecond       float64 `yaml:"per_second"`
	Burst           int     `yaml:"burst"`
	PublicPerSecond float64 `yaml:"public_per_second"`
	PublicBurst     int     `yaml:"public_burst"`
}

// rateLimiter holds one token bucket per client: the serial number of its
// verified client certificate (the issuing CA is part of the key, so two
// regions' serials never collide), or its remote IP for the public. Buckets
// idle for longer than idleAfter are dropped, so memory stays bounded by the
// number of clients active in that window.
type rateLimiter struct {
	cfg       RateLimitConfig
	now       func() time.Time
	idleAfter time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// RateLimit wraps h with per-client token buckets (see RateLimitConfig). A
// request over its client's budget gets 429 Too Many Requests with a
// Retry-After header (whole seconds) and a JSON error body, and h never sees
// it. With c.PerSecond <= 0 it returns h unchanged.
func RateLimit(h http.Handler, c RateLimitConfig) http.Handler {
	return newRateLimiter(c, time.Now).wrap(h)
}

func newRateLimiter(c RateLimitConfig, now func() time.Time) *rateLimiter {
	if c.Burst <= 0 {
		c.Burst = max(1, int(math.Ceil(2*c.PerSecond)))
	}
	if c.PublicPerSecond <= 0 {
		c.PublicPerSecond = c.PerSecond
	}
	if c.PublicBurst <= 0 {
		c.PublicBurst = max(1, int(math.Ceil(2*c.PublicPerSecond)))
	}
	return &rateLimiter{cfg: c, now: now, idleAfter: 10 * time.Minute, buckets: map[string]*bucket{}}
}

func (rl *rateLimiter) wrap(h http.Handler) http.Handler {
	if rl.cfg.PerSecond <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, public, exempt := clientKey(r)
		if exempt {
			h.ServeHTTP(w, r)
			return
		}
		if wait, ok := rl.allow(key, public); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			writeErr(w, errorf(http.StatusTooManyRequests, "rate limit: more than %s requests per second from %s; retry in %ds", rl.rateOf(public), key, max(1, secs)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (rl *rateLimiter) rateOf(public bool) string {
	if public {
		return strconv.FormatFloat(rl.cfg.PublicPerSecond, 'f', -1, 64)
	}
	return strconv.FormatFloat(rl.cfg.PerSecond, 'f', -1, 64)
}

// allow takes one token from key's bucket; when none is left it returns how
// long until one is.
func (rl *rateLimiter) allow(key string, public bool) (time.Duration, bool) {
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
		lim := rate.NewLimiter(rate.Limit(rl.cfg.PerSecond), rl.cfg.Burst)
		if public {
			lim = rate.NewLimiter(rate.Limit(rl.cfg.PublicPerSecond), rl.cfg.PublicBurst)
		}
		b = &bucket{lim: lim}
		rl.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// clientKey identifies the caller: "cert:<issuer serial>/<serial>" for a
// verified client certificate, "ip:<addr>" for the public. Replicas and
// members are exempt.
func clientKey(r *http.Request) (key string, public, exempt bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		switch pki.IdentityFromRequest(r).Role {
		case pki.RoleReplica, pki.RoleMember:
			return "", false, true
		}
		chain := r.TLS.VerifiedChains[0]
		issuer := chain[len(chain)-1]
		return fmt.Sprintf("cert:%x/%x", issuer.SerialNumber, chain[0].SerialNumber), false, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host, true, false
}
