package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/limits"
)

// TimeoutsConfig is the `timeouts:` section of a replica's config
// (Config.Timeouts): how long one HTTP request may hold a connection
// (defaults and meaning on httpx.Timeouts).
type TimeoutsConfig httpx.Timeouts

// server returns the HTTP server for h with these timeouts.
func (c TimeoutsConfig) server(h http.Handler) *http.Server { return httpx.Timeouts(c).Server(h) }

// withDeadlines sets each request's write deadline (httpx.Timeouts.WithDeadlines).
func (c TimeoutsConfig) withDeadlines(h http.Handler) http.Handler {
	return httpx.Timeouts(c).WithDeadlines(h)
}

// holdWrite is a long poll's hold hook (exchange.Runtime.WaitCheckpoint):
// it moves w's write deadline to the wait + write (httpx.Timeouts.Hold).
func (n *Node) holdWrite(w http.ResponseWriter) func(wait time.Duration) {
	return func(wait time.Duration) { httpx.Timeouts(n.cfg.Timeouts).Hold(w, wait) }
}

// maxLongPoll bounds the wait of GET /v1/changes (and, in
// notices.Service.ServeInbox, of GET /v1/notices).
const maxLongPoll = httpx.MaxLongPoll

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
	return limits.NewLimiter(c, time.Now).Wrap(h, httpx.RefuseRate)
}
