package raftcluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// boltLogs is a replica's raft log and stable store in raft.db, in
// raft-boltdb/v2's format, so a data directory written by either opens
// with the other (TestBoltLogsFileCompatible):
//
//	bucket "logs": key = raft index, 8 bytes big-endian;
//	               value = the raft.Log in msgpack, as raft-boltdb v2.3.1
//	               encodes it by default (go-msgpack/v2 MsgpackHandle with
//	               TimeNotBuiltin: AppendedAt in the old time format);
//	bucket "conf": the stable store's keys and values as given, a uint64
//	               value 8 bytes big-endian.
//
// It is raft-boltdb's store without its per-entry costs, which a stop 36
// profile of the 45-member exchange put at 2.4% of all CPU plus their
// garbage: a new msgpack handle per entry (its type information built
// again each time) and a buffer grown by doubling from 64 bytes to the
// entry's size, and a go-metrics sample per entry. Here one handle serves
// every entry and each entry is encoded into a buffer of its final size.
//
// Durability is raft-boltdb's: StoreLogs, DeleteRange and Set return
// after one bbolt transaction committed and fsync'd; a crash before the
// commit leaves none of its writes, after it all of them.
type boltLogs struct {
	db *bbolt.DB
	mh *codec.MsgpackHandle // safe for concurrent use once set up

	// mu guards enc and buf: StoreLogs is called by one raft goroutine at
	// a time, but need not be.
	mu  sync.Mutex
	enc *codec.Encoder // on mh, reset onto each entry's place in buf
	buf []byte         // the encoded entries of one StoreLogs, kept between calls
}

var (
	bucketLogs = []byte("logs")
	bucketConf = []byte("conf")
	// errKeyNotFound is what Get answers for a key never set, with
	// raft-boltdb's text (raft matches it by text: "not found").
	errKeyNotFound = errors.New("not found")
)

// openBoltLogs opens (or creates) raft.db at path with the options given.
func openBoltLogs(path string, opts *bbolt.Options) (*boltLogs, error) {
	db, err := bbolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketLogs); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketConf)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("creating raft.db's buckets: %w", err)
	}
	mh := &codec.MsgpackHandle{BasicHandle: codec.BasicHandle{TimeNotBuiltin: true}}
	var none []byte
	return &boltLogs{db: db, mh: mh, enc: codec.NewEncoderBytes(&none, mh)}, nil
}

func (b *boltLogs) Close() error { return b.db.Close() }

func (b *boltLogs) FirstIndex() (uint64, error) { return b.edge(true) }
func (b *boltLogs) LastIndex() (uint64, error)  { return b.edge(false) }

func (b *boltLogs) edge(first bool) (uint64, error) {
	var idx uint64
	err := b.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		k, _ := c.Last()
		if first {
			k, _ = c.First()
		}
		if k != nil {
			idx = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return idx, err
}

// GetLog decodes entry idx into log; raft.ErrLogNotFound if it is not
// stored. The decoded Data is a copy (bbolt's memory is not kept).
func (b *boltLogs) GetLog(idx uint64, log *raft.Log) error {
	return b.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketLogs).Get(uint64Key(idx))
		if v == nil {
			return raft.ErrLogNotFound
		}
		*log = raft.Log{}
		return codec.NewDecoderBytes(v, b.mh).Decode(log)
	})
}

func (b *boltLogs) StoreLog(log *raft.Log) error { return b.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores the entries in one transaction. They are encoded one
// after another into one kept buffer, each sized before it is encoded
// (msgpack adds at most logOverhead bytes to Data and Extensions), and
// bbolt copies each value into its pages at the commit.
func (b *boltLogs) StoreLogs(logs []*raft.Log) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	need := 0
	for _, l := range logs {
		need += len(l.Data) + len(l.Extensions) + logOverhead
	}
	if cap(b.buf) < need || cap(b.buf) > 4*need+(1<<20) { // kept, but not a peak's worth forever
		b.buf = make([]byte, 0, need)
	}
	rest := b.buf[:cap(b.buf)] // what the next entry may use
	vals := make([][]byte, len(logs))
	for i, l := range logs {
		out := rest[:0]
		b.enc.ResetBytes(&out)
		if err := b.enc.Encode(l); err != nil {
			return fmt.Errorf("encoding raft log entry %d: %w", l.Index, err)
		}
		vals[i] = out[:len(out):len(out)]
		if len(out) <= len(rest) && len(out) > 0 && &out[0] == &rest[0] {
			rest = rest[len(out):] // encoded in place: the next entry follows it
		} // else the bound was short and append gave out an array of its own
	}
	return b.db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketLogs)
		for i, l := range logs {
			if err := bk.Put(uint64Key(l.Index), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// logOverhead bounds what msgpack adds to an entry's Data and Extensions:
// the map header and six field names (44 bytes), index and term (9 each),
// type (1), two byte-string headers (5 each) and AppendedAt in the old
// time format (a byte string of at most 15 bytes, with its header 17).
const logOverhead = 128

// uint64Key is a raft index or a stable uint64 as stored: 8 bytes
// big-endian.
func uint64Key(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

// DeleteRange deletes the entries min..max, both included.
func (b *boltLogs) DeleteRange(min, max uint64) error {
	return b.db.Update(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		for k, _ := c.Seek(uint64Key(min)); k != nil && binary.BigEndian.Uint64(k) <= max; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *boltLogs) Set(k, v []byte) error {
	return b.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketConf).Put(k, v) })
}

// Get returns a copy of key k's value, errKeyNotFound if it is not set.
func (b *boltLogs) Get(k []byte) ([]byte, error) {
	var out []byte
	err := b.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketConf).Get(k)
		if v == nil {
			return errKeyNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

func (b *boltLogs) SetUint64(k []byte, v uint64) error {
	return b.Set(k, uint64Key(v))
}

func (b *boltLogs) GetUint64(k []byte) (uint64, error) {
	v, err := b.Get(k)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raft.db conf %q: %d bytes, want 8", k, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
