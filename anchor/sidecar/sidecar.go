// Package sidecar is the anchoring loop behind "creditx anchor run": beside
// the nodes, not inside them (package node stays free of Fabric), it
// periodically reads every active member's witnessed checkpoint from the
// member's own node and anchors it (package anchor) through a Backend, the
// Fabric client (package anchor/fabric) or anchor.Memory.
//
// Guarantees: a checkpoint is anchored only if it is signed by the member's
// log key from the manifest and carries at least the manifest's
// witness_quorum of valid tlog-cosignature/v1 cosignatures by other active
// members (exchange.CountCosignatures; the member's own witness does not
// count). An anchor extending an earlier one is submitted with an RFC 6962
// consistency proof built from the member's hash tiles, read through
// x/mod's tlog.TileHashReader, which checks every tile against the
// checkpoint's root before using it; the proof is checked locally before it
// is submitted, so a member whose witnessed ledger does not extend its
// anchor is reported (*MismatchError), not submitted. Nothing is kept
// between rounds: the backend's latest anchor is the loop's state, so a
// restart (or a second sidecar) resumes where the channel is.
//
// How it fails: a round tries every member and returns the errors of those
// that failed, joined; Run logs them and tries again next round. Network
// and backend errors are retried that way; a *MismatchError repeats every
// round until people act on it, which is the point.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Backend is where anchors are recorded.
type Backend interface {
	// Latest returns member's latest anchor as committed on the channel, or
	// an error wrapping anchor.ErrNotFound when there is none.
	Latest(ctx context.Context, member string) (anchor.Anchor, error)
	// Put records a, with a consistency proof from member's latest anchor
	// (nil for the first), and returns once it is committed, reporting
	// whether anything was written. A refusal is an error and records
	// nothing.
	Put(ctx context.Context, a anchor.Anchor, proof tlog.TreeProof) (bool, error)
}

// Config configures a Loop. Manifest and Backend are required.
type Config struct {
	// Manifest names the members, their endpoints and keys, and the witness
	// quorum.
	Manifest *exchange.Manifest
	// Backend records the anchors.
	Backend Backend
	// Client reads the members' nodes (tlog-tiles API over HTTPS); its
	// TLS roots must include the members' region CAs
	// (Manifest.CAPool()). nil means http.DefaultClient.
	Client *http.Client
	// Interval between rounds; 0 means 30 seconds.
	Interval time.Duration
	// Logger receives a line per anchor written and per failure; nil
	// discards.
	Logger *slog.Logger
}

// Loop anchors every member's witnessed checkpoints. Not safe for
// concurrent rounds: Run calls Round from one goroutine.
type Loop struct {
	cfg Config // read-only after New
}

// New checks cfg and returns a Loop.
func New(cfg Config) (*Loop, error) {
	if cfg.Manifest == nil {
		return nil, errors.New("sidecar: Config.Manifest is required")
	}
	if cfg.Backend == nil {
		return nil, errors.New("sidecar: Config.Backend is required")
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{cfg: cfg}, nil
}

// Run does a round at once and then every Interval until ctx is done, and
// returns ctx.Err(). Round errors are logged, not returned.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := l.Round(ctx); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Error("anchor: round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Outcome is what a round did for one member.
type Outcome struct {
	Member  string
	Size    uint64 // size of the member's checkpoint read this round (0 if none)
	Wrote   bool   // an anchor was written
	Skipped string // why nothing was submitted, if so ("not witnessed: ...", "up to date", ...)
	Err     error
}

// Round anchors each active member's witnessed checkpoint once and returns
// what it did per member (in manifest order), with the failures joined as
// the error. Members are anchored concurrently: each is its own key on the
// channel, so their transactions do not conflict, and a round takes about
// one commit instead of one per member.
func (l *Loop) Round(ctx context.Context) ([]Outcome, error) {
	var active []*exchange.Member
	for i := range l.cfg.Manifest.Members {
		if mb := &l.cfg.Manifest.Members[i]; mb.Status == exchange.StatusActive {
			active = append(active, mb)
		}
	}
	outcomes := make([]Outcome, len(active))
	var wg sync.WaitGroup
	for i, mb := range active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = l.member(ctx, mb)
		}()
	}
	wg.Wait()
	var out []Outcome
	var errs []error
	for i, mb := range active {
		o := outcomes[i]
		if o.Err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			errs = append(errs, o.Err)
			l.cfg.Logger.Error("anchor: member", "member", mb.Code, "err", o.Err)
		} else if o.Wrote {
			l.cfg.Logger.Info("anchor: anchored", "member", mb.Code, "size", o.Size)
		} else {
			l.cfg.Logger.Debug("anchor: nothing submitted", "member", mb.Code, "size", o.Size, "why", o.Skipped)
		}
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

// MismatchError: a member's witnessed checkpoint does not extend its
// latest anchor (smaller, another root at the same size, or no consistency
// with it). Anchored and Size/Root are the evidence.
type MismatchError struct {
	Anchored anchor.Anchor // on the channel
	Size     uint64        // the member's witnessed checkpoint
	Root     tlog.Hash
	Reason   string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("sidecar: member %s: witnessed checkpoint (size %d, root %s) does not extend its anchor (size %d, root %s): %s",
		e.Anchored.Member, e.Size, e.Root, e.Anchored.Size, e.Anchored.Root, e.Reason)
}

func (l *Loop) member(ctx context.Context, mb *exchange.Member) Outcome {
	o := Outcome{Member: mb.Code}
	fail := func(format string, args ...any) Outcome {
		o.Err = fmt.Errorf("sidecar: member %s: "+format, append([]any{mb.Code}, args...)...)
		return o
	}
	src := ledger.HTTPSource{Client: l.cfg.Client, Base: mb.Endpoint + "/ledger/" + mb.Code, Ctx: ctx}
	signed, err := src.Checkpoint()
	if err != nil {
		return fail("checkpoint: %w", err)
	}
	var witnesses []note.Verifier
	for _, w := range l.cfg.Manifest.Others(mb.Code) {
		witnesses = append(witnesses, w.WitnessVerifier())
	}
	cp, err := ledger.OpenCheckpoint(signed, mb.Origin(), mb.LogVerifier(), witnesses...)
	if err != nil {
		return fail("checkpoint: %w", err)
	}
	o.Size = cp.Size
	names, ok, err := l.cfg.Manifest.Witnessed(mb.Code, signed)
	if err != nil {
		return fail("cosignatures: %w", err)
	}
	if !ok {
		if l.cfg.Manifest.Policy() != nil {
			o.Skipped = fmt.Sprintf("not witnessed: cosignatures by %v do not meet the witness policy's quorum %q", names, l.cfg.Manifest.Policy().Quorum())
		} else {
			o.Skipped = fmt.Sprintf("not witnessed: %d cosignature(s) by other members %v, quorum %d", len(names), names, l.cfg.Manifest.WitnessQuorum)
		}
		return o
	}
	if cp.Size == 0 {
		o.Skipped = "empty ledger"
		return o
	}
	a := anchor.Anchor{Member: mb.Code, Size: cp.Size, Root: cp.Root, CosigHash: anchor.CosigHash(cp.Note, mb.LogVerifier())}
	latest, err := l.cfg.Backend.Latest(ctx, mb.Code)
	var proof tlog.TreeProof
	switch {
	case errors.Is(err, anchor.ErrNotFound):
	case err != nil:
		return fail("latest anchor: %w", err)
	case latest.Size > cp.Size:
		o.Err = &MismatchError{Anchored: latest, Size: cp.Size, Root: cp.Root, Reason: "the witnessed checkpoint is smaller than the anchor (rollback)"}
		return o
	case latest.Size == cp.Size:
		if latest.Root != cp.Root {
			o.Err = &MismatchError{Anchored: latest, Size: cp.Size, Root: cp.Root, Reason: "another root at the same size (fork)"}
			return o
		}
		o.Skipped = "up to date"
		return o
	default:
		hr := ledger.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, src)
		if proof, err = tlog.ProveTree(int64(cp.Size), int64(latest.Size), hr); err != nil {
			return fail("consistency proof from size %d: %w", latest.Size, err)
		}
		if err := tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(latest.Size), latest.Root); err != nil {
			o.Err = &MismatchError{Anchored: latest, Size: cp.Size, Root: cp.Root, Reason: "not consistent with the anchor (fork): " + err.Error()}
			return o
		}
	}
	o.Wrote, err = l.cfg.Backend.Put(ctx, a, proof)
	if err != nil {
		return fail("put anchor at size %d: %w", cp.Size, err)
	}
	if !o.Wrote {
		o.Skipped = "already anchored"
	}
	return o
}
