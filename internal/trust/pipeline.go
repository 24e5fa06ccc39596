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
// the rest (signature, decoding, validation, submitter) to workers. Because
// worker failures surface late, Close must be called after the last Check: it
// waits for the workers and returns the failure with the lowest index, or
// nil. A failure found by Check itself is also returned at once.
type Pipeline struct {
	kr  *schemas.Keyring
	v   *schemas.Validator
	in  chan job
	wg  sync.WaitGroup
	mu  sync.Mutex
	bad *EntryError // lowest failure so far; guarded by mu
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
	kr, err := o.keyring()
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pipeline{kr: kr, v: schemas.NewValidator(opts), in: make(chan job, 4096)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.in {
				if err := p.finish(j.s, j.ki); err != nil {
					p.fail(j.index, err)
				}
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
		return nil
	}
	p.in <- job{index, s, ki}
	return nil
}

// finish is the order-independent part of the check.
func (p *Pipeline) finish(s *schemas.Signed, ki schemas.KeyInfo) error {
	_, err := p.verify(s, ki)
	return err
}

func (p *Pipeline) verify(s *schemas.Signed, ki schemas.KeyInfo) (schemas.Record, error) {
	if err := s.Verify(ki.Public); err != nil {
		return nil, fmt.Errorf("signature by key %s (%s): %w", s.KeyID, ki.AgencyName, err)
	}
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
	close(p.in)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad == nil {
		return nil
	}
	return p.bad
}
