package audit

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Options tune Run. The zero value is usable.
type Options struct {
	// At is the instant deadlines are judged against; zero means now.
	At time.Time
	// Progress, if not nil, is called from several goroutines (serialised
	// by Run) with entries verified so far and the total to verify.
	Progress func(done, total uint64)
	// Logger receives one line per ledger copy; nil discards.
	Logger *slog.Logger
	// Calendar counts working days for objection deadlines; nil means
	// workdays.Default().
	Calendar *workdays.Calendar
	// ObjectionWorkdays is the deadline for deciding an objection, in
	// working days of the objection's region after it was filed; 0 means
	// DefaultObjectionWorkdays.
	ObjectionWorkdays int
	// MaxListingDetail bounds Loop.Detail (per-listing rows); 0 means
	// 5000, negative means none. Aggregates always cover every listing.
	MaxListingDetail int
	// Parallel is how many ledger copies are verified at once; 0 means
	// GOMAXPROCS.
	Parallel int
	// Anchors, if not nil, is the Fabric channel (or other anchor backend)
	// every verified ledger is cross-checked with (CheckAnchors); a
	// contradicting anchor is a CheckAnchor failure.
	Anchors AnchorReader
}

// DefaultObjectionWorkdays is the provider's answer (5 working days) plus
// the decision (5 working days), DOMAIN.md 4, without the extension to 20.
const DefaultObjectionWorkdays = 10

// copyState is the work on one copy. Fields are written by the goroutine
// verifying the copy and read after all goroutines finished.
type copyState struct {
	Copy
	late    error // a record failure found by a worker after Verify returned
	res     CopyResult
	logV    note.Verifier
	trusted trust.Origin
	cp      *ledger.Checkpoint
	leaves  []tlog.Hash // primary copies only
	failed  bool
	// recordFailed: a record was rejected, so every copy has the fault.
	recordFailed bool
	wg           sync.WaitGroup // the closed-loop decoder of a primary copy
	done         func()         // closes and waits for it; nil if none
	// keys: for a ledger primary checked by a trust.Pipeline that closed
	// with no record failure, the keyring it left (trust.LoopKeys), which
	// its member's loop copies are checked with (loopcheck.go).
	keys *trust.LoopKeys
	// loopKeys: for a loop copy, the keyring of its member's verified
	// ledger (loopcheck.go); nil when no copy of that ledger verified
	// against its anchors without failure.
	loopKeys *trust.LoopKeys
}

// auditor is one run of the audit: Run calls one method per phase, in
// order. Fields are set by newAuditor and the phases; fail and warn may be
// called from the verifying goroutines (guarded by mu).
type auditor struct {
	ctx   context.Context
	in    Inputs
	opts  Options
	start time.Time
	rep   *Report

	mu sync.Mutex // guards rep.Failures and rep.Warnings while trees are verified

	// witnesses are the cosignature keys checked, from in.Trust when it has
	// any (witnessTrusted), else from in.Own; policy and quorum likewise.
	witnesses      []note.Verifier
	witnessTrusted bool
	policy         *exchange.Policy
	quorum         int

	states    []*copyState
	byOrigin  map[string][]*copyState
	origins   []string // sorted
	primaries map[string]*copyState
	facts     *factSet

	total uint64 // entries to verify
	done  atomic.Uint64
	pmu   sync.Mutex // serialises opts.Progress
}

// Run audits in and returns the report. It returns a *IntegrityError (and
// the full report) when any integrity check failed, ctx.Err() when
// cancelled, and another error only when the audit could not run at all.
// Run reads in's sources and changes nothing. The report's Verdict says
// whether every named check ran with independent trust (see verdict.go).
func Run(ctx context.Context, in Inputs, opts Options) (*Report, error) {
	a, err := newAuditor(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	a.compareManifests() // 0. the data's own manifest against the independent one
	a.openCheckpoints()  // 1. log signature, witness cosignatures, quorum
	a.choosePrimaries()  // 2. which copy of each origin gets every check
	if err := a.verifyTrees(); err != nil {
		return nil, err
	}
	a.checkConsistency() // 3. every checkpoint seen against the primary tree
	a.checkAnchors()     // 3b. the anchors on the channel
	a.checkRecords()     // 4. references, owners, the closed loop
	return a.finish()
}

func newAuditor(ctx context.Context, in Inputs, opts Options) (*auditor, error) {
	start := time.Now()
	if opts.At.IsZero() {
		opts.At = start
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Calendar == nil {
		c, err := workdays.Default()
		if err != nil {
			return nil, fmt.Errorf("audit: holiday calendar: %w", err)
		}
		opts.Calendar = c
	}
	if opts.ObjectionWorkdays == 0 {
		opts.ObjectionWorkdays = DefaultObjectionWorkdays
	}
	if opts.MaxListingDetail == 0 {
		opts.MaxListingDetail = 5000
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.GOMAXPROCS(0)
	}
	a := &auditor{ctx: ctx, in: in, opts: opts, start: start, facts: newFactSet(), byOrigin: map[string][]*copyState{}, primaries: map[string]*copyState{},
		rep: &Report{GeneratedAt: start.UTC(), At: opts.At.UTC(), TrustSource: in.Trust.Source, OwnTrustSource: in.Own.Source,
			Failures: []Failure{}, Warnings: []string{}, Checked: []string{}, NotChecked: []string{}}}
	if len(a.rep.TrustSource) == 0 {
		a.rep.TrustSource = []string{"none (keys from the audited data itself)"}
	}
	// Witness keys from the independent trust; only when it has none, the
	// data's own (checked, but the verdict cannot be PASSED).
	for i, t := range []Trust{in.Trust, in.Own} {
		ws, err := witnessKeys(t)
		if err != nil {
			return nil, err
		}
		if len(ws) > 0 {
			a.witnesses, a.policy, a.quorum, a.witnessTrusted = ws, t.Policy, t.Quorum, i == 0
			break
		}
	}
	if a.quorum == 0 && len(a.witnesses) > 0 {
		a.quorum = DefaultQuorum
	}
	if len(a.witnesses) == 0 {
		a.rep.Warnings = append(a.rep.Warnings, "no witness keys known: cosignatures not checked")
	}
	return a, nil
}

// witnessKeys parses t's witness keys and adds the policy's witnesses that
// are no member's (an auditor's, a public network's); a key listed twice is
// kept once.
func witnessKeys(t Trust) ([]note.Verifier, error) {
	var ws []note.Verifier
	has := func(v note.Verifier) bool {
		for _, w := range ws {
			if w.Name() == v.Name() && w.KeyHash() == v.KeyHash() {
				return true
			}
		}
		return false
	}
	for _, w := range t.Witnesses {
		v, err := cosig.Parse(w)
		if err != nil {
			return nil, fmt.Errorf("audit: witness key %q: %w", w, err)
		}
		if !has(v) {
			ws = append(ws, v)
		}
	}
	if p := t.Policy; p != nil {
		for _, w := range p.Witnesses {
			if !has(w.Verifier) {
				ws = append(ws, w.Verifier)
			}
		}
	}
	return ws, nil
}

func (a *auditor) fail(f Failure) {
	a.mu.Lock()
	a.rep.Failures = append(a.rep.Failures, f)
	a.mu.Unlock()
}

func (a *auditor) warn(format string, args ...any) {
	a.mu.Lock()
	a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf(format, args...))
	a.mu.Unlock()
}

func (a *auditor) progress(n uint64) {
	d := a.done.Add(n)
	if a.opts.Progress != nil {
		a.pmu.Lock()
		a.opts.Progress(d, a.total)
		a.pmu.Unlock()
	}
}

// compareManifests: when the data carries a manifest and the auditor brought
// one, each field where they differ is a failure; the same manifest twice
// is none.
func (a *auditor) compareManifests() {
	t, o := a.in.Trust.ManifestBytes, a.in.Own.ManifestBytes
	if t == nil || o == nil {
		return
	}
	diffs, err := DiffManifests(t, o)
	if err != nil {
		a.fail(Failure{Check: CheckManifest, Index: -1, Reason: "the audited data's manifest: " + err.Error()})
		return
	}
	for _, d := range diffs {
		a.fail(Failure{Check: CheckManifest, Index: -1, Reason: "the audited data's manifest differs from the independent one at " + d})
	}
}

// openCheckpoints verifies every copy's checkpoint and cosignatures.
func (a *auditor) openCheckpoints() {
	a.states = make([]*copyState, len(a.in.Copies))
	for i, c := range a.in.Copies {
		s := &copyState{Copy: c, res: CopyResult{Origin: c.Origin, Holder: c.Holder, Quorum: a.quorum, Cosigners: []string{}}}
		a.states[i] = s
		a.byOrigin[c.Origin] = append(a.byOrigin[c.Origin], s)
		s.openCheckpoint(a)
		if s.cp != nil {
			a.total += s.cp.Size
		}
	}
	for o := range a.byOrigin {
		a.origins = append(a.origins, o)
	}
	slices.Sort(a.origins)
}

// choosePrimaries: the largest copy of each origin gets every check (the
// origin's own copy on a tie); the others are verified as Merkle trees and
// compared entry by entry with it.
func (a *auditor) choosePrimaries() {
	for _, o := range a.origins {
		var best *copyState
		for _, s := range a.byOrigin[o] {
			if s.cp == nil {
				continue
			}
			if best == nil || s.cp.Size > best.cp.Size || s.cp.Size == best.cp.Size && s.Holder == codeOf(o) && best.Holder != codeOf(o) {
				best = s
			}
		}
		if best != nil {
			a.primaries[o] = best
		}
	}
}

// parallel runs f on each copy, opts.Parallel at a time.
func (a *auditor) parallel(list []*copyState, f func(*copyState) error) error {
	sem := make(chan struct{}, a.opts.Parallel)
	var wg sync.WaitGroup
	errs := make([]error, len(list))
	for i, s := range list {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(s)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// verifyTrees verifies the primaries with every record check, replaces a
// primary whose tree failed, then verifies the other copies against them.
// Ledgers go first: a loop log's entries are checked with the keyring of
// its member's verified ledger (loopcheck.go).
func (a *auditor) verifyTrees() error {
	var ledgerFirsts, loopFirsts, others []*copyState
	for _, o := range a.origins {
		for _, s := range a.byOrigin[o] {
			if s.cp == nil {
				continue
			}
			switch {
			case a.primaries[o] != s:
				others = append(others, s)
			case trust.IsLoopOrigin(o):
				loopFirsts = append(loopFirsts, s)
			default:
				ledgerFirsts = append(ledgerFirsts, s)
			}
		}
	}
	if err := a.parallel(ledgerFirsts, func(s *copyState) error { return a.verify(s, nil) }); err != nil {
		return err
	}
	if err := a.replacePrimaries(others, false); err != nil {
		return err
	}
	for _, s := range append(slices.Clone(loopFirsts), others...) {
		if trust.IsLoopOrigin(s.Origin) {
			s.loopKeys = a.loopKeyring(s)
		}
	}
	if err := a.parallel(loopFirsts, func(s *copyState) error { return a.verify(s, nil) }); err != nil {
		return err
	}
	if err := a.replacePrimaries(others, true); err != nil {
		return err
	}
	var rest []*copyState
	for _, s := range others {
		if !s.res.Full {
			rest = append(rest, s)
		}
	}
	return a.parallel(rest, func(s *copyState) error { return a.verify(s, a.primaries[s.Origin]) })
}

// replacePrimaries: a primary whose tree failed (its data was altered, not
// the records themselves) is replaced by the next largest copy, so that one
// bad copy does not hide the rest of the log from the audit. It works on
// the loop logs when loops is set, else on the other origins.
func (a *auditor) replacePrimaries(others []*copyState, loops bool) error {
	for _, o := range a.origins {
		if trust.IsLoopOrigin(o) != loops {
			continue
		}
		p := a.primaries[o]
		if p == nil || !p.failed || p.recordFailed {
			continue
		}
		for {
			var alt *copyState
			for _, s := range others {
				if s.Origin == o && !s.res.Full && (alt == nil || s.cp.Size > alt.cp.Size) {
					alt = s
				}
			}
			if alt == nil {
				break
			}
			if err := a.verify(alt, nil); err != nil {
				return err
			}
			if !alt.failed || alt.recordFailed {
				a.primaries[o] = alt
				break
			}
		}
	}
	return nil
}

// verify checks one copy: with every record check when primary is nil,
// else entry by entry against primary's leaves. It returns an error only
// when the audit cannot go on (cancelled, no record check possible).
func (a *auditor) verify(s *copyState, primary *copyState) error {
	t0 := time.Now()
	var check func(uint64, []byte) error
	var last uint64
	prog := func(d, _ uint64) { a.progress(d - last); last = d }
	if primary == nil {
		c, err := s.recordCheck(a.facts, a.warn)
		if err != nil {
			return err
		}
		s.leaves = make([]tlog.Hash, 0, s.cp.Size)
		check = func(i uint64, e []byte) error {
			s.leaves = append(s.leaves, tlog.RecordHash(e))
			return c(i, e)
		}
		s.res.Full = true
	} else {
		check = func(i uint64, e []byte) error {
			if i < uint64(len(primary.leaves)) && tlog.RecordHash(e) != primary.leaves[i] {
				return &mirrorError{primary.Holder}
			}
			return nil
		}
	}
	_, err := ledger.Verify(a.ctx, s.Source, s.Checkpoint, s.Origin, s.logV, check, prog)
	if s.done != nil {
		s.done()
	}
	// A record failure found by a worker surfaces only now; report it if
	// it is the first failure of the ledger.
	var ee *trust.EntryError
	if errors.As(s.late, &ee) {
		var ve *ledger.VerifyError
		if err == nil || !errors.As(err, &ve) || ve.Index < 0 || uint64(ve.Index) > ee.Index {
			err = &ledger.VerifyError{Origin: s.Origin, Index: int64(ee.Index), Reason: ee.Err.Error(), Err: &recordError{ee.Err}}
		}
	}
	s.res.Seconds = time.Since(t0).Seconds()
	if err != nil {
		if a.ctx.Err() != nil {
			return a.ctx.Err()
		}
		s.failed = true
		f := Failure{Check: CheckTree, Origin: s.Origin, Holder: s.Holder, Index: -1, Reason: err.Error()}
		var ve *ledger.VerifyError
		if errors.As(err, &ve) {
			f.Index, f.Reason = ve.Index, ve.Reason
			var me *mirrorError
			var re *recordError
			switch {
			case errors.As(err, &me):
				f.Check, f.Reason = CheckMirror, me.Error()
			case errors.As(err, &re):
				f.Check, f.Reason = CheckRecord, re.Err.Error()
				s.recordFailed = true
			case ve.Err != nil:
				f.Reason += ": " + ve.Err.Error()
			}
		}
		a.fail(f)
	}
	a.opts.Logger.Info("audit: log copy", "origin", s.Origin, "holder", s.Holder, "size", s.cp.Size, "ok", err == nil, "seconds", s.res.Seconds)
	return nil
}

// checkConsistency: every checkpoint seen of an origin against the primary
// tree, with RFC 6962 consistency proofs.
func (a *auditor) checkConsistency() {
	for _, o := range a.origins {
		p := a.primaries[o]
		if p == nil || p.failed {
			continue
		}
		hr := ledger.TileHashReader(tlog.Tree{N: int64(p.cp.Size), Hash: p.cp.Root}, p.Source)
		for _, s := range a.byOrigin[o] {
			if s == p || s.cp == nil {
				continue
			}
			if err := consistent(hr, p.cp, s.cp); err != nil {
				s.failed = true
				a.fail(Failure{Check: CheckConsistency, Origin: o, Holder: s.Holder, Index: -1,
					Reason: fmt.Sprintf("checkpoint of size %d is not consistent with size %d held by %s: %v", s.cp.Size, p.cp.Size, holderName(p.Holder), err)})
			}
		}
	}
}

// checkAnchors cross-checks each verified ledger with its anchors on the
// channel, when Options.Anchors is set.
func (a *auditor) checkAnchors() {
	if a.opts.Anchors == nil {
		return
	}
	for _, o := range a.origins {
		p := a.primaries[o]
		if p == nil || p.failed || trust.IsLoopOrigin(o) { // anchors are of ledgers
			continue
		}
		hr := ledger.TileHashReader(tlog.Tree{N: int64(p.cp.Size), Hash: p.cp.Root}, p.Source)
		res, f := CheckAnchors(a.ctx, a.opts.Anchors, codeOf(o), p.cp.Size, p.cp.Root, hr)
		a.rep.Anchors = append(a.rep.Anchors, res)
		if f != nil {
			a.fail(*f)
		}
	}
}

// checkRecords: references, causality and owners between records, then the
// closed loop.
func (a *auditor) checkRecords() {
	leaves := map[string][]tlog.Hash{}
	for o, p := range a.primaries {
		leaves[o] = p.leaves
	}
	for _, f := range a.facts.checkRefs(leaves, a.primaries) {
		a.fail(f)
	}
	for _, f := range a.facts.checkOwners(a.primaries) { // owner.go, before the loop counts feedback
		a.fail(f)
	}
	a.rep.Loop = a.facts.loop(a.opts, a.origins)
	if g := a.in.Trust.Manifest; g != nil { // membership.go
		genesis, inForce := g, (*exchange.Manifest)(nil)
		if a.in.Trust.Genesis != nil {
			genesis, inForce = a.in.Trust.Genesis, g
		}
		var fails []Failure
		a.rep.Membership, fails = CheckMembership(genesis, a.facts.members.approvals, a.facts.members.records, inForce)
		for _, f := range fails {
			a.fail(f)
		}
	}
}

// finish fills the per-copy results, sorts, and sets the verdict.
func (a *auditor) finish() (*Report, error) {
	rep := a.rep
	for _, s := range a.states {
		s.res.OK = !s.failed
		if s.cp != nil {
			s.res.Size = s.cp.Size
			s.res.Root = hex.EncodeToString(s.cp.Root[:])
			rep.Entries += s.cp.Size
		}
		rep.Copies = append(rep.Copies, s.res)
	}
	slices.SortFunc(rep.Copies, func(a, b CopyResult) int {
		return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Holder, b.Holder))
	})
	slices.SortStableFunc(rep.Failures, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Index, b.Index), cmp.Compare(a.Holder, b.Holder))
	})
	rep.OK = len(rep.Failures) == 0
	a.coverage() // verdict.go
	rep.Seconds = time.Since(a.start).Seconds()
	if err := a.ctx.Err(); err != nil {
		return nil, err
	}
	if !rep.OK {
		rep.First = &rep.Failures[0]
		return rep, &IntegrityError{First: rep.Failures[0], Count: len(rep.Failures)}
	}
	return rep, nil
}

func codeOf(origin string) string {
	c, _, _ := schemas.ParseOrigin(origin) // "" if not an origin
	return c
}

func holderName(h string) string {
	if h == "" {
		return "the exported tree"
	}
	return h
}

// mirrorError: a mirror entry differs from the primary copy's.
type mirrorError struct{ primary string }

func (e *mirrorError) Error() string {
	return "differs from the same entry held by " + holderName(e.primary)
}

// recordError: the record check (trust.Checker) rejected an entry.
type recordError struct{ Err error }

func (e *recordError) Error() string { return e.Err.Error() }
func (e *recordError) Unwrap() error { return e.Err }

// recordCheck returns the per-entry check of a primary copy: the trust
// Checker (envelope, schema, agency signature, key valid at the index) when
// the origin has anchors, else schema validity only; then it records the
// facts the closed loop needs.
func (s *copyState) recordCheck(fs *factSet, warn func(string, ...any)) (func(uint64, []byte) error, error) {
	var check func(uint64, []byte) error
	var pipe *trust.Pipeline
	loop := trust.IsLoopOrigin(s.Origin)
	switch {
	case loop:
		check = s.loopCheck(warn) // loopcheck.go
	case len(s.trusted.Anchors) > 0 && !s.trusted.IsAccessLog():
		// signatures, decoding and validation on every core; order-dependent
		// checks (key valid at the index, governance) in order
		p, err := s.trusted.Pipeline(nil, 0)
		if err != nil {
			return nil, fmt.Errorf("audit: %s: trust anchors: %w", s.Origin, err)
		}
		pipe, check = p, p.Check
	case s.trusted.IsAccessLog():
		c, err := s.trusted.Checker(nil)
		if err != nil {
			return nil, fmt.Errorf("audit: %s: trust anchors: %w", s.Origin, err)
		}
		check = c
	default:
		warn("%s: no anchor keys known: agency signatures and key validity NOT checked, schema only", s.Origin)
		v := schemas.NewValidator(nil)
		check = func(_ uint64, e []byte) error {
			sg, err := schemas.ParseSigned(e)
			if err != nil {
				return err
			}
			r, err := sg.Decode()
			if err != nil {
				return err
			}
			return v.Validate(r)
		}
	}
	if s.trusted.IsAccessLog() {
		return func(i uint64, e []byte) error {
			if err := check(i, e); err != nil {
				return &recordError{err}
			}
			return nil
		}, nil
	}
	// Decoding for the closed loop runs beside verification, on another
	// core. Entries reaching it passed the ordered checks (key valid at the
	// index, governance); a malformed entry or a bad signature is found by
	// the pipeline's workers and reported when it closes (s.late), which
	// fails the log, so the decoder only skips what it cannot decode.
	type item struct {
		i uint64
		e []byte
	}
	ch := make(chan item, 1024)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for it := range ch {
			if sg, err := schemas.ParseSigned(it.e); err == nil {
				if r, err := sg.Decode(); err == nil {
					fs.add(s.Origin, it.i, r)
				}
			}
		}
	}()
	s.done = func() {
		close(ch)
		s.wg.Wait()
		if pipe != nil {
			if s.late = pipe.Close(); s.late == nil {
				s.keys = pipe.LoopKeys()
			}
		}
	}
	return func(i uint64, e []byte) error {
		if err := check(i, e); err != nil {
			return &recordError{err}
		}
		ch <- item{i, e}
		return nil
	}, nil
}

// consistent checks that checkpoint b is a prefix of (or equal to) the
// verified checkpoint a, with an RFC 6962 consistency proof built from a's
// tiles and checked by tlog.CheckTree.
func consistent(hr tlog.HashReader, a, b *ledger.Checkpoint) error {
	if b.Size > a.Size {
		return fmt.Errorf("larger than the largest verified copy")
	}
	if b.Size == a.Size {
		if a.Root != b.Root {
			return fmt.Errorf("same size, different root: a fork")
		}
		return nil
	}
	if b.Size == 0 {
		return nil
	}
	proof, err := tlog.ProveTree(int64(a.Size), int64(b.Size), hr)
	if err != nil {
		return fmt.Errorf("building consistency proof: %w", err)
	}
	if err := tlog.CheckTree(proof, int64(a.Size), a.Root, int64(b.Size), b.Root); err != nil {
		return fmt.Errorf("consistency proof fails (a fork): %w", err)
	}
	return nil
}
