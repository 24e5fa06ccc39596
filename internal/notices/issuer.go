package notices

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Host is what the notices need of the node: its store, its raft log and
// the reads of its index and adopted catalogues and calendar.
type Host interface {
	// View runs fn in a read transaction of the store.
	View(fn func(tx *ledger.ReadTx) error) error
	// Commit appends entries to origin through raft, waiting until applied.
	Commit(ctx context.Context, origin string, entries [][]byte) error
	// IsLeader says whether this replica is the raft leader now.
	IsLeader() bool
	// Calendar is the working-day calendar in force in tx.
	Calendar(tx *ledger.ReadTx) *workdays.Calendar
	// EngineIn is the engine of the catalogue and calendar in force in tx.
	EngineIn(tx *ledger.ReadTx) *sanctions.Engine
	// QueuedEngine is the engine of the catalogue a notice-queue value records.
	QueuedEngine(v []byte) *sanctions.Engine
	// History is the listing's history with every event of any log held.
	History(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing) (sanctions.ListingHistory, error)
	// Referencing lists the events that reference origin#index.
	Referencing(tx *ledger.ReadTx, origin string, index uint64) []api.EventRef
}

// Service issues and reads this member's notices.
type Service struct {
	host   Host
	signer *client.Credentials // nil: no notices are issued
	logs   Logs
	waker  *Waker
	logger *slog.Logger

	idleCheck time.Duration // if set, replaces issueIdleCheck (tests)

	mu      sync.Mutex      // guards skipped
	skipped map[string]bool // listings the engine declined (unknown programme); leader-local, made by skip
}

// New returns the notices service of a node. signer nil issues nothing;
// waker wakes the inbox's long polls. It is cheap: views may make one per
// read; the issuer keeps one for its leader-local state.
func New(host Host, signer *client.Credentials, logs Logs, waker *Waker, logger *slog.Logger) *Service {
	return &Service{host: host, signer: signer, logs: logs, waker: waker, logger: logger}
}

// Issuance wake-ups (issue 20: idle CPU). The leader looks at the notice
// queue when the FSM applied something (the Waker: a listing is queued only
// by an apply), at most once per issueGap while applies keep coming, and
// every issueIdleCheck without one (a safety net: a replica that just
// became leader, a listing skipped or failed earlier). A follower asks
// IsLeader every issueGap and reads nothing.
const (
	issueGap       = 200 * time.Millisecond
	issueIdleCheck = 5 * time.Second
)

// Run issues sanction notices, on the leader, for every indexed listing
// that has none from this member yet, until ctx ends. Each listing's
// notices are computed from the raft time at which it was indexed, so they
// are the same records whichever leader computes them, and a resubmission
// after a leader change is deduplicated by the ledger.
func (s *Service) Run(ctx context.Context) error {
	if s.signer == nil { // issues nothing
		<-ctx.Done()
		return ctx.Err()
	}
	var last time.Time // when the queue was last read
	for {
		var changed <-chan struct{} // nil: wait issueGap only
		wait := issueGap
		if s.host.IsLeader() {
			if s.waker != nil {
				changed, wait = s.waker.Wait(), cmp.Or(s.idleCheck, issueIdleCheck) // before reading: an apply after the read wakes us
			}
			last = time.Now()
			// drain the queue while there is work, then wait
			for ctx.Err() == nil {
				done, err := s.issue(ctx)
				if err != nil && ctx.Err() == nil {
					s.logger.Warn("issuing sanction notices", "err", err)
				}
				if err != nil || done == 0 {
					break
				}
			}
		}
		if err := sleep(ctx, changed, wait); err != nil {
			return err
		}
		if err := sleep(ctx, nil, issueGap-time.Since(last)); err != nil { // a burst of applies: one read per issueGap
			return err
		}
	}
}

// sleep waits for wake (nil: never), d (none if d <= 0) or the end of ctx,
// whichever comes first; only the last is an error.
func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-t.C:
	}
	return nil
}

func (s *Service) skip(k []byte) {
	s.mu.Lock()
	if s.skipped == nil {
		s.skipped = map[string]bool{}
	}
	s.skipped[string(k)] = true
	s.mu.Unlock()
}

func (s *Service) isSkipped(k []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped[string(k)]
}

// issue issues the notices of up to 200 queued listings, committing them
// in raft commands of at most about 1000 records, and returns how many
// listings it handled.
func (s *Service) issue(ctx context.Context) (int, error) {
	type pending struct {
		ref schemas.Ref
		l   *schemas.Listing
		at  time.Time
		eng *sanctions.Engine // under the catalogue recorded in the queue
	}
	var todo []pending
	err := s.host.View(func(tx *ledger.ReadTx) error {
		cal := s.host.Calendar(tx) // embedded + adopted years
		q := tx.Bucket(BucketNoticeQueue)
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for k, v := c.First(); k != nil && len(todo) < 200; k, v = c.Next() {
			origin, index, ok := exchange.SplitEntryKey(k)
			if !ok || len(v) != 8 && len(v) != 8+32 || s.isSkipped(k) {
				continue
			}
			e, err := tx.Log(origin).Entry(index)
			if err != nil {
				return err
			}
			l, ok := schemas.DecodeEntry(e).(*schemas.Listing)
			if !ok {
				s.skip(k)
				continue
			}
			h := tlog.RecordHash(e)
			todo = append(todo, pending{schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, l,
				adopted.QueuedAt(v), s.host.QueuedEngine(v).WithCalendar(cal)})
		}
		return nil
	})
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	var entries [][]byte
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		err := s.host.Commit(ctx, s.logs.NoticeOrigin(), entries)
		entries = entries[:0]
		return err
	}
	for _, p := range todo {
		ns, err := p.eng.NoticesFor(p.l, p.ref, p.at)
		if err != nil || len(ns) == 0 {
			// unknown programme, red list, already expired: nothing to issue
			s.skip(exchange.EntryKey(p.ref.Origin, p.ref.Index))
			if err != nil {
				s.logger.Info("no sanction notices for listing", "origin", p.ref.Origin, "index", p.ref.Index, "reason", err)
			}
			continue
		}
		for _, nt := range ns {
			e, err := s.signer.Sign(nt)
			if err != nil {
				return 0, fmt.Errorf("signing a sanction notice on %s#%d: %w", p.ref.Origin, p.ref.Index, err)
			}
			entries = append(entries, e)
		}
		if len(entries) >= 1000 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(todo), flush()
}

// readRecord reads and decodes the record at origin#index, or returns nil.
func readRecord(tx *ledger.ReadTx, origin string, index uint64) schemas.Record {
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return nil
	}
	return schemas.DecodeEntry(e)
}
