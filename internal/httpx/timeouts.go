package httpx

import (
	"context"
	"net"
	"net/http"
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
// Every route gets a write deadline of `write` when its handler starts
// (WithDeadlines). A long poll's handler moves its own to D + `write` once
// it knows its wait D, before it holds the request (Hold): GET /v1/notices
// and /v1/changes ?wait=D (D <= 5m), the exchange's checkpoint long-polls
// (?after=N&wait=D, D <= 3m) and a witnessed submission's wait. A client
// that stops reading (a full TCP window or QUIC flow-control window)
// therefore holds its connection at most that long: the blocked write
// fails and the server closes the connection or resets the stream. The
// HTTP server's own WriteTimeout is a backstop of 5m + `write` (the
// longest long poll). Both deadlines are set through
// http.ResponseController, which reaches every transport the API serves:
// HTTP/1.1 (the connection's deadline), HTTP/2 (the stream's: net/http
// resets a stream whose deadline passes, even while its handler writes
// nothing, so a hold must be announced before it starts) and HTTP/3
// (quic-go v0.65.0's http3 response writer has SetWriteDeadline, its
// stream's: writes after it fail). TestHoldDeliversPastWrite holds an
// answer past `write` over HTTP/2 and HTTP/3. 60s is far above what any
// answer takes (a full entry bundle is at most 16 MiB, a second on a slow
// link) and far below what lets idle attackers pile up.
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

// WithDeadlines sets each request's write deadline to c.Write from the
// start of its handler (see Timeouts). A transport that cannot set one
// (ErrNotSupported) keeps the server-wide one.
func (c Timeouts) WithDeadlines(h http.Handler) http.Handler {
	c = c.WithDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.Write))
		h.ServeHTTP(w, r)
	})
}

// Hold moves w's write deadline to wait + c.Write from now (wait at most
// MaxLongPoll): a long poll's handler calls it once it knows its wait,
// before it holds the request (see Timeouts; with the deadline of
// WithDeadlines alone a hold over c.Write would lose its answer). A
// transport that cannot set one keeps its own.
func (c Timeouts) Hold(w http.ResponseWriter, wait time.Duration) {
	c = c.WithDefaults()
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.Write + min(max(wait, 0), MaxLongPoll)))
}

// RefuseRate is the rate limiter's 429 (limits.Limiter.Wrap) in the API's
// error body.
func RefuseRate(w http.ResponseWriter, msg string) {
	WriteErr(w, Errorf(http.StatusTooManyRequests, "%s", msg))
}
