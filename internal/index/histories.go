package index

// Reads of the indexes for the sanctions engine: the histories of the
// listings of a subject, for notices, checks and the subject API.

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// HistoryFunc builds the history of listing l at origin#index in tx:
// History, or a caller's refinement of it (package node marks the events
// of the credit office).
type HistoryFunc func(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing) (sanctions.ListingHistory, error)

// History builds a listing's history for the sanctions engine: every
// event referencing it that can change its state (corrections, repairs,
// objections and the decisions on them). Sanction notices and their feedback
// never change a listing's state, so they are skipped by the kind byte of the
// refs index without reading them. A read error is returned, never skipped.
func History(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	logs := map[string]*ledger.LogReader{}
	logOf := func(o string) *ledger.LogReader {
		lr, ok := logs[o]
		if !ok {
			lr = tx.Log(o)
			logs[o] = lr
		}
		return lr
	}
	e, err := logOf(origin).Entry(index)
	if err != nil {
		return sanctions.ListingHistory{}, fmt.Errorf("history of %s/%d: %w", origin, index, err)
	}
	h := tlog.RecordHash(e)
	lh := sanctions.ListingHistory{Ref: schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, Listing: l}
	var add func(refs []api.EventRef, depth int) error
	add = func(refs []api.EventRef, depth int) error {
		for _, ev := range refs {
			if ev.Kind == "sanction_notice" || ev.Kind == "feedback" {
				continue
			}
			// A read error is not skipped: a history missing its repair or
			// correction would state the listing wrongly.
			eb, err := logOf(ev.Origin).Entry(ev.Index)
			if err != nil {
				return fmt.Errorf("history of %s/%d: event %s/%d: %w", origin, index, ev.Origin, ev.Index, err)
			}
			rec := schemas.DecodeEntry(eb)
			if rec == nil {
				continue
			}
			eh := tlog.RecordHash(eb)
			lh.Events = append(lh.Events, sanctions.Event{Ref: schemas.Ref{Origin: ev.Origin, Index: ev.Index, Hash: hex.EncodeToString(eh[:])}, Seq: ev.Index, Record: rec})
			if depth == 0 && ev.Kind == "objection" {
				if err := add(Referencing(tx, ev.Origin, ev.Index), 1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(Referencing(tx, origin, index), 0); err != nil {
		return sanctions.ListingHistory{}, err
	}
	return lh, nil
}

// SubjectHistories returns the histories of every listing indexed under
// key (the history walk), built by history. A listing or event that cannot
// be read is an error, never skipped: a check answered without it could
// say "allowed" of a restricted subject.
func SubjectHistories(tx *ledger.ReadTx, key string, history HistoryFunc) ([]sanctions.ListingHistory, error) {
	var out []sanctions.ListingHistory
	for _, le := range SubjectListings(tx, key) {
		e, err := tx.Log(le.Origin).Entry(le.Index)
		if err != nil {
			return nil, fmt.Errorf("listing %s/%d: %w", le.Origin, le.Index, err)
		}
		l, err := schemas.DecodeListing(e)
		if err != nil {
			continue
		}
		h, err := history(tx, le.Origin, le.Index, l)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// Referencing lists the events that reference origin#index, in the refs
// index's order.
func Referencing(tx *ledger.ReadTx, origin string, index uint64) []api.EventRef {
	b := tx.Bucket(BucketRefs)
	if b == nil {
		return nil
	}
	prefix := entryKey(origin, index)
	var out []api.EventRef
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if o, i, ok := splitEntryKey(k[len(prefix):]); ok && len(v) == 1 {
			out = append(out, api.EventRef{Origin: o, Index: i, Kind: KindName(v[0])})
		}
	}
	return out
}

// EntryRef is a listing indexed under a subject key.
type EntryRef struct {
	Origin string
	Index  uint64
	Kind   byte // KListing or KResponsible
}

// SubjectListings lists the listings indexed under key.
func SubjectListings(tx *ledger.ReadTx, key string) []EntryRef {
	b := tx.Bucket(BucketSubjects)
	if b == nil {
		return nil
	}
	var out []EntryRef
	prefix := append([]byte(key), 0)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if o, i, ok := splitEntryKey(k[len(prefix):]); ok && len(v) == 1 {
			out = append(out, EntryRef{o, i, v[0]})
		}
	}
	return out
}
