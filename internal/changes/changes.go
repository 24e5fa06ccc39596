// Package changes is the index behind the changes feed (issue 18): GET
// /v1/changes?since=CURSOR pages through the changes of listing state a
// node knows of, in every ledger it holds (its own and the members' it
// mirrors), for agencies that keep their own systems in step with the
// Delta's lists.
//
// It owns two ledger.db buckets, written by the FSM of package node in the
// same transaction as the entries ([Index]), so every replica numbers
// alike. Changing the names or layouts breaks existing data directories:
//
//	changes:          uint64 BE seq -> change byte || listing entry key || cause entry key
//	                  (entry key = origin || 0x00 || uint64 BE index; seq from the
//	                  bucket's sequence, one per entry that changes a listing)
//	change-expiries:  uint32 BE publicity_end as YYYYMMDD || uint64 BE seq of the
//	                  listing's "listed" change -> listing entry key
//
// Entry-driven changes (listed, not_applied, suspended, removed, ...) come
// from the first index in seq order. Expiry happens by the calendar, not by
// an entry: a listing expires the day after its publicity_end (China time,
// as the lifecycle counts), so the expiry index is read in date order up to
// yesterday. A position ([Page]) holds both (seq; date and seq), so nothing
// is returned twice or missed: a listing indexed with an expiry date behind
// a reader's expiry position was already expired when indexed, and its
// "listed" change, which the reader has not yet read, shows that state.
//
// Each change names what the entry did (change) and the listing's state now
// (state, which the node computes: [Item]): a record that the lifecycle
// ignores (written by someone other than its owner, say) is still a change
// with its cause, and its state says it changed nothing. An expiry is
// returned only if the listing is expired now (not if it was removed
// before). Entries indexed before this index existed have no changes: the
// feed starts at the upgrade.
//
// The feed itself is here too: [NewChange] builds an item from the listing
// and its state, and [Poll] is the long poll of GET /v1/changes (an empty
// page waits for the next commit, the next midnight or the end of the
// wait, then reads on from where it ended).
//
// # Failures
//
// [Index] returns only storage errors (the FSM's transaction then fails as
// a whole); an entry it cannot decode, or one acting on something other
// than a listing, is no change. [Page] skips a value it cannot split
// rather than stop the feed. [Poll] returns the first failed read, and no
// answer when the caller goes away.
package changes

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// The buckets' names.
const (
	Bucket         = "changes"
	BucketExpiries = "change-expiries"
)

// Change kinds (the "change" of an api.Change).
const (
	Listed     = "listed"      // a listing entered the ledger and applies here
	NotApplied = "not_applied" // a listing entered the ledger; this member applies none of its measures
	Suspended  = "suspended"   // an objection was filed: disclosure suspended
	Removed    = "removed"     // a repair or an upheld objection removed it
	Repaired   = "repaired"    // a repair without removal (stop publicity, annotate, shield)
	Reinstated = "reinstated"  // an objection was decided without removal: in force again
	Withdrawn  = "withdrawn"   // a correction withdrew it
	Corrected  = "corrected"   // a correction amended it
	Expired    = "expired"     // its publicity period ended
)

var changeByte = map[string]byte{Listed: 1, NotApplied: 2, Suspended: 3, Removed: 4, Repaired: 5,
	Reinstated: 6, Withdrawn: 7, Corrected: 8}

func changeName(b byte) string {
	for k, v := range changeByte {
		if v == b {
			return k
		}
	}
	return "unknown"
}

// Index records the listing change that entry ek of origin, of kind (the
// index's record kind: "listing", "objection", ...), makes, if any. l is
// the listing when kind is "listing"; notApplied says that this member
// applies none of its measures. Runs inside the FSM's transaction.
func Index(tx *ledger.Tx, origin string, ek []byte, kind string, l *schemas.Listing, notApplied bool) error {
	var change string
	var listing []byte
	switch kind {
	case "listing":
		change, listing = Listed, ek
		if notApplied {
			change = NotApplied
		}
	case "objection", "objection_decision", "repair", "correction":
		rec := txRecord(tx, origin, ek)
		if rec == nil {
			return nil
		}
		var target schemas.Ref
		switch r := rec.(type) {
		case *schemas.Objection:
			target, change = r.Target, Suspended
		case *schemas.ObjectionDecision:
			ob, ok := txRecord(tx, r.Objection.Origin, exchange.EntryKey(r.Objection.Origin, r.Objection.Index)).(*schemas.Objection)
			if !ok {
				return nil
			}
			target = ob.Target
			change = Reinstated
			if slices.Contains(r.Actions, "remove") && r.Decision != "rejected" {
				change = Removed
			}
		case *schemas.Repair:
			target, change = r.Listing, Repaired
			if slices.Contains(r.Effects, "remove") {
				change = Removed
			}
		case *schemas.Correction:
			target, change = r.Target, Corrected
			if r.Action == "withdraw" {
				change = Withdrawn
			}
		}
		listing = exchange.EntryKey(target.Origin, target.Index)
		if _, ok := txRecord(tx, target.Origin, listing).(*schemas.Listing); !ok {
			return nil // acts on something other than a listing
		}
	default:
		return nil
	}
	b, err := tx.Bucket(Bucket)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	val := append(append([]byte{changeByte[change]}, listing...), ek...)
	if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), val); err != nil {
		return err
	}
	if kind == "listing" && l != nil && !l.PublicityEnd.IsZero() {
		xb, err := tx.Bucket(BucketExpiries)
		if err != nil {
			return err
		}
		return xb.Put(expiryKey(l.PublicityEnd, seq), ek)
	}
	return nil
}

// txRecord decodes the record at entry key ek of origin in a write
// transaction, or nil.
func txRecord(tx *ledger.Tx, origin string, ek []byte) schemas.Record {
	_, index, ok := exchange.SplitEntryKey(ek)
	if !ok {
		return nil
	}
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return nil
	}
	return schemas.DecodeEntry(e)
}

func yyyymmdd(d schemas.Date) uint64 {
	y, m, dd := d.Date()
	return uint64(y*10000 + int(m)*100 + dd)
}

func expiryKey(d schemas.Date, seq uint64) []byte {
	k := binary.BigEndian.AppendUint32(nil, uint32(yyyymmdd(d)))
	return binary.BigEndian.AppendUint64(k, seq)
}

// chinaZone is the time zone in which listing dates are counted (as the
// sanctions lifecycle does).
var chinaZone = time.FixedZone("CST", 8*3600)

// NextMidnight is the next midnight after now, China time: when the next
// expiries fall due.
func NextMidnight(now time.Time) time.Time {
	y, m, d := now.In(chinaZone).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, chinaZone)
}

// Item builds one feed item: the listing at lo#li changed by the entry
// co#ci (kind), with its state at the page's time; false: skip it.
type Item func(kind, lo string, li uint64, co string, ci uint64) (api.Change, bool)

// Page reads, in tx, up to limit changes from positions from (seq; expiry
// date, expiry seq: three values), entry-driven changes first, then
// expiries due at time at. It returns the changes, whether more are past
// them, and the positions to continue from.
func Page(tx *ledger.ReadTx, from []uint64, limit int, at time.Time, item Item) (out []api.Change, more bool, next []uint64) {
	out = []api.Change{}
	next = slices.Clone(from)
	if b := tx.Bucket(Bucket); b != nil {
		c := b.Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, from[0])); k != nil; k, v = c.Next() {
			if len(out) == limit {
				return out, true, next
			}
			next[0] = binary.BigEndian.Uint64(k) + 1
			if len(v) < 1 {
				continue
			}
			lo, li, rest, ok := cutEntryKey(v[1:])
			if !ok {
				continue
			}
			co, ci, _, ok := cutEntryKey(rest)
			if !ok {
				continue
			}
			if ch, ok := item(changeName(v[0]), lo, li, co, ci); ok {
				out = append(out, ch)
			}
		}
	}
	xb := tx.Bucket(BucketExpiries)
	if xb == nil {
		return out, false, next
	}
	y, m, d := at.In(chinaZone).Date()
	today := uint64(y*10000 + int(m)*100 + d)
	start := binary.BigEndian.AppendUint32(nil, uint32(from[1]))
	c := xb.Cursor()
	for k, v := c.Seek(binary.BigEndian.AppendUint64(start, from[2])); k != nil && len(k) == 12; k, v = c.Next() {
		date := uint64(binary.BigEndian.Uint32(k))
		if date >= today {
			break // not expired yet: publicity_end is today or later
		}
		if len(out) == limit {
			return out, true, next
		}
		next[1], next[2] = date, binary.BigEndian.Uint64(k[4:])+1
		lo, li, _, ok := cutEntryKey(v)
		if !ok {
			continue
		}
		if ch, ok := item(Expired, lo, li, lo, li); ok && ch.State == Expired {
			out = append(out, ch)
		}
	}
	return out, false, next
}

// cutEntryKey splits an entry key off the front of b.
func cutEntryKey(b []byte) (origin string, index uint64, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b) < i+9 {
		return "", 0, nil, false
	}
	return string(b[:i]), binary.BigEndian.Uint64(b[i+1 : i+9]), b[i+9:], true
}
