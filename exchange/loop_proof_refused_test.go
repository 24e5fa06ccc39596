package exchange

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/testpki"
	"github.com/creditx/creditx/ledger"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/tlog"
)

// TestRefusedServedProofShown: a member whose node serves its loop
// long-poll answers with consistency proofs that do not verify, over real
// HTTP/3, is still followed (the proof is built from its hash tiles and
// the followed checkpoint stored), and the refusal is not silent: counted
// in Work.RefusedProofs and in that member's LoopStatus (count, last
// reason and time), logged at Warn once for a run of refusals, not per
// answer, and again after a good proof was used in between.
func TestRefusedServedProofShown(t *testing.T) {
	f := newLoopFixture(t)
	h := newFakeHost(t)
	h.leader = true
	mb, _ := f.m.Member("310000")
	h.peers[f.origin] = mb.LoopVerifier() // for OpFollow's apply
	var logs bytes.Buffer
	x, err := NewOffline(f.m, "330000", h, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	x.cfg.LoopSigner = testLoopSigner(t) // follows the other members' loop logs

	// 310000's node: the tree of 30 leaves (the sizes served are prefixes)
	// at /loop/310000/tile/..., and at /loop/310000/checkpoint the
	// checkpoint of size serving, with a proof from after= that verifies
	// only while good is set.
	_, hr := testTree(t, 30)
	var serving atomic.Uint64
	var good atomic.Bool
	srv := &http3.Server{TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{testpki.ServerCert(t)}}),
		QUICConfig: &quic.Config{MaxIdleTimeout: time.Minute},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rest, ok := strings.CutPrefix(r.URL.Path, "/loop/310000/")
			switch {
			case ok && rest == "checkpoint":
				size := serving.Load()
				root, err := tlog.TreeHash(int64(size), hr)
				if err != nil {
					t.Error(err)
				}
				after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
				if after == 0 || r.URL.Query().Get("proof") != "1" {
					w.Write(f.witnessed(t, size, root)) // no proof to give
					return
				}
				p, err := tlog.ProveTree(int64(size), int64(after), hr)
				if err != nil {
					t.Error(err)
				}
				if !good.Load() {
					p[0][0] ^= 1
				}
				w.Header().Set("Content-Type", LoopProofContentType)
				w.Write(AddCheckpoint{OldSize: after, Proof: p, Checkpoint: f.witnessed(t, size, root)}.Encode())
			case ok && strings.HasPrefix(rest, "tile/"):
				tile, err := tlog.ParseTilePath("tile/" + strconv.Itoa(ledger.TileHeight) + "/" + strings.TrimPrefix(rest, "tile/"))
				if err != nil {
					http.NotFound(w, r)
					return
				}
				b, err := tlog.ReadTileData(tile, hr)
				if err != nil {
					http.NotFound(w, r)
					return
				}
				w.Write(b)
			default:
				http.NotFound(w, r)
			}
		})}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(udp)
	t.Cleanup(func() { srv.Close(); udp.Close() })
	c := &Client{mb: &Member{Code: "310000", Endpoint: "https://" + udp.LocalAddr().String()}, cfg: &tls.Config{InsecureSkipVerify: true}}
	c.tr, c.hc = c.newTransport()
	defer c.Close()

	ctx := context.Background()
	held := func() uint64 {
		t.Helper()
		if err := x.flushFollows(ctx); err != nil {
			t.Fatal(err)
		}
		var fl Followed
		if err := h.View(func(tx *ledger.ReadTx) (err error) { fl, err = ReadFollowed(tx, f.origin); return err }); err != nil {
			t.Fatal(err)
		}
		return fl.Size
	}
	// follow takes 310000's answer to a long-poll from the followed size,
	// as followLoop does, and follows it.
	follow := func(size uint64) {
		t.Helper()
		serving.Store(size)
		b, sp, err := c.loopCheckpointAfter(ctx, held(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.followServed(ctx, mb, c, b, sp); err != nil {
			t.Fatalf("following size %d: %v", size, err)
		}
		if got := held(); got != size {
			t.Fatalf("followed size %d, want %d", got, size)
		}
	}
	status := func() LoopStatus { return loopStatusOf(t, x, "310000") }
	warns := func() int { return strings.Count(logs.String(), "level=WARN") }

	follow(5) // the first: no proof asked
	start := time.Now()
	follow(12)
	follow(20)
	w := x.Work()
	if w.RefusedProofs != 2 || w.ServedProofs != 0 || w.FollowProofs != 2 {
		t.Errorf("two bad proofs served: refused %d, used %d, built from tiles %d; want 2, 0, 2", w.RefusedProofs, w.ServedProofs, w.FollowProofs)
	}
	ls := status()
	if ls.ProofsRefused != 2 || !strings.Contains(ls.ProofRefused, "12 -> 20") || ls.ProofRefusedAt.Before(start) {
		t.Errorf("status after two bad proofs: %d refused, last %q at %v; want 2, the proof 12 -> 20, after %v", ls.ProofsRefused, ls.ProofRefused, ls.ProofRefusedAt, start)
	}
	if n := warns(); n != 1 {
		t.Errorf("%d warnings for a run of two refused proofs, want 1:\n%s", n, logs.String())
	}

	good.Store(true)
	follow(25)
	good.Store(false)
	follow(30)
	if w := x.Work(); w.RefusedProofs != 3 || w.ServedProofs != 1 {
		t.Errorf("after a good proof and a bad one: refused %d, used %d; want 3, 1", w.RefusedProofs, w.ServedProofs)
	}
	if ls := status(); ls.ProofsRefused != 3 || !strings.Contains(ls.ProofRefused, "25 -> 30") {
		t.Errorf("status: %d refused, last %q; want 3, the proof 25 -> 30", ls.ProofsRefused, ls.ProofRefused)
	}
	if n := warns(); n != 2 {
		t.Errorf("%d warnings, want 2 (a bad proof after a good one warns again):\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "exchange alert") {
		t.Errorf("bad proofs alone raised an alert:\n%s", logs.String())
	}
}
