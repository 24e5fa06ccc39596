package node

import (
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Duplicates by record, not by signature (issue 11 item 5).
//
// A signed entry is {key, record, sig}; the same canonical record signed
// again (an Ed25519 signature with another nonce, or another key of the
// same agency) is a different entry with the same content. The FSM keeps
// the first: an entry whose record hash is already in the log is not
// appended, and its receipt is the first one's (same index, leaf hash and a
// proof of it, duplicate: true), so a re-signed copy issues no more notices.
//
// Bucket (in ledger.db, written by the FSM in the same transaction as the
// append; changing the name or layout breaks existing data directories):
//
//	records: origin || 0x00 || SHA-256("creditx/record-hash/v1\n" || canonical record bytes) -> uint64 BE index
//
// for every signed entry of the logs this region signs, and for every
// listing of the ledgers it mirrors (indexer: a re-signed copy of a listing
// in another member's ledger is indexed for checks but queues no second set
// of notices). Entries appended by an earlier version are added at start-up
// (backfillRecordHashes), before raft applies anything, identically on every
// replica.
const (
	bucketRecords      = "records"
	recordHashDomain   = "creditx/record-hash/v1\n"
	recordsBackfillKey = "records-backfilled/" // fsm bucket: || origin -> uint64 BE size at the backfill; present = the FSM keeps it current
)

// recordKey is the records-bucket key of entry e of origin, or nil if e is
// not a signed record (access-log entries, garbage).
func recordKey(origin string, e []byte) []byte {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil
	}
	return signedRecordKey(origin, s)
}

// signedRecordKey is recordKey of an entry already parsed (s nil: not a
// signed record, no key).
func signedRecordKey(origin string, s *schemas.Signed) []byte {
	if s == nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(recordHashDomain))
	h.Write(s.Record)
	return append(append([]byte(origin), 0), h.Sum(nil)...)
}

// recordIndex returns the index of the entry of origin holding the same
// record as the parsed entry s (nil: not a signed record), if any.
func recordIndex(b *bbolt.Bucket, origin string, s *schemas.Signed) (uint64, []byte, bool) {
	k := signedRecordKey(origin, s)
	if k == nil {
		return 0, nil, false
	}
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v), k, true
	}
	return 0, k, false
}

// backfillRecordHashes adds the record hashes of the entries of every
// signing log appended before this version (or before a snapshot without
// them). It runs before raft starts.
func (f *fsm) backfillRecordHashes() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store.Update(func(tx *ledger.Tx) error {
		meta, err := tx.Bucket(fsmBucket)
		if err != nil {
			return err
		}
		rb, err := tx.Bucket(bucketRecords)
		if err != nil {
			return err
		}
		origins := slices.Collect(maps.Keys(f.logs))
		mb, err := tx.Bucket(exchange.BucketMirror)
		if err != nil {
			return err
		}
		mb.ForEach(func(k, _ []byte) error { origins = append(origins, string(k)); return nil })
		slices.Sort(origins)
		for _, origin := range origins {
			lr := tx.Log(origin)
			mk := []byte(recordsBackfillKey + origin)
			if meta.Get(mk) != nil {
				continue // the FSM has kept the bucket current since
			}
			size := lr.Size()
			if size > 0 {
				err := lr.ForEach(0, size, func(i uint64, e []byte) error {
					k := recordKey(origin, e)
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
	})
}

// recordDedupe finds, for one append command, the entries whose record is
// already in the log or earlier in the command.
type recordDedupe struct {
	b      *bbolt.Bucket
	origin string
	batch  map[string]uint64 // record key -> index given in this command
}

func newRecordDedupe(tx *ledger.Tx, origin string) (*recordDedupe, error) {
	b, err := tx.Bucket(bucketRecords)
	if err != nil {
		return nil, err
	}
	return &recordDedupe{b: b, origin: origin, batch: map[string]uint64{}}, nil
}

// dup returns the index of the first entry with the record of s (the
// parsed entry; nil: not a signed record); if there is none, the entry is
// taken to be appended at next.
func (d *recordDedupe) dup(s *schemas.Signed, next uint64) (uint64, bool) {
	idx, k, ok := recordIndex(d.b, d.origin, s)
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

// commit stores the record hashes of the entries appended, in key order
// (bbolt inserts are cheaper in order: each Put's page is at hand).
func (d *recordDedupe) commit() error {
	for _, k := range slices.Sorted(maps.Keys(d.batch)) {
		idx := d.batch[k]
		if err := d.b.Put([]byte(k), binary.BigEndian.AppendUint64(nil, idx)); err != nil {
			return err
		}
	}
	return nil
}

// mirroredDuplicate says whether entry s (parsed; at index of mirrored ledger
// origin, of kind) is a listing whose record is already at an earlier index
// of that ledger; otherwise it records its record hash. Only listings are
// looked at (they alone queue notices). Runs inside the FSM's transaction.
func (ix *indexer) mirroredDuplicate(tx *ledger.Tx, origin string, index uint64, s *schemas.Signed, kind string) (bool, error) {
	if kind != "listing" || origin == ix.node.origin {
		return false, nil
	}
	rb, err := tx.Bucket(bucketRecords)
	if err != nil {
		return false, err
	}
	first, k, ok := recordIndex(rb, origin, s)
	if k == nil {
		return false, nil
	}
	if ok {
		return first != index, nil
	}
	return false, rb.Put(k, binary.BigEndian.AppendUint64(nil, index))
}
