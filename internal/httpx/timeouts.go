package httpx

import (
	"context"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/creditx/creditx/pki"
)

// Timeouts is the `timeouts:` section of a replica's config
// (node.Config.Timeouts): how long one HTTP request may hold a connection
// (issue 11 item 7). A zero field takes its default.
//
//	timeouts:
//	  read_header: 10s   # the request line and headers
//	  read: 60s          # the whole request, body included
//	  write: 60s         # writing the answer, from the start of the handler (per-route deadline)
//	  idle: 60s          # a keep-alive connection between requests
//
// Every route gets a write deadline of `write` when its handler starts,
// except the long polls (GET /v1/notices and /v1/changes ?wait=D, D <= 5m, and
// the exchange's checkpoint long-polls, writeDeadline), whose deadline is D + `write`. A client that stops reading (a full TCP window)
// therefore holds its connection at most that long: the blocked write fails
// and the server closes the connection. The HTTP server's own WriteTimeout
// is a backstop of 5m + `write` (the longest long poll); HTTP/2 streams get
// the same per-route deadline through http.ResponseController. 60s is far
// above what any answer takes (a full entry bundle is at most 16 MiB, a
// second on a slow link) and far below what lets idle attackers pile up.
type Timeouts struct {
	ReadHeader time.Duration `yaml:"read_header"`
	Read       time.Duration `yaml:"read"`
	Write      time.Duration `yaml:"write"`
	Idle       time.Duration `yaml:"idle"`
}

// MaxLongPoll bounds the wait of the long polls (GET /v1/notices and
// /v1/changes ?wait=).
const MaxLongPoll = 5 * time.Minute

// WithDefaults fills the zero fields with their defaults.
func (c Timeouts) WithDefaults() Timeouts {
	c.ReadHeader = or(c.ReadHeader, 10*time.Second)
	c.Read = or(c.Read, 60*time.Second)
	c.Write = or(c.Write, 60*time.Second)
	c.Idle = or(c.Idle, 60*time.Second)
	return c
}

func or(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// Server returns the HTTP server for h with these timeouts. Each
// connection carries an identity slot (pki.WithConnIdentity), so
// pki.IdentityFromRequest parses a client certificate once per connection.
func (c Timeouts) Server(h http.Handler) *http.Server {
	c = c.WithDefaults()
	return &http.Server{
		Handler:           h,
		ConnContext:       func(ctx context.Context, _ net.Conn) context.Context { return pki.WithConnIdentity(ctx) },
		ReadHeaderTimeout: c.ReadHeader,
		ReadTimeout:       c.Read,
		WriteTimeout:      MaxLongPoll + c.Write,
		IdleTimeout:       c.Idle,
		MaxHeaderBytes:    64 << 10,
	}
}

// WithDeadlines sets each request's write deadline (see Timeouts). A
// transport that cannot set one (ErrNotSupported) keeps the server-wide one.
func (c Timeouts) WithDeadlines(h http.Handler) http.Handler {
	c = c.WithDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.writeDeadline(r)))
		h.ServeHTTP(w, r)
	})
}

// writeDeadline is how long after its handler starts r's answer may be
// written: c.Write, plus the wait of a long poll (at most MaxLongPoll).
// The long polls are GET /v1/notices and /v1/changes ?wait=D, and a
// member's checkpoint long-poll, GET /ledger/<code>/checkpoint and
// /loop/<code>/checkpoint ?after=N&wait=D (exchange, held up to
// exchange.MaxCheckpointWait: with a wait over c.Write the answer would be
// written past its deadline and lost).
func (c Timeouts) writeDeadline(r *http.Request) time.Duration {
	if r.Method != http.MethodGet {
		return c.Write
	}
	// The query is parsed only for a long poll's path: every other GET
	// (a subject check among them) pays for the path alone.
	p := path.Clean(r.URL.Path)
	checkpoint := path.Base(p) == "checkpoint" && (strings.HasPrefix(p, "/ledger/") || strings.HasPrefix(p, "/loop/"))
	if p != "/v1/notices" && p != "/v1/changes" && !checkpoint {
		return c.Write
	}
	q := r.URL.Query()
	if checkpoint && !q.Has("after") {
		return c.Write
	}
	if wait, err := time.ParseDuration(q.Get("wait")); err == nil && wait > 0 {
		return c.Write + min(wait, MaxLongPoll)
	}
	return c.Write
}

// RefuseRate is the rate limiter's 429 (limits.Limiter.Wrap) in the API's
// error body.
func RefuseRate(w http.ResponseWriter, msg string) {
	WriteErr(w, Errorf(http.StatusTooManyRequests, "%s", msg))
}
