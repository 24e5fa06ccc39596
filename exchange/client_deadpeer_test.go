package exchange

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/testpki"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// blackhole relays UDP datagrams between one client and addr until dead is
// set; from then on it drops everything both ways, as a peer whose machine
// died or was cut off (no CONNECTION_CLOSE, no ICMP).
type blackhole struct {
	front, back net.PacketConn
	dead        atomic.Bool
	mu          sync.Mutex
	client      net.Addr
}

func newBlackhole(t *testing.T, addr net.Addr) *blackhole {
	t.Helper()
	front, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{front: front, back: back}
	t.Cleanup(func() { front.Close(); back.Close() })
	go func() { // client -> server
		buf := make([]byte, 64<<10)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			b.mu.Lock()
			b.client = from
			b.mu.Unlock()
			if !b.dead.Load() {
				back.WriteTo(buf[:n], addr)
			}
		}
	}()
	go func() { // server -> client
		buf := make([]byte, 64<<10)
		for {
			n, _, err := back.ReadFrom(buf)
			if err != nil {
				return
			}
			b.mu.Lock()
			to := b.client
			b.mu.Unlock()
			if to != nil && !b.dead.Load() {
				front.WriteTo(buf[:n], to)
			}
		}
	}()
	return b
}

// TestDeadPeerEndsAParkedLongPoll: a long-poll parked on a member that
// dies (nothing comes back, no close) fails by the QUIC keep-alive and
// idle timeout, not by its own deadline (the wait, up to
// MaxCheckpointWait, plus RequestTimeout), and the connection is
// discarded, so the watcher's next request dials afresh; on a live member
// the keep-alive holds it past the idle timeout. Since quiet
// long-polls are renewed every QuietRound instead of every 25 s, these
// timers are what notice a dead peer under one (client.go; issue 20). The
// timers are shortened here; the production ones notice within
// quicKeepAlive + quicIdleTimeout of the last answer
// (TestDeadPeerBoundUnchanged).
func TestDeadPeerEndsAParkedLongPoll(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	parked := make(chan struct{}, 1)
	srv := &http3.Server{TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{testpki.ServerCert(t)}}),
		QUICConfig: &quic.Config{MaxIdleTimeout: time.Minute},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/checkpoint") {
				_, wait, _ := parseLongPoll(r.URL.Query())
				parked <- struct{}{}
				select { // held for the wait, as a member with nothing new
				case <-r.Context().Done():
				case <-time.After(wait):
					w.Write([]byte("x\n1\n\n"))
				}
				return
			}
			w.Write([]byte("ok\n"))
		})}
	go srv.Serve(udp)
	t.Cleanup(func() { srv.Close(); udp.Close() })
	bh := newBlackhole(t, udp.LocalAddr())

	mb := &Member{Code: "310000", Endpoint: "https://" + bh.front.LocalAddr().String()}
	c := &Client{mb: mb, cfg: &tls.Config{InsecureSkipVerify: true}, keepAlive: 100 * time.Millisecond, idleTimeout: time.Second}
	c.tr, c.hc = c.newTransport()
	defer c.Close()
	ctx := context.Background()
	if _, _, err := c.do(ctx, http.MethodGet, "/ping", nil); err != nil {
		t.Fatal(err)
	}

	// A live member holding a long-poll for three idle timeouts: the
	// keep-alive keeps the connection, and the answer comes.
	if _, err := c.CheckpointAfter(ctx, 1, 3*time.Second); err != nil {
		t.Fatalf("long-poll held 3 s on a live member (idle timeout 1 s): %v", err)
	}
	<-parked

	done := make(chan error, 1)
	go func() {
		_, err := c.CheckpointAfter(ctx, 1, MaxCheckpointWait)
		done <- err
	}()
	<-parked
	bh.dead.Store(true)
	err = <-done
	var idle *quic.IdleTimeoutError
	if !errors.As(err, &idle) {
		t.Fatalf("parked long-poll on a dead member ended with %v, want a QUIC idle timeout", err)
	}
	if n := c.Redials(); n != 1 {
		t.Errorf("%d redials after the dead connection, want 1 (the next request dials afresh)", n)
	}
}

// TestDeadPeerBoundUnchanged: with the production timers a dead peer under
// a parked long-poll is noticed no later than the long-poll's own deadline
// noticed it when quiet long-polls were renewed every 25 s
// (CheckpointWaitFresh + RequestTimeout, 35 s): quic-go pings after
// min(keep-alive, idle timeout / 2) without a packet and closes the
// connection an idle timeout after that unanswered ping.
func TestDeadPeerBoundUnchanged(t *testing.T) {
	c := &Client{mb: &Member{Code: "310000"}}
	tr, _ := c.newTransport()
	q := tr.QUICConfig
	ping := min(q.KeepAlivePeriod, q.MaxIdleTimeout/2)
	if ping <= 0 {
		t.Fatalf("no keep-alive (%v): a parked long-poll would be cut by the idle timeout %v", q.KeepAlivePeriod, q.MaxIdleTimeout)
	}
	if bound := ping + q.MaxIdleTimeout; bound > CheckpointWaitFresh+RequestTimeout {
		t.Errorf("a dead peer is noticed up to %v after its last packet, more than the %v of a 25 s long-poll's deadline", bound, CheckpointWaitFresh+RequestTimeout)
	}
	if q.MaxIdleTimeout >= QuietRound {
		t.Errorf("idle timeout %v is not below a quiet round %v: the keep-alive is what keeps a parked long-poll's connection", q.MaxIdleTimeout, QuietRound)
	}
}
