package node

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Wire types of this file's endpoints (package api).
type (
	Change       = api.Change
	ChangesPage  = api.ChangesPage
	EntryRefJSON = api.EntryRefJSON
)

// The changes feed (issue 18): GET /v1/changes?since=CURSOR pages through
// the changes of listing state this node knows of, in every ledger it
// holds (its own and the members' it mirrors), for agencies that keep their
// own systems in step with the Delta's lists.
//
// Two indexes, written by the FSM in the same transaction as the entries
// (so every replica numbers alike). Changing the names or layouts breaks
// existing data directories:
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
// yesterday. A cursor holds both positions (seq; date and seq), so nothing
// is returned twice or missed: a listing indexed with an expiry date behind
// a reader's expiry position was already expired when indexed, and its
// "listed" change, which the reader has not yet read, shows that state.
//
// Each change names what the entry did (change) and the listing's state now
// (state): a record that the lifecycle ignores (written by someone other than
// its owner, say) is still a change with its cause, and its state says it
// changed nothing. An expiry is returned only if the listing is expired now
// (not if it was removed before). Entries indexed before this index
// existed have no changes: the feed starts at the upgrade.
const (
	bucketChanges        = "changes"
	bucketChangeExpiries = "change-expiries"
)

// Change kinds (the "change" of a Change).
const (
	ChangeListed     = "listed"      // a listing entered the ledger and applies here
	ChangeNotApplied = "not_applied" // a listing entered the ledger; this member applies none of its measures
	ChangeSuspended  = "suspended"   // an objection was filed: disclosure suspended
	ChangeRemoved    = "removed"     // a repair or an upheld objection removed it
	ChangeRepaired   = "repaired"    // a repair without removal (stop publicity, annotate, shield)
	ChangeReinstated = "reinstated"  // an objection was decided without removal: in force again
	ChangeWithdrawn  = "withdrawn"   // a correction withdrew it
	ChangeCorrected  = "corrected"   // a correction amended it
	ChangeExpired    = "expired"     // its publicity period ended
)

var changeByte = map[string]byte{ChangeListed: 1, ChangeNotApplied: 2, ChangeSuspended: 3, ChangeRemoved: 4, ChangeRepaired: 5,
	ChangeReinstated: 6, ChangeWithdrawn: 7, ChangeCorrected: 8}

func changeName(b byte) string {
	for k, v := range changeByte {
		if v == b {
			return k
		}
	}
	return "unknown"
}

// indexChange records the listing change entry (origin, ek) makes, if any.
// Runs inside the FSM's transaction, after indexSanctions (which records a
// not-applied listing).
func (ix *indexer) indexChange(tx *ledger.Tx, origin string, ek []byte, v indexView) error {
	var change string
	var listing []byte
	switch v.kind {
	case "listing":
		change, listing = ChangeListed, ek
		if b, err := tx.Bucket(bucketNotApplied); err == nil && b.Get(ek) != nil {
			change = ChangeNotApplied
		}
	case "objection", "objection_decision", "repair", "correction":
		rec := txRecord(tx, origin, ek)
		if rec == nil {
			return nil
		}
		var target schemas.Ref
		switch r := rec.(type) {
		case *schemas.Objection:
			target, change = r.Target, ChangeSuspended
		case *schemas.ObjectionDecision:
			ob, ok := txRecord(tx, r.Objection.Origin, entryKey(r.Objection.Origin, r.Objection.Index)).(*schemas.Objection)
			if !ok {
				return nil
			}
			target = ob.Target
			change = ChangeReinstated
			if slices.Contains(r.Actions, "remove") && r.Decision != "rejected" {
				change = ChangeRemoved
			}
		case *schemas.Repair:
			target, change = r.Listing, ChangeRepaired
			if slices.Contains(r.Effects, "remove") {
				change = ChangeRemoved
			}
		case *schemas.Correction:
			target, change = r.Target, ChangeCorrected
			if r.Action == "withdraw" {
				change = ChangeWithdrawn
			}
		}
		listing = entryKey(target.Origin, target.Index)
		if _, ok := txRecord(tx, target.Origin, listing).(*schemas.Listing); !ok {
			return nil // acts on something other than a listing
		}
	default:
		return nil
	}
	b, err := tx.Bucket(bucketChanges)
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
	if v.kind == "listing" && v.listing != nil && !v.listing.PublicityEnd.IsZero() {
		xb, err := tx.Bucket(bucketChangeExpiries)
		if err != nil {
			return err
		}
		return xb.Put(expiryKey(v.listing.PublicityEnd, seq), ek)
	}
	return nil
}

// txRecord decodes the record at entry key ek of origin in a write
// transaction, or nil.
func txRecord(tx *ledger.Tx, origin string, ek []byte) schemas.Record {
	_, index, ok := splitEntryKey(ek)
	if !ok {
		return nil
	}
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return nil
	}
	return decodeRecord(e)
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

// handleChanges is GET /v1/changes[?since=CURSOR][&limit=N][&wait=30s]: a
// page of listing state changes (ChangesPage), long-polling like
// GET /v1/notices when nothing is past the cursor.
func (n *Node) handleChanges(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleExecute, pki.RolePublish, pki.RoleAdmin, pki.RoleAudit); !ok {
		return
	}
	fp, perr := parseFeedParams(r, feedChanges)
	if perr != nil {
		writeErr(w, perr)
		return
	}
	deadline := time.Now().Add(fp.wait)
	for {
		changed := n.sanctions.wait()
		page, next, err := n.changesPage(fp.from, fp.limit, time.Now())
		if err != nil {
			n.readError(w, "listing changes", err)
			return
		}
		if len(page.Changes) > 0 || page.More || !time.Now().Before(deadline) {
			writeJSON(w, http.StatusOK, page)
			return
		}
		fp.from = next
		// Expiries come by the calendar: wake at the next midnight too.
		t := time.NewTimer(min(time.Until(deadline), time.Until(nextMidnight(time.Now()))))
		select {
		case <-changed:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func nextMidnight(now time.Time) time.Time {
	y, m, d := now.In(chinaZone).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, chinaZone)
}

// changesPage reads up to limit changes from positions from (seq; expiry
// date, expiry seq), entry-driven changes first, then expiries due at time
// at, in one transaction.
func (n *Node) changesPage(from []uint64, limit int, at time.Time) (ChangesPage, []uint64, error) {
	page := ChangesPage{Changes: []Change{}}
	next := slices.Clone(from)
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketChanges); b != nil {
			c := b.Cursor()
			for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, from[0])); k != nil; k, v = c.Next() {
				if len(page.Changes) == limit {
					page.More = true
					return nil
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
				if ch, ok := n.change(tx, changeName(v[0]), lo, li, co, ci, at); ok {
					page.Changes = append(page.Changes, ch)
				}
			}
		}
		xb := tx.Bucket(bucketChangeExpiries)
		if xb == nil {
			return nil
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
			if len(page.Changes) == limit {
				page.More = true
				return nil
			}
			next[1], next[2] = date, binary.BigEndian.Uint64(k[4:])+1
			lo, li, _, ok := cutEntryKey(v)
			if !ok {
				continue
			}
			if ch, ok := n.change(tx, ChangeExpired, lo, li, lo, li, at); ok && ch.State == ChangeExpired {
				page.Changes = append(page.Changes, ch)
			}
		}
		return nil
	})
	page.Next = EncodeCursor(feedChanges, next...)
	return page, next, err
}

// refOf is the reference (with leaf hash) of entry e at origin#index.
func refOf(origin string, index uint64, e []byte) schemas.Ref {
	h := tlog.RecordHash(e)
	return schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}
}

// cutEntryKey splits an entry key off the front of b.
func cutEntryKey(b []byte) (origin string, index uint64, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b) < i+9 {
		return "", 0, nil, false
	}
	return string(b[:i]), binary.BigEndian.Uint64(b[i+1 : i+9]), b[i+9:], true
}

// change builds one feed item: the listing at lo#li changed by the entry
// co#ci, with its state at time at.
func (n *Node) change(tx *ledger.ReadTx, kind, lo string, li uint64, co string, ci uint64, at time.Time) (Change, bool) {
	e, err := tx.Log(lo).Entry(li)
	if err != nil {
		return Change{}, false
	}
	l, err := decodeListing(e)
	if err != nil {
		return Change{}, false
	}
	st := n.listingState(tx, lo, li, l, at)
	ch := Change{Change: kind, Listing: refOf(lo, li, e), Cause: EntryRefJSON{Origin: co, Index: ci}, State: st.State,
		Domain: l.Domain, Programme: l.Programme.Code, SubjectType: l.Subject.Type, PublicityEnd: l.PublicityEnd}
	if st.NotApplied != "" && st.State == "active" {
		ch.State = ChangeNotApplied
	}
	if l.Subject.Type != schemas.SubjectNaturalPerson {
		ch.SubjectUSCC = l.Subject.USCC
	}
	return ch, true
}
