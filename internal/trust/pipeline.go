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
// that depends on ledger order (key valid at the index, and for governance
// records everything, since they change the keyring) and hands the rest
// (envelope and canonical decoding, signature, validation, submitter) to
// workers in batches of batchSize entries, whose signatures are checked as
// one Ed25519 batch (schemas.VerifyBatch: a failed batch is re-checked entry
// by entry, so the failure still names its entry). Check copies each entry
// it queues (into one buffer per batch): the caller may reuse it. Each
// entry is parsed once, by a worker (schemas.ParseDecode: the envelope and
// the record decoded strictly, which also proves it canonical), not once by
// Check and again by a worker. Because worker failures surface late, Close
// must be called after the last Check: it waits for the workers and returns
// the failure with the lowest index, or nil. A failure found by Check itself
// is also returned at once. For one entry, the failure reported is the one
// Checker reports: a malformed envelope or record before an invalid key,
// an invalid key before a bad signature, a bad signature before a record
// that does not decode.
type Pipeline struct {
	kr *schemas.Keyring
	v  *schemas.Validator
	in chan *batch
	wg sync.WaitGroup
	// pending collects jobs until a batch is full (batchSize); only Check
	// and Close touch it.
	pending *batch
	// keys caches the keyring's KeyInfo by key id between governance
	// records (Apply clears it); validity at each index is still checked
	// (Keyring.Valid). Only Check touches it.
	keys map[string]*schemas.KeyInfo
	mu   sync.Mutex
	bad  *EntryError // lowest failure so far; guarded by mu
	// loop is the keyring as a loop log's entries are checked against it
	// (loop.go), kept as governance records go by; only Check touches it.
	loop *LoopKeys
}

// batch is batchSize entries for a worker: their bytes copied into one
// buffer, the key each names as valid at its index.
type batch struct {
	buf  []byte
	jobs []job
}

type job struct {
	index      uint64
	start, end int // the entry is buf[start:end]
	ki         *schemas.KeyInfo
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
	p := &Pipeline{kr: kr, v: schemas.NewValidator(opts), in: make(chan *batch, 64),
		keys: map[string]*schemas.KeyInfo{}, loop: NewLoopKeys(o.Origin, anchors)}
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
	id, ok := schemas.EntryKeyID(e)
	if !ok || bytes.Contains(e, []byte(`"schema":"governance/`)) {
		// Not a signed entry (ParseSigned says why), or a governance record
		// (the keyring depends on it): all of it here, in order. The entry
		// holds the marker only in its record: the rest is hex and base64.
		return p.checkOrdered(index, e)
	}
	ki, err := p.keyAt(id, index)
	if err != nil {
		if _, perr := schemas.ParseSigned(e); perr != nil {
			return p.fail(index, perr) // Checker reports a malformed entry first
		}
		return p.fail(index, err)
	}
	if p.pending == nil {
		p.pending = &batch{buf: make([]byte, 0, batchSize*(len(e)+len(e)/4)), jobs: make([]job, 0, batchSize)}
	}
	b := p.pending
	start := len(b.buf)
	b.buf = append(b.buf, e...)
	b.jobs = append(b.jobs, job{index: index, start: start, end: len(b.buf), ki: ki})
	if len(b.jobs) == batchSize {
		p.in <- b
		p.pending = nil
	}
	return nil
}

// keyAt is the key id as valid at index (Keyring.Lookup), from the cache
// of the keyring's keys since the last governance record.
func (p *Pipeline) keyAt(id string, index uint64) (*schemas.KeyInfo, error) {
	if err := p.kr.Valid(id, index); err != nil {
		return nil, fmt.Errorf("signing key %s at index %d: %w", id, index, err)
	}
	if ki, ok := p.keys[id]; ok {
		return ki, nil
	}
	ki, err := p.kr.Lookup(id, index)
	if err != nil {
		return nil, fmt.Errorf("signing key %s at index %d: %w", id, index, err)
	}
	p.keys[id] = &ki
	return &ki, nil
}

// checkOrdered checks entry index completely, in order: a governance
// record (applied to the keyring) or an entry that is not a signed record.
func (p *Pipeline) checkOrdered(index uint64, e []byte) error {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return p.fail(index, err)
	}
	ki, err := p.kr.Lookup(s.KeyID, index)
	if err != nil {
		return p.fail(index, fmt.Errorf("signing key %s at index %d: %w", s.KeyID, index, err))
	}
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
	clear(p.keys) // the keyring changed
	p.loop.Apply(index, g.CreatedAt.Time, g)
	return nil
}

// batchSize is how many entries a worker checks as one Ed25519 batch.
const batchSize = 128

// finishBatch is the order-independent part of the check of a batch: each
// entry parsed and its record decoded (schemas.ParseDecode), the signatures
// as one Ed25519 batch (schemas.VerifyBatch), then each record's
// validation and submitter.
func (p *Pipeline) finishBatch(b *batch) {
	type parsed struct {
		j   job
		s   *schemas.Signed
		rec schemas.Record
		err error // the record's decoding error, reported if the signature verifies
	}
	ps := make([]parsed, 0, len(b.jobs))
	sigs := make([]schemas.SigCheck, 0, len(b.jobs))
	for _, j := range b.jobs {
		s, rec, err := schemas.ParseDecode(b.buf[j.start:j.end])
		if s == nil {
			p.fail(j.index, err) // the envelope or the record's JSON: ParseSigned's error
			continue
		}
		ps = append(ps, parsed{j, s, rec, err})
		sigs = append(sigs, schemas.SigCheck{S: s, Pub: j.ki.Public})
	}
	for i, err := range schemas.VerifyBatch(sigs) {
		x := ps[i]
		switch {
		case err != nil:
			p.fail(x.j.index, fmt.Errorf("signature by key %s (%s): %w", x.s.KeyID, x.j.ki.AgencyName, err))
		case x.err != nil:
			p.fail(x.j.index, x.err)
		default:
			if err := p.checkDecoded(x.s, x.rec, *x.j.ki); err != nil {
				p.fail(x.j.index, err)
			}
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
	return rec, p.checkDecoded(s, rec, ki)
}

// checkDecoded validates decoded record rec of s, whose signature verified,
// and its submitter.
func (p *Pipeline) checkDecoded(s *schemas.Signed, rec schemas.Record, ki schemas.KeyInfo) error {
	if err := p.v.Validate(rec); err != nil {
		return fmt.Errorf("invalid %s: %w", rec.SchemaID(), err)
	}
	if sub := schemas.HeaderOf(rec).Submitter; sub != ki.AgencyUSCC {
		return fmt.Errorf("record names submitter %s but is signed with key %s of %s", sub, s.KeyID, ki.AgencyUSCC)
	}
	return nil
}

// Close waits for the workers and returns the lowest failure, or nil.
func (p *Pipeline) Close() error {
	if p.pending != nil {
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
