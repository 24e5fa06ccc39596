package index

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// The check index (issue 21, P3): a derived-state index per subject, kept by
// the FSM in the same bbolt transaction as the subjects and refs indexes
// (indexer.go), so that GET and POST /v1/check answer a subject from one range
// read of this bucket instead of walking the subjects index, reading and
// decoding each listing's ledger entry, and walking the refs index for its
// events.
//
//	checkstate: subject key || 0x00 || origin || 0x00 || uint64 BE index
//	            -> kind byte (KListing or KResponsible, as in subjects)
//	               || flags byte (checkEvents: the listing has an event that
//	                  can change its state)
//	               || leaf hash (32 bytes)
//	               || the listing's canonical record without the fields no
//	                  check reads (reason, remedies, removal conditions,
//	                  legal basis, evidence, pre-notice, source unit: the
//	                  long texts, and the synthetic padding)
//	            "\x00complete" -> present if the bucket was created together
//	            with the subjects index (a fresh ledger), so it covers every
//	            listing the subjects index holds
//
// Guarantees:
//   - Same answer. A listing with no objection, decision, repair or
//     correction referencing it (the history walk's own rule: sanction
//     notices and feedback never change a listing's state) has an empty
//     history, so the engine gets the same ListingHistory from the stored
//     record as from the ledger entry. A listing with such an event is
//     flagged (when the event is indexed, or when the listing is indexed
//     after an event mirrored earlier) and its history is walked as before.
//   - Same listings. Every Put to the subjects index has its Put here, with
//     the same key and kind, so a range read here lists what subjectListings
//     lists, in the same order.
//   - A data directory indexed before this bucket existed has no complete
//     marker and keeps the history walk for every check (no silent partial
//     answers); rebuilding the indexes from the ledger gives it the marker.
//
// Cost: about 730 bytes of key and value per (subject key, listing) pair (a
// synthetic listing of 1.2 KiB), written in the listing's transaction.
const BucketCheck = "checkstate"

var checkCompleteKey = []byte("\x00complete")

// checkEvents flags a listing whose history has state-changing events.
const checkEvents byte = 1

const checkHeader = 2 + 32 // kind, flags, leaf hash

// checkIndex is the indexer's side of the check index for one transaction.
type checkIndex struct {
	b *bbolt.Bucket
}

// openCheckIndex opens the bucket for writing, setting the complete marker
// if both it and the subjects index are still empty.
func openCheckIndex(tx *ledger.Tx, subj *bbolt.Bucket) (*checkIndex, error) {
	b, err := tx.Bucket(BucketCheck)
	if err != nil {
		return nil, err
	}
	if b.Get(checkCompleteKey) == nil {
		if k, _ := b.Cursor().First(); k == nil {
			if k, _ := subj.Cursor().First(); k == nil {
				if err := b.Put(checkCompleteKey, []byte{1}); err != nil {
					return nil, err
				}
			}
		}
	}
	return &checkIndex{b: b}, nil
}

// CheckComplete reports whether b, the check index bucket (nil: absent),
// has its complete marker.
func CheckComplete(b *bbolt.Bucket) bool { return b != nil && b.Get(checkCompleteKey) != nil }

// CheckFlagged reads a check index value: whether the listing is flagged
// as having state-changing events, and whether v is a value at all.
func CheckFlagged(v []byte) (flagged, ok bool) {
	if len(v) < checkHeader {
		return false, false
	}
	return v[1]&checkEvents != 0, true
}

// checkListing is the part of listing l the check index stores: a copy
// without the fields no check reads (the sanctions engine's state, check
// and conflict rules, and the answer): free text, evidence and the
// procedure before the listing.
func checkListing(l *schemas.Listing) *schemas.Listing {
	c := *l
	c.Reason, c.Remedies, c.RemovalConditions = "", "", ""
	c.LegalBasis, c.Evidence = nil, nil
	c.PreNotice, c.SourceUnit = schemas.PreNotice{}, schemas.Agency{}
	return &c
}

// checkValue is the stored value for listing l (leaf hash h) under a
// subject key, with kind byte 0 to be set per key; events says the listing
// already has state-changing events.
func checkValue(events bool, h tlog.Hash, l *schemas.Listing) ([]byte, error) {
	var flags byte
	if events {
		flags = checkEvents
	}
	v := append(append(make([]byte, 0, checkHeader+checkValueHint), 0, flags), h[:]...)
	v, err := schemas.AppendEncode(v, checkListing(l)) // the record behind the header, one allocation
	if err != nil {
		return nil, fmt.Errorf("check index: %w", err)
	}
	return v, nil
}

// checkValueHint is the room checkValue makes for the stripped listing
// (synthetic listings' are about 620 bytes); a longer one grows the slice.
const checkValueHint = 768

// putListing indexes listing l (the entry at ek, leaf hash leaf) under its
// subject keys, as the subjects index does. refs is the refs bucket: an
// event indexed before the listing (a mirrored ledger read out of order)
// flags it at once.
func (ci *checkIndex) putListing(refs *bbolt.Bucket, ek []byte, leaf tlog.Hash, l *schemas.Listing, keys []SubjectKey) error {
	v, err := checkValue(hasStateEvents(refs, ek), leaf, l) // encoded once for all the keys
	if err != nil {
		return err
	}
	for i, sk := range keys {
		vk := v
		if i > 0 {
			vk = bytes.Clone(v) // bbolt keeps the value until the commit: one slice per key
		}
		vk[0] = KListing
		if sk.Responsible {
			vk[0] = KResponsible
		}
		if err := ci.b.Put(append(append([]byte(sk.Key), 0), ek...), vk); err != nil {
			return err
		}
	}
	return nil
}

// hasStateEvents reports whether the refs index holds an event referencing
// ek that the history walk would read (anything but notices and feedback).
func hasStateEvents(refs *bbolt.Bucket, ek []byte) bool {
	c := refs.Cursor()
	for k, v := c.Seek(ek); k != nil && bytes.HasPrefix(k, ek); k, v = c.Next() {
		if _, _, ok := splitEntryKey(k[len(ek):]); ok && len(v) == 1 && stateEvent(v[0]) {
			return true
		}
	}
	return false
}

// stateEvent is the history walk's rule (History): sanction
// notices and feedback never change a listing's state.
func stateEvent(kind byte) bool { return kind != KNotice && kind != KFeedback }

// markEvents flags the listing at target (if this node holds it and it is a
// listing) under each of its subject keys, after an event of kind was
// indexed that references it.
func (ci *checkIndex) markEvents(tx *ledger.Tx, target schemas.Ref, kind byte) error {
	if !stateEvent(kind) {
		return nil
	}
	e, err := tx.Log(target.Origin).Entry(target.Index)
	if err != nil {
		return nil // not held (yet): putListing flags it when it comes
	}
	l, err := schemas.DecodeListing(e)
	if err != nil {
		return nil // an event referencing a notice, an objection...
	}
	ek := entryKey(target.Origin, target.Index)
	for _, sk := range ListingSubjectKeys(l) {
		k := append(append([]byte(sk.Key), 0), ek...)
		v := ci.b.Get(k)
		if len(v) < checkHeader || v[1]&checkEvents != 0 {
			continue
		}
		nv := bytes.Clone(v)
		nv[1] |= checkEvents
		if err := ci.b.Put(k, nv); err != nil {
			return err
		}
	}
	return nil
}

// JustIndexed is a listing the indexer put in the check index in the
// current transaction: conflict detection hands it to CheckHistories so
// that the listing it just decoded is not read back, hashed and decoded
// again.
type JustIndexed struct {
	Origin  string
	Index   uint64
	Leaf    tlog.Hash
	Listing *schemas.Listing // as decoded from the entry (checkListing strips it)
}

// CheckHistories returns the histories of every listing indexed under
// key, as SubjectHistories does (the same listings, order, histories and
// read errors), from the check index when it is complete; history builds
// the history of a flagged listing (History, or a caller's refinement of
// it). The listing self (may be nil) is taken from memory, not from the
// index value and its ledger entry, if the index holds it unflagged with
// self's leaf hash: the same listing as DecodeStored would give back
// (checkListing of the entry's record), since this transaction wrote that
// value from it.
func CheckHistories(tx *ledger.ReadTx, key string, self *JustIndexed, history HistoryFunc) ([]sanctions.ListingHistory, error) {
	b := tx.Bucket(BucketCheck)
	if !CheckComplete(b) {
		return SubjectHistories(tx, key, history)
	}
	var out []sanctions.ListingHistory
	prefix := append([]byte(key), 0)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		origin, index, ok := splitEntryKey(k[len(prefix):])
		if !ok || len(v) < checkHeader {
			continue
		}
		if v[1]&checkEvents != 0 {
			e, err := tx.Log(origin).Entry(index)
			if err != nil {
				return nil, fmt.Errorf("listing %s/%d: %w", origin, index, err)
			}
			l, err := schemas.DecodeListing(e)
			if err != nil {
				continue
			}
			h, err := history(tx, origin, index, l)
			if err != nil {
				return nil, err
			}
			out = append(out, h)
			continue
		}
		if self != nil && index == self.Index && origin == self.Origin && bytes.Equal(v[2:checkHeader], self.Leaf[:]) {
			out = append(out, sanctions.ListingHistory{Ref: schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(self.Leaf[:])}, Listing: checkListing(self.Listing)})
			continue
		}
		// The index value must name the leaf hash the ledger holds at that
		// index (hash tile 0, which the tree, its checkpoints and the
		// answer's inclusion proof are built from): a damaged index value
		// or a listing the ledger does not hold is an error, never a
		// listing skipped (a check that skipped it would answer
		// "allowed"). The entry itself is not read: the answer is made
		// from the index value, and reading it would touch a page of the
		// entries (the bulk of the file, ~1.5 KB per listing: at 10^7
		// listings more than the page cache holds) where the tile is the
		// one the inclusion proof reads next.
		h, err := tx.Log(origin).LeafHash(index)
		if err != nil {
			return nil, fmt.Errorf("listing %s/%d: %w", origin, index, err)
		}
		if !bytes.Equal(h[:], v[2:checkHeader]) {
			return nil, fmt.Errorf("listing %s/%d: %w: the check index names another leaf hash", origin, index, ledger.ErrDamaged)
		}
		rec, err := schemas.DecodeStored(v[checkHeader:]) // bytes the indexer encoded
		if err != nil {
			return nil, fmt.Errorf("listing %s/%d: %w: check index value: %v", origin, index, ledger.ErrDamaged, err)
		}
		l, ok := rec.(*schemas.Listing)
		if !ok {
			return nil, fmt.Errorf("listing %s/%d: %w: check index value is a %s", origin, index, ledger.ErrDamaged, rec.Kind())
		}
		out = append(out, sanctions.ListingHistory{Ref: schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(v[2:checkHeader])}, Listing: l})
	}
	return out, nil
}
