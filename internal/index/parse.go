package index

import (
	"fmt"
	"sync"

	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Parsed is one entry as the FSM's apply step parses it, once, from the
// bytes it appends (on every replica, never a form received from the
// leader): its leaf hash and its signed envelope (Signed nil and Err set
// if it is not a signed record, as access-log entries are not). The
// record dedupe, the indexer, the check index and conflict detection all
// read this one parse.
type Parsed struct {
	Leaf   tlog.Hash
	Signed *schemas.Signed
	Err    error          // the envelope's (schemas.ParseSigned's) error
	Rec    schemas.Record // the strictly decoded record (nil: DecErr, or Err)
	DecErr error          // schemas.Decode's error for the record
}

// Parse parses and decodes entry e strictly (schemas.ParseDecode:
// envelope, canonical record, record of a known schema exactly in its
// canonical encoding) and hashes it.
func Parse(e []byte) Parsed {
	return ParsedOf(tlog.RecordHash(e), e)
}

// ParsedOf is Parse with the leaf hash of e already computed.
func ParsedOf(leaf tlog.Hash, e []byte) Parsed {
	pe := Parsed{Leaf: leaf}
	pe.Signed, pe.Rec, pe.Err = schemas.ParseDecode(e)
	if pe.Signed != nil && pe.Err != nil {
		pe.DecErr, pe.Err = pe.Err, nil
	}
	return pe
}

// admittedParses hands the parse that admission made of an accepted entry
// to this replica's FSM, which would otherwise parse the same bytes again
// (about 10 CPU-us per ~1 KiB listing). An entry is found by its leaf hash,
// the SHA-256 of its exact bytes, which the FSM computes from the bytes it
// appends: a parse found is a parse of those bytes, and parsing is a pure
// function of them, so a replica that finds one and a replica that parses
// (every follower, or after a restart) index the same. Only successful
// parses are kept. Taking an entry removes it; entries admitted and never
// applied (a refused or failed proposal) are dropped when the set reaches
// admittedMax, so it stays bounded. Safe for concurrent use.
type admittedParses struct {
	mu sync.Mutex
	m  map[tlog.Hash]Parsed // guarded by mu
}

// admittedMax bounds admittedParses (about 3 KiB each for ~1 KiB listings):
// room for a mirror batch being applied (exchange's mirrorBatch, 4096,
// handed over by the mirror loop) beside admission's.
const admittedMax = 16384

func (a *admittedParses) put(pe Parsed) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) >= admittedMax {
		a.m = make(map[tlog.Hash]Parsed)
	}
	a.m[pe.Leaf] = pe
}

func (a *admittedParses) take(leaf tlog.Hash) (Parsed, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pe, ok := a.m[leaf]
	if ok {
		delete(a.m, leaf)
	}
	return pe, ok
}

// View is the little the indexer needs from an entry, read from its
// strict parse (no validation: admission, or the mirror's verifier,
// already did that).
type View struct {
	Kind     string
	KeyID    string
	Subjects []SubjectKey
	Refs     []schemas.Ref
	Agency   string // executing agency of a sanction notice
	// Provisional: a sanction notice's feedback deadline is provisional.
	Provisional bool
	Listing     *schemas.Listing // the decoded listing, for kind "listing"
	Action      string           // governance action
	Leaf        tlog.Hash        // the entry's leaf hash
}

// DecodeView is ViewOf(Parse(e)).
func DecodeView(e []byte) (View, error) { return ViewOf(Parse(e)) }

// ViewOf decodes the record of an entry parsed by Parse. Its error is the
// reason recorded in the bad bucket.
func ViewOf(pe Parsed) (View, error) {
	if pe.Err != nil {
		return View{}, fmt.Errorf("not a signed record: %w", pe.Err)
	}
	s, rec := pe.Signed, pe.Rec
	if pe.DecErr != nil {
		return View{}, fmt.Errorf("record: %w", pe.DecErr)
	}
	v := View{Kind: rec.Kind(), KeyID: s.KeyID, Refs: RecordRefs(rec), Leaf: pe.Leaf}
	switch r := rec.(type) {
	case *schemas.Listing:
		v.Subjects = ListingSubjectKeys(r)
		v.Listing = r
	case *schemas.SanctionNotice:
		v.Agency = r.ExecutingAgency.USCC
		v.Provisional = r.FeedbackDueProvisional
	case *schemas.Governance:
		v.Action = r.Action
	}
	return v, nil
}

// SubjectKey is a key a listing is indexed under.
type SubjectKey struct {
	Key         string // USCC or "h1:" ID hash
	Responsible bool   // a responsible person of the listed subject
}

// ListingSubjectKeys are the keys a listing is found under: the subject's
// USCC or ID hash, and the ID hashes of its responsible persons.
func ListingSubjectKeys(l *schemas.Listing) []SubjectKey {
	var out []SubjectKey
	if l.Subject.USCC != "" {
		out = append(out, SubjectKey{Key: l.Subject.USCC})
	}
	if l.Subject.Person != nil && l.Subject.Person.IDHash != "" {
		out = append(out, SubjectKey{Key: l.Subject.Person.IDHash})
	}
	for _, rp := range l.Subject.ResponsiblePersons {
		if rp.Person.IDHash != "" {
			out = append(out, SubjectKey{Key: rp.Person.IDHash, Responsible: true})
		}
	}
	return out
}

// RecordRefs lists the earlier events a record refers to.
func RecordRefs(rec schemas.Record) []schemas.Ref {
	switch r := rec.(type) {
	case *schemas.SanctionNotice:
		return []schemas.Ref{r.Listing}
	case *schemas.Feedback:
		return []schemas.Ref{r.Notice}
	case *schemas.Objection:
		return []schemas.Ref{r.Target}
	case *schemas.ObjectionDecision:
		return []schemas.Ref{r.Objection}
	case *schemas.Repair:
		return []schemas.Ref{r.Listing}
	case *schemas.Correction:
		return []schemas.Ref{r.Target}
	}
	return nil
}
