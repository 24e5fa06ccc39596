// Package dedupe finds duplicate ledger entries by record, not by
// signature (issue 11 item 5).
//
// A signed entry is {key, record, sig}; the same canonical record signed
// again (an Ed25519 signature with another nonce, or another key of the
// same agency) is a different entry with the same content. The FSM of
// package node keeps the first: an entry whose record hash is already in
// the log is not appended, and its receipt is the first one's (same index,
// leaf hash and a proof of it, duplicate: true), so a re-signed copy issues
// no more notices.
//
// It owns one ledger.db bucket (written by the FSM in the same transaction
// as the append; changing the name or layout breaks existing data
// directories):
//
//	records: origin || 0x00 || SHA-256("creditx/record-hash/v1\n" || canonical record bytes) -> uint64 BE index
//
// for every signed entry of the logs a region signs, and for every listing
// of the ledgers it mirrors (a re-signed copy of a listing in another
// member's ledger is indexed for checks but queues no second set of
// notices: [Mirrored]). Entries appended by an earlier version are added
// at start-up ([Backfill]), before raft applies anything, identically on
// every replica.
//
// # Guarantees and failures
//
// The key depends only on the origin and the canonical record bytes, so
// every replica finds the same duplicates. An entry that is not a signed
// record (an access-log entry, garbage) has no key and is never a
// duplicate. Only storage errors are returned; the caller's transaction
// then fails as a whole.
package dedupe

import (
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

const (
	// Bucket is the records bucket's name.
	Bucket = "records"
	// BackfillKey || origin, in the FSM's meta bucket, holds the uint64 BE
	// size of the log when Backfill ran; present: the FSM keeps the records
	// bucket current for that origin.
	BackfillKey      = "records-backfilled/"
	recordHashDomain = "creditx/record-hash/v1\n"
)

// Key is the records-bucket key of entry e of origin, or nil if e is not a
// signed record (access-log entries, garbage).
func Key(origin string, e []byte) []byte {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil
	}
	return SignedKey(origin, s)
}

// SignedKey is Key of an entry already parsed (s nil: not a signed record,
// no key): the FSM parses each entry once and passes the parse down.
func SignedKey(origin string, s *schemas.Signed) []byte {
	if s == nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(recordHashDomain))
	h.Write(s.Record)
	return append(append([]byte(origin), 0), h.Sum(nil)...)
}

// Lookup returns the index of the entry of origin holding the same record
// as the parsed entry s (nil: not a signed record), if b (the records
// bucket) has one, and its key (nil: no key).
func Lookup(b *bbolt.Bucket, origin string, s *schemas.Signed) (index uint64, key []byte, ok bool) {
	k := SignedKey(origin, s)
	if k == nil {
		return 0, nil, false
	}
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v), k, true
	}
	return 0, k, false
}

// Backfill adds the record hashes of the entries of each of origins (in
// the order given) appended before the records bucket existed, or before a
// snapshot without them, marking each origin done in meta (the FSM's meta
// bucket). An origin already marked is skipped. Runs inside tx.
func Backfill(tx *ledger.Tx, meta *bbolt.Bucket, origins []string) error {
	rb, err := tx.Bucket(Bucket)
	if err != nil {
		return err
	}
	for _, origin := range origins {
		lr := tx.Log(origin)
		mk := []byte(BackfillKey + origin)
		if meta.Get(mk) != nil {
			continue // the FSM has kept the bucket current since
		}
		size := lr.Size()
		if size > 0 {
			err := lr.ForEach(0, size, func(i uint64, e []byte) error {
				k := Key(origin, e)
				if k == nil || rb.Get(k) != nil {
					return nil // first index kept
				}
				return rb.Put(k, binary.BigEndian.AppendUint64(nil, i))
			})
			if err != nil {
				return err
			}
		}
		if err := meta.Put(mk, binary.BigEndian.AppendUint64(nil, size)); err != nil {
			return err
		}
	}
	return nil
}

// Batch finds, for one append command, the entries whose record is
// already in the log or earlier in the command. Not safe for concurrent
// use (one per command, inside its transaction).
type Batch struct {
	b      *bbolt.Bucket
	origin string
	batch  map[string]uint64 // record key -> index given in this command
}

// NewBatch starts the duplicate search of one command appending to origin.
func NewBatch(tx *ledger.Tx, origin string) (*Batch, error) {
	b, err := tx.Bucket(Bucket)
	if err != nil {
		return nil, err
	}
	return &Batch{b: b, origin: origin, batch: map[string]uint64{}}, nil
}

// Dup returns the index of the first entry with the record of s (the
// parsed entry; nil: not a signed record); if there is none, the entry is
// taken to be appended at next.
func (d *Batch) Dup(s *schemas.Signed, next uint64) (uint64, bool) {
	idx, k, ok := Lookup(d.b, d.origin, s)
	if ok {
		return idx, true
	}
	if k == nil {
		return 0, false
	}
	if idx, ok := d.batch[string(k)]; ok {
		return idx, true
	}
	d.batch[string(k)] = next
	return 0, false
}

// Commit stores the record hashes of the entries appended, in key order
// (bbolt inserts are cheaper in order: each Put's page is at hand).
func (d *Batch) Commit() error {
	for _, k := range slices.Sorted(maps.Keys(d.batch)) {
		idx := d.batch[k]
		if err := d.b.Put([]byte(k), binary.BigEndian.AppendUint64(nil, idx)); err != nil {
			return err
		}
	}
	return nil
}

// Mirrored says whether entry s (parsed) at index of a mirrored ledger
// origin holds a record already at an earlier index of that ledger;
// otherwise it records its record hash. Runs inside the FSM's transaction.
func Mirrored(tx *ledger.Tx, origin string, index uint64, s *schemas.Signed) (bool, error) {
	rb, err := tx.Bucket(Bucket)
	if err != nil {
		return false, err
	}
	first, k, ok := Lookup(rb, origin, s)
	if k == nil {
		return false, nil
	}
	if ok {
		return first != index, nil
	}
	return false, rb.Put(k, binary.BigEndian.AppendUint64(nil, index))
}
