package exchange

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Client calls one member's node over HTTP/3 (QUIC) with mutual TLS: it
// presents this member's certificate (role member) and accepts only a server
// certificate that chains to that member's region CA and carries an identity
// of that member's region.
//
// A request that fails below HTTP (timeout, connection lost) discards the
// QUIC connections, so the next request dials afresh: a member endpoint is
// usually a name over several replicas, and a connection to a replica that
// died or was cut off would otherwise stall every request until QUIC's idle
// timeout noticed. Every request has a deadline of its own (RequestTimeout;
// a long-poll its wait plus RequestTimeout), so a dead connection is
// noticed by the first request that meets it within RequestTimeout. A
// parked long-poll (held up to MaxCheckpointWait) is ended on a dead peer
// by QUIC's keep-alive and idle timeout (quicKeepAlive, quicIdleTimeout:
// 25-35 s after the peer's last answer).
type Client struct {
	mb  *Member
	cfg *tls.Config
	log *slog.Logger

	// dial, if set, dials every QUIC connection (a shared quic.Transport:
	// one UDP socket for all of a member's clients); nil, http3's own
	// socket per transport. Fixed at construction.
	dial func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error)
	// keepAlive and idleTimeout, if set, replace quicKeepAlive and
	// quicIdleTimeout (tests shorten them). Fixed at construction.
	keepAlive, idleTimeout time.Duration
	// answers reads the answers (doWithin); set by the Runtime to its
	// own, shared by its clients, right after construction; nil keeps
	// no buffers or gzip readers across requests.
	answers *answerReaders

	mu sync.Mutex
	tr *http3.Transport
	hc *http.Client
	// answeredTr and answeredAt: the transport that last brought an
	// answer, and when (alive, doWithin).
	answeredTr *http3.Transport
	answeredAt time.Time

	sent, received atomic.Uint64 // HTTP/3 body bytes, for Traffic
	redials        atomic.Uint64 // transports discarded after a failure (Redials)
	requests       atomic.Uint64 // requests made (Runtime.Work)
}

// Redials is how many times this client discarded its transport after a
// request failed below HTTP (each a fresh QUIC connection and TLS
// handshake on the next request).
func (c *Client) Redials() uint64 { return c.redials.Load() }

// Traffic is the HTTP/3 body bytes this client sent and received so far
// (tiles, entry bundles, checkpoints, cosignatures). QUIC and TLS framing
// and HTTP/3 headers add to it on the wire.
func (c *Client) Traffic() (sent, received uint64) {
	return c.sent.Load(), c.received.Load()
}

// NewClient returns a client for mb; own is this member's certificate.
// Each such client has a UDP socket of its own; NewClientOn shares one.
func NewClient(mb *Member, own tls.Certificate, logger *slog.Logger) *Client {
	return NewClientOn(mb, own, logger, nil)
}

// NewClientOn is NewClient dialing over qt (nil: a socket of its own). A
// member passes the quic.Transport of its HTTP/3 server to every client, so
// it has one UDP socket whatever the number of members (issue 20: one
// socket per peer was N^2 sockets in a process running N members). The
// caller closes qt after closing the clients; Close does not.
func NewClientOn(mb *Member, own tls.Certificate, logger *slog.Logger, qt *quic.Transport) *Client {
	roots := x509.NewCertPool()
	roots.AddCert(mb.caCert)
	cfg := pki.ClientConfig(own, roots, "")
	cfg.NextProtos = []string{http3.NextProtoH3}
	code := mb.Code
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("exchange: server sent no certificate")
		}
		id, err := pki.IdentityFromCert(cs.PeerCertificates[0])
		if err != nil {
			return err
		}
		if id.Region != code {
			return fmt.Errorf("exchange: server identity is of region %s, want member %s", id.Region, code)
		}
		return nil
	}
	c := &Client{mb: mb, cfg: cfg, log: logger}
	if qt != nil {
		c.dial = func(ctx context.Context, addr string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return qt.DialEarly(ctx, ua, tlsCfg, qc)
		}
	}
	c.tr, c.hc = c.newTransport()
	return c
}

// RequestTimeout bounds every request of a Client but a long-poll, whose
// bound is its wait plus RequestTimeout (CheckpointAfter): an answer, or a
// failure and a fresh dial, within this long.
const RequestTimeout = 10 * time.Second

// QUIC timers of the exchange's connections (issue 20: idle CPU). A
// connection with nothing heard for quicIdleTimeout is closed (the server
// side sets the same, and the smaller of the two applies); the client pings
// one that heard nothing for quicKeepAlive. These two, not the long-polls,
// notice a dead peer under a parked long-poll: the ping goes unanswered and
// the connection is closed quicIdleTimeout after it, i.e. 25-35 s after the
// peer last answered; the parked long-polls fail with it, and their loops
// redial. (Before, each long-poll was renewed every 25 s and its deadline,
// wait + RequestTimeout, noticed a dead peer 10-35 s after its last answer;
// the keep-alive was 20 s and the idle timeout 60 s. At 45 members the 158
// renewals a second were most of the idle CPU; a ping and its
// acknowledgement cost no request, handler, storage read or allocation
// behind them: MaxCheckpointWait.) With keep-alives every 3 s and a 10 s
// idle timeout, the N(N-1) connections of N members sent ~N^2/3 pings a
// second (~660 at N = 45) and their acknowledgements; every 10 s they send
// at most ~N^2/10 (~200).
//
// quicHandshakeTimeout is QUIC's handshake idle timeout (nothing heard
// for that long during the handshake); quic-go gives the whole handshake
// twice that, here RequestTimeout, the bound of the request that dials.
// At 3 s (6 s in all), a process short of CPU (45 members starting at once
// on 2 cores, beside other work) let handshake packets wait past it: the
// dial failed, the request redialled, and the handshake work done on both
// sides was thrown away and started again, which kept the process short of
// CPU (a run under load 6-14: 232,717 redials, 33% of the CPU in TLS
// handshakes, not converged in 400 s). A peer that is gone is still
// noticed by the request's deadline.
//
// h3IdleTimeout is the HTTP/3 server's: it closes a connection on which no
// request was open for that long (a member that stopped long-polling).
const (
	h3IdleTimeout        = time.Minute
	quicIdleTimeout      = 25 * time.Second
	quicKeepAlive        = 10 * time.Second
	quicHandshakeTimeout = RequestTimeout / 2
)

// newTransport returns a fresh HTTP/3 transport (quicKeepAlive,
// quicIdleTimeout). Requests are bounded by their context (do), not by the
// http.Client.
func (c *Client) newTransport() (*http3.Transport, *http.Client) {
	tr := &http3.Transport{TLSClientConfig: c.cfg, Logger: c.log,
		QUICConfig: &quic.Config{HandshakeIdleTimeout: quicHandshakeTimeout,
			MaxIdleTimeout: cmp.Or(c.idleTimeout, quicIdleTimeout), KeepAlivePeriod: cmp.Or(c.keepAlive, quicKeepAlive)},
		Dial: c.dial}
	return tr, &http.Client{Transport: tr}
}

// current is the transport requests use now.
func (c *Client) current() (*http3.Transport, *http.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr, c.hc
}

// redial replaces tr, if it is still the current transport, by a fresh one
// and closes it (its in-flight requests fail and are retried by their loops).
func (c *Client) redial(tr *http3.Transport) {
	c.mu.Lock()
	if c.tr != tr {
		c.mu.Unlock()
		return
	}
	c.tr, c.hc = c.newTransport()
	c.mu.Unlock()
	c.redials.Add(1)
	tr.Close()
}

// answered notes that tr brought an answer now.
func (c *Client) answered(tr *http3.Transport) {
	now := time.Now()
	c.mu.Lock()
	c.answeredTr, c.answeredAt = tr, now
	c.mu.Unlock()
}

// answeredSince says whether tr brought an answer after t (to another
// request: the connection is alive).
func (c *Client) answeredSince(tr *http3.Transport, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answeredTr == tr && c.answeredAt.After(t)
}

// Close releases the QUIC connections.
func (c *Client) Close() error {
	tr, _ := c.current()
	return tr.Close()
}

// Member is the member this client calls.
func (c *Client) Member() *Member { return c.mb }

// do makes one request bounded by RequestTimeout (doWithin).
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, []byte, error) {
	return c.doWithin(ctx, RequestTimeout, method, path, body)
}

// doWithin makes one request, its answer read in full (at most 4 MiB),
// within limit (and ctx). A failure below HTTP, the limit passing among
// them, discards the transport (redial) unless ctx itself was cancelled or
// another request on the same transport was answered meanwhile: the
// connection is alive, and the member was only slow (issue 20: in a
// 45-member process short of CPU, witness pushes over their 5 s bound
// redialled live connections by the thousand, each redial failing the
// long-polls parked on it and costing a QUIC and TLS handshake, which
// made the process shorter still of CPU).
func (c *Client) doWithin(ctx context.Context, limit time.Duration, method, path string, body []byte) (*http.Response, []byte, error) {
	c.requests.Add(1)
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, c.mb.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body == nil {
		req.Body = nil
	}
	// Asked for explicitly, a gzip answer is not decoded by HTTP/3's
	// transport but here, with a kept reader (answers.go).
	req.Header.Set("Accept-Encoding", "gzip")
	failed := func(tr *http3.Transport) {
		if (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)) && !c.answeredSince(tr, start) {
			c.redial(tr)
		}
	}
	tr, hc := c.current()
	resp, err := hc.Do(req)
	if err != nil {
		failed(tr)
		return nil, nil, fmt.Errorf("member %s: %s %s: %w", c.mb.Code, method, path, err)
	}
	defer resp.Body.Close()
	b, err := c.answers.read(resp.Body, resp.Header.Get("Content-Encoding") == "gzip", 4<<20)
	c.sent.Add(uint64(len(body)))
	c.received.Add(uint64(len(b)))
	if err != nil {
		failed(tr)
		return nil, nil, fmt.Errorf("member %s: %s %s: reading answer: %w", c.mb.Code, method, path, err)
	}
	c.answered(tr)
	return resp, b, nil
}

// AddCheckpoint submits a checkpoint to the member's witness and returns its
// cosignature line(s). A 409 answer is a *ConflictError with the size the
// witness last cosigned.
func (c *Client) AddCheckpoint(ctx context.Context, a AddCheckpoint) ([]byte, error) {
	resp, b, err := c.do(ctx, http.MethodPost, AddCheckpointPath, a.Encode())
	if err != nil {
		return nil, err
	}
	return addCheckpointAnswer("member "+c.mb.Code+" witness", resp, b)
}

// addCheckpointAnswer reads a tlog-witness add-checkpoint answer of witness
// who: 200, the cosignature lines; 409, a *ConflictError with the size the
// witness last cosigned; anything else, an error with its status and body.
func addCheckpointAnswer(who string, resp *http.Response, b []byte) ([]byte, error) {
	switch resp.StatusCode {
	case http.StatusOK:
		return b, nil
	case http.StatusConflict:
		n, err := strconv.ParseUint(strings.TrimSuffix(string(b), "\n"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: 409 with a malformed size %q", who, b)
		}
		return nil, &ConflictError{KnownSize: n}
	default:
		return nil, fmt.Errorf("%s answered %s: %s", who, resp.Status, bytes.TrimSpace(b))
	}
}

// Tiles reads the member's ledger through its tlog-tiles read API
// ("/ledger/<code>/...") over this client's connections, every request
// bounded by ctx. What it returns is unverified.
func (c *Client) Tiles(ctx context.Context) ledger.HTTPSource {
	return ledger.HTTPSource{Base: "/ledger/" + c.mb.Code, Ctx: ctx, Get: c.get}
}

// get is ledger.HTTPSource's Get over do: path is below the member's
// endpoint.
func (c *Client) get(ctx context.Context, path string) (int, []byte, error) {
	resp, b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// Checkpoint fetches the member's (witnessed, if it has one) checkpoint.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	b, err := c.Tiles(ctx).Checkpoint()
	if err != nil {
		return nil, fmt.Errorf("member %s checkpoint: %w", c.mb.Code, err)
	}
	return b, nil
}

// Entries fetches entries [start, end) of the member's ledger from its
// tlog-tiles entry bundles, end being at most the size of a checkpoint the
// caller holds. The caller verifies them (Frontier, EntryVerifier).
func (c *Client) Entries(ctx context.Context, start, end uint64) ([][]byte, error) {
	es, err := c.Tiles(ctx).Entries(start, end)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", c.mb.Code, err)
	}
	return es, nil
}

// WitnessClient submits checkpoints to a witness outside the consortium over
// plain HTTP(S) tlog-witness: no client certificate ("There is no
// authentication of requests beyond the validation of the signature on the
// checkpoint").
type WitnessClient struct {
	URL string       // the witness's submission prefix, no trailing slash
	HC  *http.Client // nil: a client with a 10 s timeout
}

// AddCheckpoint posts a to <URL>/add-checkpoint and returns the cosignature
// line(s). A 409 answer is a *ConflictError with the size the witness last
// cosigned; any other non-200 answer is an error with its status and body.
func (c *WitnessClient) AddCheckpoint(ctx context.Context, a AddCheckpoint) ([]byte, error) {
	hc := c.HC
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/add-checkpoint", bytes.NewReader(a.Encode()))
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("witness %s: reading answer: %w", c.URL, err)
	}
	return addCheckpointAnswer("witness "+c.URL, resp, b)
}
