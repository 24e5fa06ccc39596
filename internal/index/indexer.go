package index

import (
	"bytes"
	"fmt"
	"log/slog"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Steps are what the indexer runs per entry besides its own buckets, in
// the same transaction: the parts of the replica that other packages own
// (package node sets them). Every function runs inside the FSM's apply
// transaction; its error fails that transaction. The steps must be
// deterministic functions of the transaction's state and the entry, so
// that every replica writes the same.
type Steps struct {
	Access string // the access log's origin: never indexed
	Origin string // the region's own ledger: its governance records feed the keyring

	// NoticeQueue and Notices name the notice queue and the own notices
	// by agency buckets (package node's notices):
	//	NoticeQueue: listing entry key -> QueueValue at indexing
	//	Notices:     agency USCC || 0x00 || notice entry key -> empty
	NoticeQueue, Notices string
	// NotApplied records a listing this member can issue nothing for and
	// reports whether it did (it then queues no notices).
	NotApplied func(tx *ledger.Tx, ek []byte, l *schemas.Listing) (bool, error)
	// QueueValue is the notice-queue value of a listing indexed now.
	QueueValue func(tx *ledger.Tx) ([]byte, error)
	// OwnNoticeLog reports whether origin is a log this region's notices
	// are issued in.
	OwnNoticeLog func(origin string) bool
	// ProvisionalNotice lists an own notice issued with a provisional
	// deadline.
	ProvisionalNotice func(tx *ledger.Tx, ek []byte) error

	// CatalogueAdopt and CalendarAdopt apply a catalogue_adopt or
	// calendar_adopt governance record at origin#index (entry e).
	CatalogueAdopt, CalendarAdopt func(tx *ledger.Tx, origin string, index uint64, e []byte) error
	// Keyring applies a governance record of the own ledger to the
	// in-memory keyring; its error is logged, never returned (the record
	// is in the ledger whatever the keyring says).
	Keyring func(index uint64, g *schemas.Governance, keyID string) error
	// MirroredDuplicate reports whether the entry is a re-signed copy of
	// a record indexed before (then indexed for checks only: no notices,
	// changes or refs).
	MirroredDuplicate func(tx *ledger.Tx, origin string, index uint64, s *schemas.Signed, kind string) (bool, error)
	// Change records the entry's listing change (the changes feed).
	Change func(tx *ledger.Tx, origin string, ek []byte, v View) error
	// Conflicts re-detects the conflicts of the subjects the entry touches.
	Conflicts func(tx *ledger.Tx, origin string, index uint64, v View) error
	// Reconcile, if set, brings the adopted schema set up to date after
	// each indexed batch, indexing newly admitted mirror entries with
	// reindex.
	Reconcile func(tx *ledger.Tx, reindex func(origin string, first uint64, entries [][]byte) error) error

	Logger *slog.Logger
}

// Indexer maintains the subject, reference, governance and check indexes
// as the FSM applies entries. Safe for concurrent use (the admitted
// parses are; the indexing itself runs in the FSM's transaction).
type Indexer struct {
	steps    Steps // set by New, read-only
	admitted admittedParses
}

// New returns an indexer running steps.
func New(steps Steps) *Indexer { return &Indexer{steps: steps} }

// Index indexes entries first.. of origin in tx. Data problems are
// recorded in the bad bucket, never returned. It then brings the adopted
// schema set up to date (Steps.Reconcile), which may index flagged mirror
// entries too.
func (ix *Indexer) Index(tx *ledger.Tx, origin string, first uint64, entries [][]byte) error {
	return ix.IndexParsed(tx, origin, first, entries, nil)
}

// IndexParsed is Index for entries the FSM's apply step already parsed
// (parsed[i] is Parse(entries[i]); nil: parse them here).
func (ix *Indexer) IndexParsed(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []Parsed) error {
	if origin == ix.steps.Access {
		return nil
	}
	if err := ix.index(tx, origin, first, entries, parsed); err != nil {
		return err
	}
	if ix.steps.Reconcile != nil {
		return ix.steps.Reconcile(tx, func(origin string, first uint64, entries [][]byte) error {
			return ix.index(tx, origin, first, entries, nil)
		})
	}
	return nil
}

// ParsedFor returns the parse of entry e (leaf hash leaf) if admission
// on this replica made one (Admitted), else parses e itself (ParsedOf).
func (ix *Indexer) ParsedFor(leaf tlog.Hash, e []byte) Parsed {
	if pe, ok := ix.admitted.take(leaf); ok {
		return pe
	}
	return ParsedOf(leaf, e)
}

// Admitted records admission's parse of entry e, accepted, for the FSM
// to take (ParsedFor) instead of parsing the same bytes again.
func (ix *Indexer) Admitted(e []byte, s *schemas.Signed, rec schemas.Record) {
	ix.admitted.put(Parsed{Leaf: tlog.RecordHash(e), Signed: s, Rec: rec})
}

// AdmittedLeaf is Admitted for an entry whose leaf hash the caller has
// computed from its bytes in this process (the mirror's verifier, which
// checked it against the origin's authenticated hash tiles).
func (ix *Indexer) AdmittedLeaf(leaf tlog.Hash, s *schemas.Signed, rec schemas.Record) {
	ix.admitted.put(Parsed{Leaf: leaf, Signed: s, Rec: rec})
}

// index is IndexParsed without the adopted-set reconciliation; parsed may be nil.
func (ix *Indexer) index(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []Parsed) error {
	var bs [4]*bbolt.Bucket
	for i, name := range []string{BucketSubjects, BucketRefs, BucketGov, BucketBad} {
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
	st := &ix.steps
	for i, e := range entries {
		index := first + uint64(i)
		ek := entryKey(origin, index)
		var pe Parsed
		if parsed != nil {
			pe = parsed[i]
		} else {
			pe = Parse(e)
		}
		v, err := ViewOf(pe)
		if err != nil {
			if err := bad.Put(ek, []byte(err.Error())); err != nil {
				return err
			}
			continue
		}
		kb := kindByte[v.Kind]
		for _, sk := range v.Subjects {
			k := append(append([]byte(sk.Key), 0), ek...)
			b := KListing
			if sk.Responsible {
				b = KResponsible
			}
			if err := subj.Put(k, []byte{b}); err != nil {
				return err
			}
		}
		if v.Listing != nil && len(v.Subjects) > 0 {
			if err := ci.putListing(refs, ek, pe.Leaf, v.Listing, v.Subjects); err != nil {
				return err
			}
		}
		if v.Kind == "governance" {
			if err := gov.Put(ek, []byte(v.KeyID)); err != nil {
				return err
			}
			if exchange.IsExchangeGovernance(v.Action) {
				// Invalidates the adopted set (exchange/adopt.go).
				if _, err := gov.NextSequence(); err != nil {
					return err
				}
			}
			if v.Action == schemas.ActionCatalogueAdopt {
				if err := st.CatalogueAdopt(tx, origin, index, e); err != nil {
					return err
				}
			}
			if v.Action == schemas.ActionCalendarAdopt {
				if err := st.CalendarAdopt(tx, origin, index, e); err != nil {
					return err
				}
			}
			if origin == st.Origin {
				if err := ix.applyGovernance(index, e); err != nil {
					st.Logger.Warn("governance record not applied to keyring", "index", index, "err", err)
				}
			}
		}
		if dup, err := st.MirroredDuplicate(tx, origin, index, pe.Signed, v.Kind); err != nil {
			return err
		} else if dup {
			// indexed for checks; its first copy queued the notices
			if err := st.Conflicts(tx, origin, index, v); err != nil {
				return err
			}
			continue
		}
		if err := ix.indexSanctions(tx, origin, ek, v); err != nil {
			return err
		}
		if err := st.Change(tx, origin, ek, v); err != nil {
			return err
		}
		for _, ref := range v.Refs {
			k := append(entryKey(ref.Origin, ref.Index), ek...)
			if err := refs.Put(k, []byte{kb}); err != nil {
				return err
			}
			if err := ci.markEvents(tx, ref, kb); err != nil {
				return err
			}
		}
		if err := st.Conflicts(tx, origin, index, v); err != nil {
			return err
		}
	}
	return nil
}

// applyGovernance fully decodes a governance entry (rare) into the keyring.
func (ix *Indexer) applyGovernance(index uint64, e []byte) error {
	g, keyID, err := decodeGovernance(e)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("entry %d is not a governance record", index)
	}
	return ix.steps.Keyring(index, g, keyID)
}

// decodeGovernance decodes entry e; g is nil if it is another record.
func decodeGovernance(e []byte) (g *schemas.Governance, keyID string, err error) {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil, "", err
	}
	rec, err := s.Decode()
	if err != nil {
		return nil, "", err
	}
	g, _ = rec.(*schemas.Governance)
	return g, s.KeyID, nil
}

// indexSanctions keeps the sanctions engine's derived state for the
// entry: a listing is queued for its notices (unless not applied), an own
// notice leaves the queue and is listed under its executing agency.
func (ix *Indexer) indexSanctions(tx *ledger.Tx, origin string, ek []byte, v View) error {
	st := &ix.steps
	switch {
	case v.Kind == "listing":
		if na, err := st.NotApplied(tx, ek, v.Listing); err != nil || na {
			return err // recorded as not applied: nothing to issue
		}
		q, err := tx.Bucket(st.NoticeQueue)
		if err != nil {
			return err
		}
		at, err := st.QueueValue(tx) // raft time || catalogue in force
		if err != nil {
			return err
		}
		return q.Put(ek, at)
	case v.Kind == "sanction_notice" && st.OwnNoticeLog(origin) && len(v.Refs) > 0:
		q, err := tx.Bucket(st.NoticeQueue)
		if err != nil {
			return err
		}
		if err := q.Delete(entryKey(v.Refs[0].Origin, v.Refs[0].Index)); err != nil {
			return err
		}
		nb, err := tx.Bucket(st.Notices)
		if err != nil {
			return err
		}
		if v.Provisional {
			if err := st.ProvisionalNotice(tx, ek); err != nil {
				return err
			}
		}
		return nb.Put(append(append([]byte(v.Agency), 0), ek...), nil)
	}
	return nil
}

// ReplayGovernance calls apply for every governance record of origin's
// ledger in the gov index, in order (the keyring at start-up and after a
// snapshot restore). A record apply refuses is the caller's to log; a key
// or entry that cannot be read is an error.
func ReplayGovernance(tx *ledger.ReadTx, origin string, apply func(index uint64, g *schemas.Governance, keyID string)) error {
	gov := tx.Bucket(BucketGov)
	if gov == nil {
		return nil
	}
	lr := tx.Log(origin)
	prefix := append([]byte(origin), 0)
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
		g, _, err := decodeGovernance(e)
		if err != nil {
			return err
		}
		if g != nil {
			apply(index, g, string(v))
		}
	}
	return nil
}
