package notices

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

const testIssuer = "12330000000007771X"

// fakeHost is a Host over a real ledger.Store that records commits instead
// of proposing them.
type fakeHost struct {
	s      *ledger.Store
	eng    *sanctions.Engine
	leader atomic.Bool

	mu      sync.Mutex
	commits [][][]byte
}

func (h *fakeHost) View(fn func(tx *ledger.ReadTx) error) error { return h.s.View(fn) }
func (h *fakeHost) IsLeader() bool                              { return h.leader.Load() }
func (h *fakeHost) Commit(_ context.Context, origin string, entries [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commits = append(h.commits, append([][]byte(nil), entries...))
	return nil
}
func (h *fakeHost) Calendar(*ledger.ReadTx) *workdays.Calendar                { return h.eng.Calendar() }
func (h *fakeHost) EngineIn(*ledger.ReadTx) *sanctions.Engine                 { return h.eng }
func (h *fakeHost) QueuedEngine([]byte) *sanctions.Engine                     { return h.eng }
func (h *fakeHost) Referencing(*ledger.ReadTx, string, uint64) []api.EventRef { return nil }
func (h *fakeHost) History(_ *ledger.ReadTx, o string, i uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	return sanctions.ListingHistory{}, nil
}

func (h *fakeHost) committed() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for _, c := range h.commits {
		out = append(out, c...)
	}
	return out
}

// issuerFixture is a store holding one own environment listing queued for
// notices, an engine with Zhejiang's agencies and the issuer's key.
func issuerFixture(t *testing.T) (*fakeHost, *client.Credentials, schemas.Ref, *schemas.Listing, time.Time) {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../sanctions/testdata/agencies-330000.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ag, err := sanctions.LoadAgencies(f)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: ag, Region: "330000", Issuer: testIssuer})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l, err := synth.Listing(1, synth.Options{Region: "330000", Domain: "environment", Now: at,
		Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 9)}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, key)
	if err != nil {
		t.Fatal(err)
	}
	origin := schemas.LedgerOrigin("330000")
	qv, err := adopted.QueueValue(nil, at)
	if err != nil {
		t.Fatal(err)
	}
	var index uint64
	if err := s.Update(func(tx *ledger.Tx) error {
		if index, err = tx.Append(origin, [][]byte{e}); err != nil {
			return err
		}
		q, err := tx.Bucket(BucketNoticeQueue)
		if err != nil {
			return err
		}
		return q.Put(exchange.EntryKey(origin, index), qv)
	}); err != nil {
		t.Fatal(err)
	}
	h := tlog.RecordHash(e)
	signer := &client.Credentials{Dir: "test", SignKey: key}
	signer.Identity.ID = testIssuer
	return &fakeHost{s: s, eng: eng}, signer, schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, l, at
}

// TestIssuerLeaderOnlyAndDeterministic: a follower issues nothing; the
// leader issues exactly the engine's notices for the listing at the raft
// time it was queued, into the notice log; another leader (after a crash
// or a leader change, the queue still holding the listing) issues the very
// same bytes, which the ledger deduplicates.
func TestIssuerLeaderOnlyAndDeterministic(t *testing.T) {
	host, signer, ref, l, at := issuerFixture(t)
	logs := Logs{Ledger: ref.Origin}
	run := func(s *Service) {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		if err := s.Run(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Run: %v", err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	run(New(host, signer, logs, &Waker{}, log))
	if got := host.committed(); len(got) != 0 {
		t.Fatalf("a follower committed %d entries", len(got))
	}
	host.leader.Store(true)
	run(New(host, nil, logs, &Waker{}, log))
	if got := host.committed(); len(got) != 0 {
		t.Fatalf("a leader without a signer committed %d entries", len(got))
	}

	first := New(host, signer, logs, &Waker{}, log)
	if n, err := first.issue(context.Background()); err != nil || n != 1 {
		t.Fatalf("issue: %d listings, %v", n, err)
	}
	ns, err := host.eng.NoticesFor(l, ref, at)
	if err != nil || len(ns) == 0 {
		t.Fatalf("engine: %d notices, %v", len(ns), err)
	}
	got := host.committed()
	if len(got) != len(ns) {
		t.Fatalf("issued %d entries, the engine computes %d notices", len(got), len(ns))
	}
	for i, nt := range ns {
		want, err := signer.Sign(nt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], want) {
			t.Fatalf("notice %d differs from the engine's", i)
		}
	}
	// The FSM has not indexed the notices yet (the queue still holds the
	// listing): a new leader issues the same bytes again.
	if n, err := New(host, signer, logs, &Waker{}, log).issue(context.Background()); err != nil || n != 1 {
		t.Fatalf("second leader: %d listings, %v", n, err)
	}
	again := host.committed()[len(got):]
	for i := range got {
		if !bytes.Equal(got[i], again[i]) {
			t.Fatalf("the second leader's notice %d differs: not deduplicated by the ledger", i)
		}
	}
}

// TestIssuerSkipsNonListings: a queued entry that is not a listing is
// skipped (once, leader-local) and nothing is committed.
func TestIssuerSkipsNonListings(t *testing.T) {
	host, signer, ref, _, at := issuerFixture(t)
	qv, _ := adopted.QueueValue(nil, at)
	if err := host.s.Update(func(tx *ledger.Tx) error {
		i, err := tx.Append(ref.Origin, [][]byte{[]byte("not a record")})
		if err != nil {
			return err
		}
		q, err := tx.Bucket(BucketNoticeQueue)
		if err != nil {
			return err
		}
		if err := q.Delete(exchange.EntryKey(ref.Origin, ref.Index)); err != nil {
			return err
		}
		return q.Put(exchange.EntryKey(ref.Origin, i), qv)
	}); err != nil {
		t.Fatal(err)
	}
	s := New(host, signer, Logs{Ledger: ref.Origin}, &Waker{}, slog.New(slog.DiscardHandler))
	for range 2 {
		if n, err := s.issue(context.Background()); err != nil || n != 0 {
			t.Fatalf("issue: %d listings, %v", n, err)
		}
	}
	if got := host.committed(); len(got) != 0 {
		t.Fatalf("committed %d entries for a non-listing", len(got))
	}
}

// TestIssuerWritesToTheLoopLog: with the loop log on, notices are
// committed to it.
func TestIssuerWritesToTheLoopLog(t *testing.T) {
	host, signer, ref, _, _ := issuerFixture(t)
	var origins []string
	ch := &originHost{fakeHost: host, origins: &origins}
	logs := Logs{Ledger: ref.Origin, Loop: schemas.LoopOrigin("330000")}
	if _, err := New(ch, signer, logs, &Waker{}, slog.New(slog.DiscardHandler)).issue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(origins) == 0 || origins[0] != logs.Loop {
		t.Fatalf("committed to %v, want %s", origins, logs.Loop)
	}
}

type originHost struct {
	*fakeHost
	origins *[]string
}

func (h *originHost) Commit(ctx context.Context, origin string, entries [][]byte) error {
	*h.origins = append(*h.origins, origin)
	return h.fakeHost.Commit(ctx, origin, entries)
}

// dequeuingHost is fakeHost whose commits dequeue the listing they answer,
// as the FSM does when it indexes the first own notice on it, and count.
type dequeuingHost struct {
	*fakeHost
	key     []byte
	views   atomic.Int64
	commits chan struct{}
}

func (h *dequeuingHost) View(fn func(tx *ledger.ReadTx) error) error {
	h.views.Add(1)
	return h.fakeHost.View(fn)
}

func (h *dequeuingHost) Commit(ctx context.Context, origin string, entries [][]byte) error {
	if err := h.fakeHost.Commit(ctx, origin, entries); err != nil {
		return err
	}
	err := h.s.Update(func(tx *ledger.Tx) error {
		q, err := tx.Bucket(BucketNoticeQueue)
		if err != nil {
			return err
		}
		return q.Delete(h.key)
	})
	h.commits <- struct{}{}
	return err
}

// TestIssuerSleepsUntilApplied: the leader's issuer reads an empty queue
// once and then sleeps: no read until just before its safety look (an
// hour here; it used to read every 200 ms, issue 20's idle CPU), until the
// Waker (every FSM apply) wakes it; a listing queued meanwhile is then
// issued. Time is synctest's: the issuer's clock advances only when every
// goroutine of the test is blocked, so each count is exact, not a hope
// that a real sleep was long enough.
func TestIssuerSleepsUntilApplied(t *testing.T) {
	fh, signer, ref, _, at := issuerFixture(t)
	key := exchange.EntryKey(ref.Origin, ref.Index)
	queue := func(t *testing.T, put bool) {
		t.Helper()
		qv, _ := adopted.QueueValue(nil, at)
		if err := fh.s.Update(func(tx *ledger.Tx) error {
			q, err := tx.Bucket(BucketNoticeQueue)
			if err != nil {
				return err
			}
			if put {
				return q.Put(key, qv)
			}
			return q.Delete(key)
		}); err != nil {
			t.Fatal(err)
		}
	}
	queue(t, false)
	fh.leader.Store(true)
	synctest.Test(t, func(t *testing.T) {
		h := &dequeuingHost{fakeHost: fh, key: key, commits: make(chan struct{}, 16)}
		w := &Waker{}
		s := New(h, signer, Logs{Ledger: ref.Origin}, w, slog.New(slog.DiscardHandler))
		s.idleCheck = time.Hour
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()

		synctest.Wait() // the issuer has read its queue and parked
		if n := h.views.Load(); n != 1 {
			t.Fatalf("the issuer read its queue %d times before parking, want 1", n)
		}
		time.Sleep(s.idleCheck - issueGap) // thousands of gaps, short of the safety look
		synctest.Wait()
		if n := h.views.Load(); n != 1 {
			t.Fatalf("an idle issuer read its queue %d times in %v without an apply, want 1", n, s.idleCheck-issueGap)
		}
		queue(t, true)
		w.Notify()
		synctest.Wait() // woken, issued, parked again
		select {
		case <-h.commits:
		default:
			t.Fatal("a listing queued and applied was not issued when the Waker woke the issuer")
		}
		if got := fh.committed(); len(got) == 0 {
			t.Fatal("nothing committed")
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	})
}
