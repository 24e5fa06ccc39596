package exchange

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/creditx/creditx/schemas"
)

// EntryError is why a mirrored entry failed verification.
type EntryError struct {
	Origin string
	Index  uint64
	Reason string
	Err    error
}

func (e *EntryError) Error() string {
	s := fmt.Sprintf("%s entry %d: %s", e.Origin, e.Index, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *EntryError) Unwrap() error { return e.Err }

// EntryVerifier checks the entries of one member's ledger in index order,
// keeping that member's keyring (its anchors from the manifest, then its
// governance records as they come). It is not safe for concurrent use.
type EntryVerifier struct {
	m      *Manifest
	mb     *Member
	kr     *schemas.Keyring
	val    *schemas.Validator
	next   uint64
	anchor []schemas.Anchor
}

// NewEntryVerifier starts at index 0 with mb's anchors.
func NewEntryVerifier(m *Manifest, mb *Member) (*EntryVerifier, error) {
	var anchors []schemas.Anchor
	for i, pub := range mb.AnchorKeys() {
		anchors = append(anchors, schemas.Anchor{KeyID: schemas.KeyID(pub), Public: pub, Name: mb.Anchors[i].Name, USCC: mb.Anchors[i].USCC, Region: mb.Code})
	}
	kr, err := schemas.NewKeyring(anchors)
	if err != nil {
		return nil, fmt.Errorf("member %s anchors: %w", mb.Code, err)
	}
	return &EntryVerifier{m: m, mb: mb, kr: kr, val: schemas.NewValidator(nil), anchor: anchors}, nil
}

// Next is the index the next Check must be for.
func (v *EntryVerifier) Next() uint64 { return v.next }

// Skip moves to index next without checking, applying the governance
// records gov (index -> entry) on the way: used after a restart, for
// entries that were verified before being committed.
func (v *EntryVerifier) Skip(next uint64, gov func(yield func(index uint64, entry []byte) bool)) error {
	var err error
	gov(func(index uint64, e []byte) bool {
		s, perr := schemas.ParseSigned(e)
		if perr != nil {
			err = perr
			return false
		}
		rec, derr := s.Decode()
		if g, ok := rec.(*schemas.Governance); derr == nil && ok {
			v.kr.Apply(index, g, s.KeyID) // refused records were refused when checked, too
		}
		return true
	})
	v.next = next
	return err
}

// Check verifies entry index (which must be Next()): a canonical signed
// envelope; a key of the member's keyring valid at index; the signature; and,
// for a schema this version knows, the record decodes, validates, names the
// member's region and the key's owner as submitter (the owner rules of
// sanctions.CheckOwner read it), and (governance) is signed by an anchor, in which case
// it is applied to the keyring. It returns accepted=false for a schema the
// manifest does not accept (or this version does not know): such an entry is
// stored but never indexed. Every failure is an *EntryError.
func (v *EntryVerifier) Check(index uint64, e []byte) (accepted bool, err error) {
	fail := func(reason string, err error) (bool, error) {
		return false, &EntryError{Origin: v.mb.Origin(), Index: index, Reason: reason, Err: err}
	}
	if index != v.next {
		return fail(fmt.Sprintf("out of order (expected entry %d)", v.next), nil)
	}
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return fail("envelope", err)
	}
	ki, err := v.kr.Lookup(s.KeyID, index)
	if err != nil {
		return fail("signing key "+s.KeyID, err)
	}
	if err := s.Verify(ki.Public); err != nil {
		return fail("signature", err)
	}
	rec, err := s.Decode()
	if errors.Is(err, schemas.ErrUnknownSchema) {
		v.next++
		return false, nil
	}
	if err != nil {
		return fail("record", err)
	}
	if why := v.headerProblem(rec, s.KeyID, ki); why != "" {
		return fail(why, nil)
	}
	if g, ok := rec.(*schemas.Governance); ok {
		if !ki.Anchor {
			return fail("governance record not signed by a credit-office anchor key", nil)
		}
		if err := v.kr.Apply(index, g, s.KeyID); err != nil {
			return fail("governance record", err)
		}
	}
	if err := v.val.Validate(rec); err != nil {
		return fail("validation", err)
	}
	v.next++
	return v.m.Accepts(rec.SchemaID()), nil
}

// CheckBatch is Check for entries first, first+1, ... with the independent
// work (Ed25519 signatures, validation) spread over all CPUs; governance
// records are still verified and applied in order, before any later entry's
// key is looked up. The result is the same as calling Check in order; the
// first failure (lowest index) is returned. After an error the verifier's
// state is unspecified: discard it.
func (v *EntryVerifier) CheckBatch(first uint64, entries [][]byte) (accepted []bool, err error) {
	accepted, _, err = v.CheckBatchParsed(first, entries)
	return accepted, err
}

// Verified is the strict parse CheckBatchParsed made of an entry it
// verified: its envelope and its decoded record (nil for a schema this
// build does not decode).
type Verified struct {
	Signed *schemas.Signed
	Rec    schemas.Record
}

// CheckBatchParsed is CheckBatch that also returns its parse of each
// entry (on success only), so that the caller can hand it to this
// replica's indexer instead of parsing the same bytes again.
func (v *EntryVerifier) CheckBatchParsed(first uint64, entries [][]byte) (accepted []bool, parsed []Verified, err error) {
	if first != v.next {
		return nil, nil, &EntryError{Origin: v.mb.Origin(), Index: first, Reason: fmt.Sprintf("out of order (expected entry %d)", v.next)}
	}
	parsed = make([]Verified, len(entries))
	type job struct {
		i   int
		s   *schemas.Signed
		pub ed25519.PublicKey
		rec schemas.Record
	}
	accepted = make([]bool, len(entries))
	errs := make([]error, len(entries))
	var jobs []job
	for i, e := range entries {
		index := first + uint64(i)
		fail := func(reason string, err error) {
			errs[i] = &EntryError{Origin: v.mb.Origin(), Index: index, Reason: reason, Err: err}
		}
		s, err := schemas.ParseSigned(e)
		if err != nil {
			fail("envelope", err)
			break
		}
		ki, err := v.kr.Lookup(s.KeyID, index)
		if err != nil {
			fail("signing key "+s.KeyID, err)
			break
		}
		rec, err := s.Decode()
		parsed[i].Signed = s
		if errors.Is(err, schemas.ErrUnknownSchema) {
			jobs = append(jobs, job{i: i, s: s, pub: ki.Public})
			continue
		}
		if err != nil {
			fail("record", err)
			break
		}
		if why := v.headerProblem(rec, s.KeyID, ki); why != "" {
			fail(why, nil)
			break
		}
		if g, ok := rec.(*schemas.Governance); ok {
			if !ki.Anchor {
				fail("governance record not signed by a credit-office anchor key", nil)
				break
			}
			if err := s.Verify(ki.Public); err != nil {
				fail("signature", err)
				break
			}
			if err := v.kr.Apply(index, g, s.KeyID); err != nil {
				fail("governance record", err)
				break
			}
			jobs = append(jobs, job{i: i, rec: rec})
			parsed[i].Rec = rec
			continue
		}
		jobs = append(jobs, job{i: i, s: s, pub: ki.Public, rec: rec})
		parsed[i].Rec = rec
	}
	// Each worker takes a contiguous share of the jobs and checks its
	// signatures as one Ed25519 batch (schemas.VerifyBatch), then validates.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	share := (len(jobs) + workers - 1) / max(workers, 1)
	for lo := 0; lo < len(jobs); lo += share {
		part := jobs[lo:min(len(jobs), lo+share)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sigs []schemas.SigCheck
			var who []int
			for k, j := range part {
				if j.s != nil {
					sigs = append(sigs, schemas.SigCheck{S: j.s, Pub: j.pub})
					who = append(who, k)
				}
			}
			sigErrs := make([]error, len(part))
			for n, err := range schemas.VerifyBatch(sigs) {
				sigErrs[who[n]] = err
			}
			for k, j := range part {
				index := first + uint64(j.i)
				if err := sigErrs[k]; err != nil {
					errs[j.i] = &EntryError{Origin: v.mb.Origin(), Index: index, Reason: "signature", Err: err}
					continue
				}
				if j.rec == nil {
					continue // unknown schema: verified, not accepted
				}
				if err := v.val.Validate(j.rec); err != nil {
					errs[j.i] = &EntryError{Origin: v.mb.Origin(), Index: index, Reason: "validation", Err: err}
					continue
				}
				accepted[j.i] = v.m.Accepts(j.rec.SchemaID())
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	v.next = first + uint64(len(entries))
	return accepted, parsed, nil
}

// headerProblem says why the header of rec, signed with key keyID (ki), is
// not acceptable in this member's ledger, or "": it must name the member's
// region and, as submitter, the key's owner (the owner rules of
// sanctions.CheckOwner read the submitter).
func (v *EntryVerifier) headerProblem(rec schemas.Record, keyID string, ki schemas.KeyInfo) string {
	h := schemas.HeaderOf(rec)
	switch {
	case h.Region != v.mb.Code:
		return fmt.Sprintf("record region %s is not the member's %s", h.Region, v.mb.Code)
	case h.Submitter != ki.AgencyUSCC:
		return fmt.Sprintf("record names submitter %s but is signed with key %s of %s", h.Submitter, keyID, ki.AgencyUSCC)
	}
	return ""
}
