package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Wire types of this file's endpoints (package api).
type (
	NoticeView = api.NoticeView
)

// SanctionsConfig configures joint punishment on this member's node.
type SanctionsConfig struct {
	// Agencies is the YAML directory of this member's executing agencies
	// (sanctions.LoadAgencies); default "keys/agencies.yaml". Without it the
	// node issues no notices but still answers checks.
	Agencies string `yaml:"agencies"`
	// IssuerKey is the credit office's record-signing key (PKCS#8 PEM) that
	// signs sanction notices; it must be a registered anchor or agency key of
	// this region. Default "keys/issuer.key".
	IssuerKey string `yaml:"issuer_key"`
	// IssuerUSCC is the credit office's USCC (the notices' submitter).
	IssuerUSCC string `yaml:"issuer_uscc"`
	// Catalogue is the measures catalogue file in force until a
	// catalogue_adopt is applied; empty means the embedded default.
	Catalogue string `yaml:"catalogue"`
	// Catalogues lists further catalogue files a catalogue_adopt governance
	// record may adopt (by SHA-256; catalogue.go). Every member should list
	// the same files. Default none: only the embedded and initial ones.
	Catalogues []string `yaml:"catalogues"`
	// LoopLog writes this member's sanction notices and their feedback to
	// its loop log, creditx.<code>/loop, instead of its ledger (issue 20;
	// node/loop.go). Default false: notices and feedback in the ledger, as
	// every ledger written before. Notices already in the ledger stay there
	// and are read, answered and audited as before.
	LoopLog bool `yaml:"loop_log,omitempty"`
	// LoopKey signs the loop log's checkpoints (read only with LoopLog).
	// Default "keys/loop.key".
	LoopKey string `yaml:"loop_key,omitempty"`
}

// Index buckets for sanctions (same transaction as the entries; see index.go).
//
//	notice-queue:  origin || 0x00 || uint64 BE index -> uint64 BE unix nanos (raft time it was indexed)
//	               listings for which this member has not yet issued notices
//	notices:       agency USCC || 0x00 || origin || 0x00 || uint64 BE index -> ""  (own notices by agency)
const (
	bucketNoticeQueue = "notice-queue"
	bucketNotices     = "notices"
)

// sanctionsState is the node's engine and notice issuer.
type sanctionsState struct {
	engine *sanctions.Engine
	signer *client.Credentials // nil: no notices are issued
	// changed is closed and replaced whenever the FSM applied something, to
	// wake long-polling readers. Guarded by mu.
	mu      sync.Mutex
	changed chan struct{}
	skipped map[string]bool // listings the engine declined (unknown programme); leader-local
	cal     calendarCache   // embedded calendar + adopted years (calendar.go)
	// cats and engines are the known catalogues and an engine for each, by
	// digest (catalogue.go); set by newSanctions, read-only afterwards.
	// nil: only engine's catalogue.
	cats    *sanctions.CatalogueSet
	engines map[string]*sanctions.Engine
}

func (s *sanctionsState) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *sanctionsState) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func newSanctions(cfg Config) (*sanctionsState, error) {
	cat, err := catalogue.Default()
	if cfg.Sanctions.Catalogue != "" {
		f, ferr := os.Open(cfg.Sanctions.Catalogue)
		if ferr != nil {
			return nil, ferr
		}
		cat, err = catalogue.Load(f)
		f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("measures catalogue: %w", err)
	}
	cal, err := workdays.Default()
	if err != nil {
		return nil, err
	}
	s := &sanctionsState{changed: make(chan struct{}), skipped: map[string]bool{}}
	ag := sanctions.NoAgencies(cfg.Region)
	if b, err := os.ReadFile(cfg.Sanctions.Agencies); err == nil {
		if ag, err = sanctions.LoadAgencies(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("executing agencies %s: %w", cfg.Sanctions.Agencies, err)
		}
		k, err := client.ReadSignKey(cfg.Sanctions.IssuerKey)
		if err != nil {
			return nil, fmt.Errorf("sanctions issuer key: %w", err)
		}
		s.signer = &client.Credentials{Dir: cfg.Sanctions.IssuerKey, SignKey: k}
		s.signer.Identity.ID = cfg.Sanctions.IssuerUSCC
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	def, err := catalogue.Default()
	if err != nil {
		return nil, err
	}
	if s.cats, err = sanctions.LoadCatalogueSet(cfg.Sanctions.Catalogues, def, cat); err != nil {
		return nil, fmt.Errorf("sanctions.catalogues: %w", err)
	}
	if s.engine, err = sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: ag, Region: cfg.Region, Issuer: cfg.Sanctions.IssuerUSCC}); err != nil {
		return nil, err
	}
	s.engines = map[string]*sanctions.Engine{}
	for _, c := range s.cats.All() {
		if s.engines[c.Digest()], err = s.engine.WithCatalogue(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// RunNotices issues sanction notices, on the leader, for every indexed
// listing that has none from this member yet. Each listing's notices are
// computed from the raft time at which it was indexed, so they are the same
// records whichever leader computes them, and a resubmission after a leader
// change is deduplicated by the ledger.
func (n *Node) RunNotices(ctx context.Context) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if n.sanctions.signer == nil || !n.IsLeader() {
			continue
		}
		// drain the queue while there is work, then wait for the next tick
		for ctx.Err() == nil {
			done, err := n.issueNotices(ctx)
			if err != nil && ctx.Err() == nil {
				n.logger.Warn("issuing sanction notices", "err", err)
			}
			if err != nil || done == 0 {
				break
			}
		}
	}
}

// issueNotices issues the notices of up to 200 queued listings, committing
// them in raft commands of at most about 1000 records, and returns how many
// listings it handled.
func (n *Node) issueNotices(ctx context.Context) (int, error) {
	type pending struct {
		ref schemas.Ref
		l   *schemas.Listing
		at  time.Time
		eng *sanctions.Engine // under the catalogue recorded in the queue
	}
	var todo []pending
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		cal := n.viewCalendar(tx) // embedded + adopted years
		q := tx.Bucket(bucketNoticeQueue)
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for k, v := c.First(); k != nil && len(todo) < 200; k, v = c.Next() {
			origin, index, ok := splitEntryKey(k)
			if !ok || len(v) != 8 && len(v) != 8+32 || n.sanctions.skipped[string(k)] {
				continue
			}
			e, err := tx.Log(origin).Entry(index)
			if err != nil {
				return err
			}
			l, err := decodeListing(e)
			if err != nil {
				n.sanctions.skipped[string(k)] = true
				continue
			}
			h := tlog.RecordHash(e)
			todo = append(todo, pending{schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, l,
				queuedAt(v), n.queuedEngine(v).WithCalendar(cal)})
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
		_, err := n.commit(ctx, n.noticeOrigin(), entries) // loop.go
		entries = entries[:0]
		return err
	}
	for _, p := range todo {
		ns, err := p.eng.NoticesFor(p.l, p.ref, p.at)
		if err != nil || len(ns) == 0 {
			// unknown programme, red list, already expired: nothing to issue
			n.sanctions.skipped[string(entryKey(p.ref.Origin, p.ref.Index))] = true
			if err != nil {
				n.logger.Info("no sanction notices for listing", "origin", p.ref.Origin, "index", p.ref.Index, "reason", err)
			}
			continue
		}
		for _, nt := range ns {
			e, err := n.sanctions.signer.Sign(nt)
			if err != nil {
				return 0, err
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

// notices lists the notices whose index key starts with prefix (all of
// them for a nil prefix), with their state at time at.
func (n *Node) notices(prefix []byte, at time.Time) ([]NoticeView, error) {
	var out []NoticeView
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketNotices)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			_, rest, _ := bytes.Cut(k, []byte{0})
			origin, index, ok := splitEntryKey(rest)
			if !ok {
				continue
			}
			v, ok, err := n.noticeView(tx, origin, index, at)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

// noticeView reads the sanction notice at origin#index with its feedback and
// its state at time at; false if the entry is not a sanction notice.
func (n *Node) noticeView(tx *ledger.ReadTx, origin string, index uint64, at time.Time) (NoticeView, bool, error) {
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return NoticeView{}, false, nil
	}
	nt, ok := decodeRecord(e).(*schemas.SanctionNotice)
	if !ok {
		return NoticeView{}, false, nil
	}
	lh := tlog.RecordHash(e)
	var fbs []*schemas.Feedback
	var unbound []string
	for _, ev := range referencing(tx, origin, index) {
		if fb, ok := readRecord(tx, ev.Origin, ev.Index).(*schemas.Feedback); ok {
			// the owner table: only the addressee, in this ledger (admission_owner.go)
			if why := sanctions.FeedbackUnbound(fb, ev.Origin, nt, origin); why != "" {
				unbound = append(unbound, fmt.Sprintf("%s#%d: %s", ev.Origin, ev.Index, why))
				continue
			}
			fbs = append(fbs, fb)
		}
	}
	var st sanctions.Status
	if le, err := tx.Log(nt.Listing.Origin).Entry(nt.Listing.Index); err == nil {
		if l, err := decodeListing(le); err == nil {
			h, err := n.history(tx, nt.Listing.Origin, nt.Listing.Index, l)
			if err != nil {
				return NoticeView{}, false, err
			}
			st, _ = n.engineIn(tx).State(h, at)
		}
	}
	eff, dc := effectiveNotice(tx, origin, index, nt)
	ns := sanctions.NoticeStatus(eff, fbs, st, at)
	return NoticeView{Origin: origin, Index: index, Notice: nt, LeafHash: hex.EncodeToString(lh[:]), State: ns.State, Late: ns.Late, Reason: ns.Reason, Feedback: ns.Feedback, Unbound: unbound,
		FeedbackDue: eff.FeedbackDue, Provisional: eff.FeedbackDueProvisional, DueCorrection: dc}, true, nil
}

func filterNotices(vs []NoticeView, states []string) []NoticeView {
	if len(states) == 0 || slices.Contains(states, "all") {
		return vs
	}
	var out []NoticeView
	for _, v := range vs {
		if slices.Contains(states, v.State) {
			out = append(out, v)
		}
	}
	return out
}
