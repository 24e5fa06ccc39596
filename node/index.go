package node

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Index buckets in ledger.db, written by the FSM in the same transaction as
// the entries they index. Changing these names or layouts breaks existing
// data directories (bump indexVersion and rebuild instead).
//
//	subjects: subject key || 0x00 || origin || 0x00 || uint64 BE index  -> kind byte
//	          (subject key = USCC, or "h1:<hex>" keyed hash of a citizen ID;
//	           responsible persons of a listed enterprise are indexed too)
//	refs:     origin || 0x00 || uint64 BE target index || origin || 0x00 || uint64 BE index -> kind byte
//	          (every event that references an earlier one: notices, feedback,
//	           objections, decisions, repairs, corrections)
//	gov:      origin || 0x00 || uint64 BE index -> signer key id (governance records, in order);
//	          the bucket's sequence counts the member_approve, member_remove and
//	          schema_adopt records indexed (the adopted set's key, exchange/adopt.go)
//	bad:      origin || 0x00 || uint64 BE index -> reason (entries that did not decode; never indexed)
//	checkstate: the check index, a derived copy of each listing under its subject keys (checkindex.go)
const (
	bucketSubjects = "subjects"
	bucketRefs     = "refs"
	bucketGov      = exchange.BucketGov
	bucketBad      = "bad"
)

// Kind bytes stored in the index.
const (
	kListing byte = 1 + iota
	kNotice
	kFeedback
	kObjection
	kDecision
	kRepair
	kCorrection
	kGovernance
	kResponsible // a listing, indexed under a responsible person of the subject
)

var kindByte = map[string]byte{
	"listing": kListing, "sanction_notice": kNotice, "feedback": kFeedback, "objection": kObjection,
	"objection_decision": kDecision, "repair": kRepair, "correction": kCorrection, "governance": kGovernance,
}

func entryKey(origin string, index uint64) []byte { return exchange.EntryKey(origin, index) }

func splitEntryKey(k []byte) (origin string, index uint64, ok bool) { return exchange.SplitEntryKey(k) }

// indexer maintains the subject, reference and governance indexes, and the
// in-memory keyring, as entries are applied.
type indexer struct {
	node *Node
	// admitted holds the parses of entries this replica's admission
	// accepted, until the FSM applies them (admittedParses).
	admitted admittedParses
}

// Index implements Indexer. See the Indexer contract: data problems are
// recorded in the bad bucket, never returned. For a consortium member it
// then brings the adopted schema set up to date (reconcileSchemas), which
// may index flagged mirror entries too.
func (ix *indexer) Index(tx *ledger.Tx, origin string, first uint64, entries [][]byte) error {
	return ix.indexParsed(tx, origin, first, entries, nil)
}

// indexParsed is Index for entries the FSM's apply step already parsed
// (parsed[i] is parseEntry(entries[i]); nil: parse them here).
func (ix *indexer) indexParsed(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []parsedEntry) error {
	if origin == ix.node.access {
		return nil
	}
	if err := ix.index(tx, origin, first, entries, parsed); err != nil {
		return err
	}
	if x := ix.node.x; x != nil {
		return x.ReconcileSchemas(tx, ix.node.fsm.now, func(origin string, first uint64, entries [][]byte) error {
			return ix.index(tx, origin, first, entries, nil)
		})
	}
	return nil
}

// parsedIndexer is an Indexer that takes entries the FSM already parsed
// (applyAppend), so that each entry is parsed once on the apply path.
type parsedIndexer interface {
	indexParsed(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []parsedEntry) error
	// parsedFor returns the parse of entry e (leaf hash leaf) if admission
	// on this replica made one, else parses e itself (parsedEntryOf).
	parsedFor(leaf tlog.Hash, e []byte) parsedEntry
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
	m  map[tlog.Hash]parsedEntry
}

// admittedMax bounds admittedParses (about 3 KiB each for ~1 KiB listings).
const admittedMax = 8192

func (a *admittedParses) put(pe parsedEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) >= admittedMax {
		a.m = make(map[tlog.Hash]parsedEntry)
	}
	a.m[pe.leaf] = pe
}

func (a *admittedParses) take(leaf tlog.Hash) (parsedEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pe, ok := a.m[leaf]
	if ok {
		delete(a.m, leaf)
	}
	return pe, ok
}

// parsedFor implements parsedIndexer.
func (ix *indexer) parsedFor(leaf tlog.Hash, e []byte) parsedEntry {
	if pe, ok := ix.admitted.take(leaf); ok {
		return pe
	}
	return parsedEntryOf(leaf, e)
}

// admitted records admission's parse of entry e, accepted (admission.go).
func (ix *indexer) admittedEntry(e []byte, s *schemas.Signed, rec schemas.Record) {
	ix.admitted.put(parsedEntry{leaf: tlog.RecordHash(e), signed: s, rec: rec})
}

// parsedEntry is one entry as the FSM's apply step parses it, once, from
// the bytes it appends (on every replica, never a form received from the
// leader): its leaf hash and its signed envelope (signed nil and err set
// if it is not a signed record, as access-log entries are not). The
// record dedupe, the indexer, the check index and conflict detection all
// read this one parse.
type parsedEntry struct {
	leaf   tlog.Hash
	signed *schemas.Signed
	err    error          // the envelope's (schemas.ParseSigned's) error
	rec    schemas.Record // the strictly decoded record (nil: decErr, or err)
	decErr error          // schemas.Decode's error for the record
}

// parseEntry parses and decodes entry e strictly (schemas.ParseDecode:
// envelope, canonical record, record of a known schema exactly in its
// canonical encoding) and hashes it.
func parseEntry(e []byte) parsedEntry {
	return parsedEntryOf(tlog.RecordHash(e), e)
}

// parsedEntryOf is parseEntry with the leaf hash of e already computed.
func parsedEntryOf(leaf tlog.Hash, e []byte) parsedEntry {
	pe := parsedEntry{leaf: leaf}
	pe.signed, pe.rec, pe.err = schemas.ParseDecode(e)
	if pe.signed != nil && pe.err != nil {
		pe.decErr, pe.err = pe.err, nil
	}
	return pe
}

// index is Index without the adopted-set reconciliation; parsed may be nil.
func (ix *indexer) index(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []parsedEntry) error {
	var bs [4]*bbolt.Bucket
	for i, name := range []string{bucketSubjects, bucketRefs, bucketGov, bucketBad} {
		var err error
		if bs[i], err = tx.Bucket(name); err != nil {
			return err
		}
	}
	subj, refs, gov, bad := bs[0], bs[1], bs[2], bs[3]
	ci, err := openCheckIndex(tx, subj) // checkindex.go
	if err != nil {
		return err
	}
	for i, e := range entries {
		index := first + uint64(i)
		ek := entryKey(origin, index)
		var pe parsedEntry
		if parsed != nil {
			pe = parsed[i]
		} else {
			pe = parseEntry(e)
		}
		v, err := indexViewOf(pe)
		if err != nil {
			if err := bad.Put(ek, []byte(err.Error())); err != nil {
				return err
			}
			continue
		}
		kb := kindByte[v.kind]
		for _, sk := range v.subjects {
			k := append(append([]byte(sk.key), 0), ek...)
			b := kListing
			if sk.responsible {
				b = kResponsible
			}
			if err := subj.Put(k, []byte{b}); err != nil {
				return err
			}
		}
		if v.listing != nil && len(v.subjects) > 0 {
			if err := ci.putListing(refs, ek, pe.leaf, v.listing, v.subjects); err != nil {
				return err
			}
		}
		if v.kind == "governance" {
			if err := gov.Put(ek, []byte(v.keyID)); err != nil {
				return err
			}
			if exchange.IsExchangeGovernance(v.action) {
				// Invalidates the adopted set (exchange/adopt.go).
				if _, err := gov.NextSequence(); err != nil {
					return err
				}
			}
			if v.action == schemas.ActionCatalogueAdopt {
				if err := ix.indexCatalogueAdopt(tx, origin, index, e); err != nil { // catalogue.go
					return err
				}
			}
			if v.action == schemas.ActionCalendarAdopt {
				if err := ix.indexCalendarAdopt(tx, origin, index, e); err != nil {
					return err
				}
			}
			if origin == ix.node.origin {
				if err := ix.applyGovernance(index, e); err != nil {
					ix.node.logger.Warn("governance record not applied to keyring", "index", index, "err", err)
				}
			}
		}
		if dup, err := ix.mirroredDuplicate(tx, origin, index, pe.signed, v.kind); err != nil { // dedupe.go
			return err
		} else if dup {
			// indexed for checks; its first copy queued the notices
			if err := ix.indexConflicts(tx, origin, index, v); err != nil { // conflicts.go
				return err
			}
			continue
		}
		if err := ix.indexSanctions(tx, origin, ek, v); err != nil {
			return err
		}
		if err := ix.indexChange(tx, origin, ek, v); err != nil { // changes.go
			return err
		}
		for _, ref := range v.refs {
			k := append(entryKey(ref.Origin, ref.Index), ek...)
			if err := refs.Put(k, []byte{kb}); err != nil {
				return err
			}
			if err := ci.markEvents(tx, ref, kb); err != nil {
				return err
			}
		}
		if err := ix.indexConflicts(tx, origin, index, v); err != nil { // conflicts.go
			return err
		}
	}
	return nil
}

// applyGovernance fully decodes a governance entry (rare) into the keyring.
func (ix *indexer) applyGovernance(index uint64, e []byte) error {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return err
	}
	rec, err := s.Decode()
	if err != nil {
		return err
	}
	g, ok := rec.(*schemas.Governance)
	if !ok {
		return fmt.Errorf("entry %d is not a governance record", index)
	}
	return ix.node.keyring.Load().Apply(index, g, s.KeyID)
}

// indexView is the little the indexer needs from an entry. It is read with
// the schemas package's fast canonical decoder (no validation: admission, or
// the mirror's verifier, already did that).
type indexView struct {
	kind     string
	keyID    string
	subjects []subjectKey
	refs     []schemas.Ref
	agency   string // executing agency of a sanction notice
	// provisional: a sanction notice's feedback deadline is provisional
	provisional bool
	listing     *schemas.Listing // the decoded listing, for kind "listing"
	action      string           // governance action
	leaf        tlog.Hash        // the entry's leaf hash
}

func decodeIndexView(e []byte) (indexView, error) { return indexViewOf(parseEntry(e)) }

// indexViewOf decodes the record of an entry parsed by parseEntry.
func indexViewOf(pe parsedEntry) (indexView, error) {
	if pe.err != nil {
		return indexView{}, fmt.Errorf("not a signed record: %w", pe.err)
	}
	s, rec := pe.signed, pe.rec
	if pe.decErr != nil {
		return indexView{}, fmt.Errorf("record: %w", pe.decErr)
	}
	v := indexView{kind: rec.Kind(), keyID: s.KeyID, refs: recordRefs(rec), leaf: pe.leaf}
	switch r := rec.(type) {
	case *schemas.Listing:
		v.subjects = listingSubjectKeys(r)
		v.listing = r
	case *schemas.SanctionNotice:
		v.agency = r.ExecutingAgency.USCC
		v.provisional = r.FeedbackDueProvisional
	case *schemas.Governance:
		v.action = r.Action
	}
	return v, nil
}

type subjectKey struct {
	key         string
	responsible bool
}

// listingSubjectKeys are the keys a listing is found under: the subject's
// USCC or ID hash, and the ID hashes of its responsible persons.
func listingSubjectKeys(l *schemas.Listing) []subjectKey {
	var out []subjectKey
	if l.Subject.USCC != "" {
		out = append(out, subjectKey{key: l.Subject.USCC})
	}
	if l.Subject.Person != nil && l.Subject.Person.IDHash != "" {
		out = append(out, subjectKey{key: l.Subject.Person.IDHash})
	}
	for _, rp := range l.Subject.ResponsiblePersons {
		if rp.Person.IDHash != "" {
			out = append(out, subjectKey{key: rp.Person.IDHash, responsible: true})
		}
	}
	return out
}

// recordRefs lists the earlier events a record refers to.
func recordRefs(rec schemas.Record) []schemas.Ref {
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

// rebuildKeyring replays the governance index of the region's own ledger into
// a fresh keyring (at start-up and after a snapshot restore).
func (n *Node) rebuildKeyring() error {
	anchors, err := parseAnchors(n.cfg.Region, n.cfg.Anchors)
	if err != nil {
		return err
	}
	kr, err := schemas.NewKeyring(anchors)
	if err != nil {
		return err
	}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		gov := tx.Bucket(bucketGov)
		if gov == nil {
			return nil
		}
		lr := tx.Log(n.origin)
		prefix := append([]byte(n.origin), 0)
		c := gov.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			_, index, ok := splitEntryKey(k)
			if !ok {
				return fmt.Errorf("corrupt gov index key %x", k)
			}
			e, err := lr.Entry(index)
			if err != nil {
				return err
			}
			s, err := schemas.ParseSigned(e)
			if err != nil {
				return err
			}
			rec, err := s.Decode()
			if err != nil {
				return err
			}
			if g, ok := rec.(*schemas.Governance); ok {
				if err := kr.Apply(index, g, string(v)); err != nil {
					n.logger.Warn("governance record not applied to keyring", "index", index, "err", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.keyring.Store(kr)
	return nil
}
