package node

import (
	"net/http"
	"path"
	"time"

	"github.com/creditx/creditx/internal/limits"
)

// TimeoutsConfig is the `timeouts:` section of a replica's config
// (Config.Timeouts): how long one HTTP request may hold a connection (issue
// 11 item 7). A zero field takes its default.
//
//	timeouts:
//	  read_header: 10s   # the request line and headers
//	  read: 60s          # the whole request, body included
//	  write: 60s         # writing the answer, from the start of the handler (per-route deadline)
//	  idle: 60s          # a keep-alive connection between requests
//
// Every route gets a write deadline of `write` when its handler starts,
// except the long polls (GET /v1/notices and /v1/changes ?wait=D, D <= 5m), whose
// deadline is D + `write`. A client that stops reading (a full TCP window)
// therefore holds its connection at most that long: the blocked write fails
// and the server closes the connection. The HTTP server's own WriteTimeout
// is a backstop of 5m + `write` (the longest long poll); HTTP/2 streams get
// the same per-route deadline through http.ResponseController. 60s is far
// above what any answer takes (a full entry bundle is at most 16 MiB, a
// second on a slow link) and far below what lets idle attackers pile up.
type TimeoutsConfig struct {
	ReadHeader time.Duration `yaml:"read_header"`
	Read       time.Duration `yaml:"read"`
	Write      time.Duration `yaml:"write"`
	Idle       time.Duration `yaml:"idle"`
}

// maxLongPoll bounds the wait of GET /v1/notices (notices.Service.ServeInbox).
const maxLongPoll = 5 * time.Minute

func (c TimeoutsConfig) withDefaults() TimeoutsConfig {
	c.ReadHeader = or(c.ReadHeader, 10*time.Second)
	c.Read = or(c.Read, 60*time.Second)
	c.Write = or(c.Write, 60*time.Second)
	c.Idle = or(c.Idle, 60*time.Second)
	return c
}

// server returns the HTTP server for h with these timeouts.
func (c TimeoutsConfig) server(h http.Handler) *http.Server {
	c = c.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeader,
		ReadTimeout:       c.Read,
		WriteTimeout:      maxLongPoll + c.Write,
		IdleTimeout:       c.Idle,
		MaxHeaderBytes:    64 << 10,
	}
}

// withDeadlines sets each request's write deadline (see TimeoutsConfig). A
// transport that cannot set one (ErrNotSupported) keeps the server-wide one.
func (c TimeoutsConfig) withDeadlines(h http.Handler) http.Handler {
	c = c.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := c.Write
		if p := path.Clean(r.URL.Path); r.Method == http.MethodGet && (p == "/v1/notices" || p == "/v1/changes") {
			if wait, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && wait > 0 {
				d += min(wait, maxLongPoll)
			}
		}
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// RateLimitConfig is the `rate_limit:` section of a replica's config
// (Config.RateLimit): how fast one client may call the API (package limits
// owns the buckets; defaults and meaning on limits.RateConfig).
type RateLimitConfig = limits.RateConfig

// Default rates of RateLimitConfig, requests per second.
const (
	DefaultRatePerSecond       = limits.DefaultRatePerSecond
	DefaultPublicRatePerSecond = limits.DefaultPublicRatePerSecond
	DefaultTilesRatePerSecond  = limits.DefaultTilesRatePerSecond
)

// RateLimit wraps h with per-client token buckets (see RateLimitConfig; zero
// fields take their defaults). A request over its client's budget gets 429
// Too Many Requests with a Retry-After header (whole seconds) and a JSON
// error body, and h never sees it.
func RateLimit(h http.Handler, c RateLimitConfig) http.Handler {
	return limits.NewLimiter(c, time.Now).Wrap(h, refuseRate)
}

// refuseRate is the limiter's 429 in the API's error body.
func refuseRate(w http.ResponseWriter, msg string) {
	writeErr(w, errorf(http.StatusTooManyRequests, "%s", msg))
}
