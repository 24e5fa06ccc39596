package trust

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"

	"github.com/creditx/creditx/schemas"
)

// EntryError is a record check failure at a ledger index.
type EntryError struct {
	Index uint64
	Err   error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Index, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// Pipeline does what Checker does, on several cores. Check runs the part
// that depends on ledger order (envelope, key valid at the index, and for
// governance records everything, since they change the keyring) and hands
// the rest (signature, decoding, validation, submitter) to workers in
// batches of batchSize entries, whose signatures are checked as one Ed25519
// batch (schemas.VerifyBatch: a failed batch is re-checked entry by entry,
// so the failure still names its entry). Because
// worker failures surface late, Close must be called after the last Check: it
// waits for the workers and returns the failure with the lowest index, or
// nil. A failure found by Check itself is also returned at once.
type Pipeline struct {
	kr *schemas.Keyring
	v  *schemas.Validator
	in chan []job
	wg sync.WaitGroup
	// pending collects jobs until a batch is full (batchSize); only Check
	// and Close touch it.
	pending []job
	mu      sync.Mutex
	bad     *EntryError // lowest failure so far; guarded by mu
	// loop is the keyring as a loop log's entries are checked against it
	// (loop.go), kept as governance records go by; only Check touches it.
	loop *LoopKeys
}

type job struct {
	index uint64
	s     *schemas.Signed
	ki    schemas.KeyInfo
}

// Pipeline returns a parallel checker for a credit ledger (not an access
// log: use Checker there). workers <= 0 means one per CPU.
func (o Origin) Pipeline(opts *schemas.Options, workers int) (*Pipeline, error) {
	if o.IsAccessLog() {
		return nil, fmt.Errorf("%s is an access log: use Checker", o.Origin)
	}
	anchors, err := o.anchors()
	if err != nil {
		return nil, err
	}
	kr, err := schemas.NewKeyring(anchors)
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pipeline{kr: kr, v: schemas.NewValidator(opts), in: make(chan []job, 64), loop: NewLoopKeys(o.Origin, anchors)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range p.in {
				p.finishBatch(b)
			}
		}()
	}
	return p, nil
}

func (p *Pipeline) fail(index uint64, err error) *EntryError {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad == nil || index < p.bad.Index {
		p.bad = &EntryError{Index: index, Err: err}
	}
	return p.bad
}

// Check runs the ordered checks of entry index and queues the rest.
func (p *Pipeline) Check(index uint64, e []byte) error {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return p.fail(index, err)
	}
	ki, err := p.kr.Lookup(s.KeyID, index)
	if err != nil {
		return p.fail(index, fmt.Errorf("signing key %s at index %d: %w", s.KeyID, index, err))
	}
	if bytes.Contains(s.Record, []byte(`"schema":"governance/`)) {
		rec, err := p.verify(s, ki)
		if err != nil {
			return p.fail(index, err)
		}
		g, ok := rec.(*schemas.Governance)
		if !ok {
			return p.fail(index, fmt.Errorf("record is %s, not governance", rec.SchemaID()))
		}
		if !ki.Anchor {
			return p.fail(index, fmt.Errorf("governance record signed with agency key %s, not a credit-office anchor", s.KeyID))
		}
		if err := p.kr.Apply(index, g, s.KeyID); err != nil {
			return p.fail(index, fmt.Errorf("governance record not applicable: %w", err))
		}
		p.loop.Apply(index, g.CreatedAt.Time, g)
		return nil
	}
	p.pending = append(p.pending, job{index, s, ki})
	if len(p.pending) == batchSize {
		p.in <- p.pending
		p.pending = make([]job, 0, batchSize)
	}
	return nil
}

// batchSize is how many entries a worker checks as one Ed25519 batch.
const batchSize = 128

// finishBatch is the order-independent part of the check of a batch: the
// signatures as one Ed25519 batch (schemas.VerifyBatch), then each record's
// decoding, validation and submitter.
func (p *Pipeline) finishBatch(b []job) {
	sigs := make([]schemas.SigCheck, len(b))
	for i, j := range b {
		sigs[i] = schemas.SigCheck{S: j.s, Pub: j.ki.Public}
	}
	for i, err := range schemas.VerifyBatch(sigs) {
		j := b[i]
		if err != nil {
			p.fail(j.index, fmt.Errorf("signature by key %s (%s): %w", j.s.KeyID, j.ki.AgencyName, err))
			continue
		}
		if _, err := p.checkRecord(j.s, j.ki); err != nil {
			p.fail(j.index, err)
		}
	}
}

func (p *Pipeline) verify(s *schemas.Signed, ki schemas.KeyInfo) (schemas.Record, error) {
	if err := s.Verify(ki.Public); err != nil {
		return nil, fmt.Errorf("signature by key %s (%s): %w", s.KeyID, ki.AgencyName, err)
	}
	return p.checkRecord(s, ki)
}

// checkRecord decodes and validates a record whose signature verified.
func (p *Pipeline) checkRecord(s *schemas.Signed, ki schemas.KeyInfo) (schemas.Record, error) {
	rec, err := s.Decode()
	if err != nil {
		return nil, err
	}
	if err := p.v.Validate(rec); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", rec.SchemaID(), err)
	}
	if sub := schemas.HeaderOf(rec).Submitter; sub != ki.AgencyUSCC {
		return nil, fmt.Errorf("record names submitter %s but is signed with key %s of %s", sub, s.KeyID, ki.AgencyUSCC)
	}
	return rec, nil
}

// Close waits for the workers and returns the lowest failure, or nil.
func (p *Pipeline) Close() error {
	if len(p.pending) > 0 {
		p.in <- p.pending
		p.pending = nil
	}
	close(p.in)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad == nil {
		return nil
	}
	return p.bad
}

// LoopKeys is the keyring of the ledger checked so far, for checking its
// member's loop log (loop.go). Use it only after Close returned nil: a
// ledger that failed its check leaves no keyring to trust.
func (p *Pipeline) LoopKeys() *LoopKeys { return p.loop }
