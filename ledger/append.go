package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// rangeFactory builds RFC 6962 compact ranges (transparency-dev/merkle).
var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// logWriter is one log's write state inside one Tx (owned by that Tx).
type logWriter struct {
	b    *logBuckets
	size uint64         // entries in the log, including this Tx's appends
	rng  *compact.Range // right edge [0, size)
}

func (tx *Tx) writer(origin string) (*logWriter, error) {
	if w := tx.logs[origin]; w != nil {
		return w, nil
	}
	b, err := createLogBuckets(tx.tx, origin)
	if err != nil {
		return nil, fmt.Errorf("ledger: log %q: %w", origin, err)
	}
	size, err := b.size()
	if err != nil {
		return nil, &CorruptError{Origin: origin, Reason: err.Error()}
	}
	raw := b.meta.Get([]byte(keyRange))
	if len(raw) != compact.RangeSize(0, size)*tlog.HashSize {
		return nil, &CorruptError{Origin: origin, Reason: fmt.Sprintf("meta right edge is %d bytes at size %d", len(raw), size)}
	}
	hashes := make([][]byte, len(raw)/tlog.HashSize)
	for i := range hashes {
		hashes[i] = append([]byte(nil), raw[i*tlog.HashSize:(i+1)*tlog.HashSize]...)
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, &CorruptError{Origin: origin, Reason: err.Error()}
	}
	w := &logWriter{b: b, size: size, rng: rng}
	if tx.logs == nil {
		tx.logs = make(map[string]*logWriter)
	}
	tx.logs[origin] = w
	return w, nil
}

// Append appends entries to the log named origin (creating the log on first
// use) and returns the index of the first one. Every entry must be 1..
// MaxEntrySize bytes (ErrEmptyEntry, ErrEntryTooLarge); the batch is checked
// before anything is written. Entries are copied. The same bytes may be
// appended twice; LeafIndex keeps the first index. The entries, the hash
// tiles, the leaf index and the right edge in meta are all written in this
// transaction, so a crash leaves either all of them or none (bbolt commit).
func (tx *Tx) Append(origin string, entries [][]byte) (first uint64, err error) {
	return tx.AppendHashed(origin, entries, nil)
}

// AppendHashed is Append for a caller that has already computed each
// entry's leaf hash: leaves[i] must be tlog.RecordHash(entries[i]) (nil:
// computed here). A wrong hash makes a tree that does not verify
// (VerifyStore finds it), so only pass hashes computed from the same bytes
// in the same process.
func (tx *Tx) AppendHashed(origin string, entries [][]byte, leaves []tlog.Hash) (first uint64, err error) {
	if leaves != nil && len(leaves) != len(entries) {
		return 0, fmt.Errorf("ledger: append to %q: %d leaf hashes for %d entries", origin, len(leaves), len(entries))
	}
	if err := checkEntries(entries); err != nil {
		return 0, err
	}
	w, err := tx.writer(origin)
	if err != nil {
		return 0, err
	}
	first = w.size
	if len(entries) == 0 {
		return first, nil
	}
	if err := w.append(entries, leaves); err != nil {
		tx.err = err
		return 0, fmt.Errorf("ledger: append to %q: %w", origin, err)
	}
	return first, nil
}

func (w *logWriter) append(entries [][]byte, leaves []tlog.Hash) error {
	w.b.entries.FillPercent = 1.0
	total := 0
	for _, e := range entries {
		total += len(e)
	}
	// bbolt keeps references to keys and values until commit: copy into one
	// arena so the caller may reuse its buffers.
	arena := make([]byte, 0, total+8*len(entries)+40*len(entries))
	tiles := make(map[[9]byte][]byte) // tiles touched by this batch
	var visitErr error
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level%TileHeight != 0 || visitErr != nil {
			return
		}
		level := int(id.Level / TileHeight)
		n, pos := id.Index/TileWidth, int(id.Index%TileWidth)
		var k [9]byte
		copy(k[:], tileKey(level, n))
		data, ok := tiles[k]
		if !ok {
			data = append(make([]byte, 0, TileWidth*tlog.HashSize), w.b.tiles.Get(k[:])...)
		}
		if len(data) != pos*tlog.HashSize {
			visitErr = fmt.Errorf("tile %d/%d has %d hashes, appending hash %d", level, n, len(data)/tlog.HashSize, pos)
			return
		}
		tiles[k] = append(data, hash...)
	}
	// The leaf index is keyed by hash (random): its puts are made after the
	// entries, in key order (bbolt inserts in order are cheaper), the first
	// index of a hash kept as before.
	type leafPut struct{ leaf, key []byte }
	puts := make([]leafPut, 0, len(entries))
	for i, e := range entries {
		idx := w.size
		off := len(arena)
		arena = append(arena, u64(idx)...)
		arena = append(arena, e...)
		key, val := arena[off:off+8], arena[off+8:]
		if err := w.b.entries.Put(key, val); err != nil {
			return fmt.Errorf("entry %d: %w", idx, err)
		}
		var leaf tlog.Hash
		if leaves != nil {
			leaf = leaves[i]
		} else {
			leaf = tlog.RecordHash(e)
		}
		off = len(arena)
		arena = append(arena, leaf[:]...)
		puts = append(puts, leafPut{arena[off : off+32], key})
		if err := w.rng.Append(leaf[:], visit); err != nil {
			return fmt.Errorf("entry %d: %w", idx, err)
		}
		if visitErr != nil {
			return fmt.Errorf("entry %d: %w", idx, visitErr)
		}
		w.size++
	}
	slices.SortStableFunc(puts, func(a, b leafPut) int { return bytes.Compare(a.leaf, b.leaf) })
	for i, p := range puts {
		if i > 0 && bytes.Equal(p.leaf, puts[i-1].leaf) {
			continue // the same bytes twice in this batch: the first index is kept
		}
		if w.b.leaves.Get(p.leaf) != nil {
			continue // appended before: the first index is kept
		}
		if err := w.b.leaves.Put(p.leaf, p.key); err != nil {
			return fmt.Errorf("leaf index %d: %w", binary.BigEndian.Uint64(p.key), err)
		}
	}
	for k, data := range tiles {
		if err := w.b.tiles.Put(k[:], data); err != nil {
			return fmt.Errorf("tile %d/%x: %w", k[0], k[1:], err)
		}
	}
	if err := w.b.meta.Put([]byte(keySize), u64(w.size)); err != nil {
		return err
	}
	var edge []byte
	for _, h := range w.rng.Hashes() {
		edge = append(edge, h...)
	}
	return w.b.meta.Put([]byte(keyRange), edge)
}
