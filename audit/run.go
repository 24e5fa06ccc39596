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
}

// Run audits in and returns the report. It returns a *IntegrityError (and
// the full report) when any integrity check failed, ctx.Err() when
// cancelled, and another error only when the audit could not run at all.
// Run reads in's sources and changes nothing.
func Run(ctx context.Context, in Inputs, opts Options) (*Report, error) {
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
	rep := &Report{GeneratedAt: start.UTC(), At: opts.At.UTC(), TrustSource: in.Trust.Source, Failures: []Failure{}, Warnings: []string{}}
	if len(rep.TrustSource) == 0 {
		rep.TrustSource = []string{"vkey files beside the trees (not independent)"}
	}
	var witnesses []note.Verifier
	for _, w := range in.Trust.Witnesses {
		v, err := cosig.Parse(w)
		if err != nil {
			return nil, fmt.Errorf("audit: witness key %q: %w", w, err)
		}
		witnesses = append(witnesses, v)
	}
	if p := in.Trust.Policy; p != nil {
		// The policy's witnesses that are no member's (an auditor's, a
		// public network's) are trusted too; a key listed twice is kept once.
		for _, w := range p.Witnesses {
			dup := false
			for _, v := range witnesses {
				dup = dup || (v.Name() == w.Verifier.Name() && v.KeyHash() == w.Verifier.KeyHash())
			}
			if !dup {
				witnesses = append(witnesses, w.Verifier)
			}
		}
	}
	quorum := in.Trust.Quorum
	if quorum == 0 && len(witnesses) > 0 {
		quorum = DefaultQuorum
	}
	if len(witnesses) == 0 {
		rep.Warnings = append(rep.Warnings, "no witness keys known: cosignatures not checked")
	}

	var fmu sync.Mutex
	fail := func(f Failure) {
		fmu.Lock()
		rep.Failures = append(rep.Failures, f)
		fmu.Unlock()
	}
	warn := func(format string, args ...any) {
		fmu.Lock()
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(format, args...))
		fmu.Unlock()
	}

	// 1. Checkpoints: log signature, witness cosignatures, quorum.
	states := make([]*copyState, len(in.Copies))
	byOrigin := map[string][]*copyState{}
	var total uint64
	for i, c := range in.Copies {
		s := &copyState{Copy: c, res: CopyResult{Origin: c.Origin, Holder: c.Holder, Quorum: quorum, Cosigners: []string{}}}
		states[i] = s
		byOrigin[c.Origin] = append(byOrigin[c.Origin], s)
		s.openCheckpoint(in.Trust, witnesses, quorum, fail)
		if s.cp != nil {
			total += s.cp.Size
		}
	}
	origins := make([]string, 0, len(byOrigin))
	for o := range byOrigin {
		origins = append(origins, o)
	}
	slices.Sort(origins)

	var done atomic.Uint64
	var pmu sync.Mutex
	progress := func(n uint64) {
		d := done.Add(n)
		if opts.Progress != nil {
			pmu.Lock()
			opts.Progress(d, total)
			pmu.Unlock()
		}
	}

	// 2. The largest copy of each origin gets every check; the others are
	// verified as Merkle trees and compared entry by entry with it.
	primaries := map[string]*copyState{}
	for _, o := range origins {
		cs := byOrigin[o]
		var best *copyState
		for _, s := range cs {
			if s.cp == nil {
				continue
			}
			if best == nil || s.cp.Size > best.cp.Size || s.cp.Size == best.cp.Size && s.Holder == codeOf(o) && best.Holder != codeOf(o) {
				best = s
			}
		}
		if best != nil {
			primaries[o] = best
		}
	}
	facts := newFactSet()
	run := func(list []*copyState, f func(*copyState) error) error {
		sem := make(chan struct{}, opts.Parallel)
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
	var firsts, others []*copyState
	for _, o := range origins {
		for _, s := range byOrigin[o] {
			if s.cp == nil {
				continue
			}
			if primaries[o] == s {
				firsts = append(firsts, s)
			} else {
				others = append(others, s)
			}
		}
	}
	verify := func(s *copyState, primary *copyState) error {
		t0 := time.Now()
		var check func(uint64, []byte) error
		var last uint64
		prog := func(d, _ uint64) { progress(d - last); last = d }
		if primary == nil {
			c, err := s.recordCheck(facts, warn)
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
		_, err := ledger.Verify(ctx, s.Source, s.Checkpoint, s.Origin, s.logV, check, prog)
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
			if ctx.Err() != nil {
				return ctx.Err()
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
			fail(f)
		}
		opts.Logger.Info("audit: ledger copy", "origin", s.Origin, "holder", s.Holder, "size", s.cp.Size, "ok", err == nil, "seconds", s.res.Seconds)
		return nil
	}
	if err := run(firsts, func(s *copyState) error { return verify(s, nil) }); err != nil {
		return nil, err
	}
	// A primary whose tree failed (its data was altered, not the records
	// themselves) is replaced by the next largest copy, so that one bad
	// copy does not hide the rest of the ledger from the audit.
	for _, o := range origins {
		p := primaries[o]
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
			if err := verify(alt, nil); err != nil {
				return nil, err
			}
			if !alt.failed || alt.recordFailed {
				primaries[o] = alt
				break
			}
		}
	}
	var rest []*copyState
	for _, s := range others {
		if !s.res.Full {
			rest = append(rest, s)
		}
	}
	if err := run(rest, func(s *copyState) error { return verify(s, primaries[s.Origin]) }); err != nil {
		return nil, err
	}

	// 3. Consistency between every checkpoint seen and the primary tree.
	for _, o := range origins {
		p := primaries[o]
		if p == nil || p.failed {
			continue
		}
		hr := ledger.TileHashReader(tlog.Tree{N: int64(p.cp.Size), Hash: p.cp.Root}, p.Source)
		for _, s := range byOrigin[o] {
			if s == p || s.cp == nil {
				continue
			}
			if err := consistent(hr, p.cp, s.cp); err != nil {
				s.failed = true
				fail(Failure{Check: CheckConsistency, Origin: o, Holder: s.Holder, Index: -1,
					Reason: fmt.Sprintf("checkpoint of size %d is not consistent with size %d held by %s: %v", s.cp.Size, p.cp.Size, holderName(p.Holder), err)})
			}
		}
	}

	// 3b. The anchors on the channel against each verified ledger.
	if opts.Anchors != nil {
		for _, o := range origins {
			p := primaries[o]
			if p == nil || p.failed {
				continue
			}
			hr := ledger.TileHashReader(tlog.Tree{N: int64(p.cp.Size), Hash: p.cp.Root}, p.Source)
			res, f := CheckAnchors(ctx, opts.Anchors, codeOf(o), p.cp.Size, p.cp.Root, hr)
			rep.Anchors = append(rep.Anchors, res)
			if f != nil {
				fail(*f)
			}
		}
	}

	// 4. References, causality and the closed loop, from the records.
	leaves := map[string][]tlog.Hash{}
	for o, p := range primaries {
		leaves[o] = p.leaves
	}
	for _, f := range facts.checkRefs(leaves, primaries) {
		fail(f)
	}
	for _, f := range facts.checkOwners(primaries) { // owner.go, before the loop counts feedback
		fail(f)
	}
	rep.Loop = facts.loop(opts, origins)

	for _, s := range states {
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
	rep.Seconds = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil {
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

// openCheckpoint verifies the copy's checkpoint and its cosignatures.
func (s *copyState) openCheckpoint(t Trust, witnesses []note.Verifier, quorum int, fail func(Failure)) {
	f := Failure{Check: CheckCheckpoint, Origin: s.Origin, Holder: s.Holder, Index: -1}
	to, ok := t.lookup(s.Origin)
	s.res.KeySource = "trust"
	if !ok {
		if s.TreeVKey == "" {
			f.Reason = "no trusted log key for this origin"
			fail(f)
			s.failed = true
			return
		}
		to = trust.Origin{Origin: s.Origin, VKey: s.TreeVKey}
		s.res.KeySource = "tree vkey (not independent)"
	} else if s.TreeVKey != "" && s.TreeVKey != to.VKey {
		f.Reason = "the vkey file beside the tree is not the trusted key"
		fail(f)
		s.failed = true // still verified with the trusted key below
	}
	s.trusted = to
	v, err := to.Verifier()
	if err != nil {
		f.Reason = "log key: " + err.Error()
		fail(f)
		s.failed = true
		return
	}
	s.logV = v
	cp, err := ledger.OpenCheckpoint(s.Checkpoint, s.Origin, v, witnesses...)
	if err != nil {
		var ise *note.InvalidSignatureError
		if errors.As(err, &ise) && ise.Name != v.Name() {
			f.Check = CheckCosignature
			f.Reason = fmt.Sprintf("cosignature by %s (key hash %08x) does not verify: forged or altered", ise.Name, ise.Hash)
		} else {
			f.Reason = err.Error()
		}
		fail(f)
		s.failed = true
		return
	}
	s.cp = cp
	own := schemas.WitnessOrigin(codeOf(s.Origin))
	for _, sig := range cp.Note.Sigs {
		for _, w := range witnesses {
			if sig.Name == w.Name() && sig.Hash == w.KeyHash() && sig.Name != own {
				s.res.Cosigners = append(s.res.Cosigners, sig.Name)
			}
		}
	}
	s.res.Witnessed = quorum == 0 || len(s.res.Cosigners) >= quorum
	if p := t.Policy; p != nil {
		// The policy decides, not a count: its quorum over the cosigning
		// witnesses (policy names), the origin's own witness left out.
		exclude := map[string]bool{}
		for _, w := range p.Witnesses {
			if w.Verifier.Name() == own {
				exclude[w.Name] = true
			}
		}
		set := p.Cosigners(cp.Note, exclude)
		s.res.Cosigners = []string{}
		for _, w := range p.Witnesses {
			if set[w.Name] {
				s.res.Cosigners = append(s.res.Cosigners, w.Name)
			}
		}
		if s.res.Witnessed = p.Satisfied(set); !s.res.Witnessed {
			fail(Failure{Check: CheckCosignature, Origin: s.Origin, Holder: s.Holder, Index: -1,
				Reason: fmt.Sprintf("checkpoint of size %d: cosignatures by %v do not meet the witness policy's quorum %q", cp.Size, s.res.Cosigners, p.Quorum())})
			s.failed = true
		}
		return
	}
	if !s.res.Witnessed {
		fail(Failure{Check: CheckCosignature, Origin: s.Origin, Holder: s.Holder, Index: -1,
			Reason: fmt.Sprintf("checkpoint of size %d has %d valid cosignature(s) by other members %v, quorum is %d", cp.Size, len(s.res.Cosigners), s.res.Cosigners, quorum)})
		s.failed = true
	}
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
	if len(s.trusted.Anchors) > 0 && !s.trusted.IsAccessLog() {
		// signatures, decoding and validation on every core; order-dependent
		// checks (key valid at the index, governance) in order
		p, err := s.trusted.Pipeline(nil, 0)
		if err != nil {
			return nil, fmt.Errorf("audit: %s: trust anchors: %w", s.Origin, err)
		}
		pipe, check = p, p.Check
	} else if s.trusted.IsAccessLog() {
		c, err := s.trusted.Checker(nil)
		if err != nil {
			return nil, fmt.Errorf("audit: %s: trust anchors: %w", s.Origin, err)
		}
		check = c
	} else {
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
	// core: entries reaching it already passed check, so it cannot fail.
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
			s.late = pipe.Close()
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
