package ledger

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// LogReader reads one log inside a transaction (Tx.Log, ReadTx.Log). It is
// valid only while its transaction is; it always reflects the transaction's
// current state, including appends made through the same Tx.
type LogReader struct {
	origin string
	tx     *bbolt.Tx
	cached *logBuckets // nil until the log exists in tx
	hashes *hashCache  // nil in write transactions (their data may roll back)
}

// hashReader reads stored hashes, through the store's cache in read
// transactions.
func (r *LogReader) hashReader() tlog.HashReader {
	th := tileHashes{r.bk().tiles}
	if r.hashes == nil {
		return th
	}
	return cachedHashes{c: r.hashes, origin: r.origin, r: th}
}

// bk returns the log's buckets, or nil if the log does not exist (yet: a
// later Append in the same Tx creates it).
func (r *LogReader) bk() *logBuckets {
	if r.cached == nil {
		r.cached = openLogBuckets(r.tx, r.origin)
	}
	return r.cached
}

// Origin returns the log's origin.
func (r *LogReader) Origin() string { return r.origin }

// Size returns the number of entries (0 for an unknown log). Before any
// other read through r it opens the log's meta bucket only, not all five
// (a log's buckets are created together, createLogBuckets): bbolt
// allocates for every bucket a read transaction opens, and a status read
// asks the size of every mirror (issue 20).
func (r *LogReader) Size() uint64 {
	var meta *bbolt.Bucket
	if r.cached != nil {
		meta = r.cached.meta
	} else if lb := r.tx.Bucket([]byte(bucketLogs)).Bucket([]byte(r.origin)); lb != nil {
		meta = lb.Bucket([]byte(bucketMeta))
	}
	if meta == nil {
		return 0
	}
	n, _ := sizeIn(meta) // a malformed size fails Open; treat as empty here
	return n
}

func (r *LogReader) notFound(format string, args ...any) error {
	return fmt.Errorf("ledger: %s: %s: %w", r.origin, fmt.Sprintf(format, args...), ErrNotFound)
}

// TreeHash returns the RFC 6962 root hash of the first size entries (the
// SHA-256 of the empty string for size 0).
func (r *LogReader) TreeHash(size uint64) (tlog.Hash, error) {
	if size > r.Size() {
		return tlog.Hash{}, r.notFound("tree hash at size %d beyond size %d", size, r.Size())
	}
	if size == 0 {
		return tlog.TreeHash(0, nil)
	}
	return tlog.TreeHash(int64(size), tileHashes{r.bk().tiles})
}

// Entry returns a copy of entry i, after checking it against its hash in
// tile 0 (an error wrapping ErrDamaged if it does not match).
func (r *LogReader) Entry(i uint64) ([]byte, error) {
	if r.bk() == nil {
		return nil, r.notFound("entry %d", i)
	}
	v := r.bk().entries.Get(u64(i))
	if v == nil {
		return nil, r.notFound("entry %d", i)
	}
	if err := r.checkLeaf(i, v); err != nil {
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// LeafHash returns the leaf hash of entry i as hash tile 0 holds it (the
// hash the tree, its checkpoints and inclusion proofs are built from),
// without reading the entry: one tile lookup, the tile an inclusion proof
// of i reads first. An i at or beyond the log's size is ErrNotFound; a
// missing or short tile is ErrDamaged.
func (r *LogReader) LeafHash(i uint64) (tlog.Hash, error) {
	if i >= r.Size() {
		return tlog.Hash{}, r.notFound("leaf hash %d beyond size %d", i, r.Size())
	}
	t := r.bk().tiles.Get(tileKey(0, i/TileWidth))
	k := int(i%TileWidth) * tlog.HashSize
	if len(t) < k+tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("%w: %w", ErrDamaged, &CorruptError{Origin: r.origin,
			Reason: fmt.Sprintf("hash tile 0/%d holds no hash for entry %d", i/TileWidth, i)})
	}
	return tlog.Hash(t[k : k+tlog.HashSize]), nil
}

// ForEach calls fn for entries start..end-1 in order, stopping at the first
// error. e is valid only during the call. A gap in the stored entries returns
// ErrNotFound naming the missing index.
func (r *LogReader) ForEach(start, end uint64, fn func(i uint64, e []byte) error) error {
	if start >= end {
		return nil
	}
	if r.bk() == nil {
		return &missingEntryError{origin: r.origin, index: start}
	}
	c := r.bk().entries.Cursor()
	want := start
	for k, v := c.Seek(u64(start)); want < end; k, v = c.Next() {
		if got, ok := parseU64(k); !ok || got != want {
			return &missingEntryError{origin: r.origin, index: want}
		}
		if err := fn(want, v); err != nil {
			return err
		}
		want++
	}
	return nil
}

// LeafIndex returns the index of the first entry with leaf hash h
// (LeafHash(entry)), for idempotent resubmission.
func (r *LogReader) LeafIndex(h tlog.Hash) (uint64, bool) {
	if r.bk() == nil {
		return 0, false
	}
	return parseU64(r.bk().leaves.Get(h[:]))
}

// InclusionProof proves entry index is in the tree of the given size
// (tlog.ProveRecord; check with tlog.CheckRecord or proof.VerifyInclusion).
func (r *LogReader) InclusionProof(index, size uint64) (tlog.RecordProof, error) {
	if index >= size {
		return nil, fmt.Errorf("ledger: inclusion proof: index %d not below size %d", index, size)
	}
	if size > r.Size() {
		return nil, r.notFound("inclusion proof at size %d beyond log size %d", size, r.Size())
	}
	return tlog.ProveRecord(int64(size), int64(index), r.hashReader())
}

// ConsistencyProof proves the tree of oldSize is a prefix of the tree of
// newSize (tlog.ProveTree; check with tlog.CheckTree or proof.VerifyConsistency).
func (r *LogReader) ConsistencyProof(oldSize, newSize uint64) (tlog.TreeProof, error) {
	if oldSize < 1 || oldSize > newSize {
		return nil, fmt.Errorf("ledger: consistency proof: need 1 <= old size %d <= new size %d", oldSize, newSize)
	}
	if newSize > r.Size() {
		return nil, r.notFound("consistency proof to size %d beyond log size %d", newSize, r.Size())
	}
	return tlog.ProveTree(int64(newSize), int64(oldSize), r.hashReader())
}

// Checkpoint returns a copy of the latest (largest) stored signed checkpoint,
// or ErrNoCheckpoint.
func (r *LogReader) Checkpoint() ([]byte, error) {
	if r.bk() == nil {
		return nil, fmt.Errorf("ledger: %s: %w", r.origin, ErrNoCheckpoint)
	}
	v := r.bk().meta.Get([]byte(keyCheckpoint))
	if v == nil {
		return nil, fmt.Errorf("ledger: %s: %w", r.origin, ErrNoCheckpoint)
	}
	cp := r.bk().checkpoints.Get(v)
	if cp == nil {
		return nil, &CorruptError{Origin: r.origin, Reason: fmt.Sprintf("latest checkpoint %x not in history", v)}
	}
	return append([]byte(nil), cp...), nil
}

// Checkpoints calls fn for every stored checkpoint in increasing size order.
// signed is valid only during the call.
func (r *LogReader) Checkpoints(fn func(size uint64, signed []byte) error) error {
	if r.bk() == nil {
		return nil
	}
	return r.bk().checkpoints.ForEach(func(k, v []byte) error {
		size, ok := parseU64(k)
		if !ok {
			return &CorruptError{Origin: r.origin, Reason: fmt.Sprintf("checkpoint key %x", k)}
		}
		return fn(size, v)
	})
}

// Tile returns a copy of the C2SP tlog-tiles hash tile level/n of the given
// width (1..256): width*32 bytes. A stored tile wider than width is returned
// as its prefix (the tile as it was at a smaller tree size).
func (r *LogReader) Tile(level int, n uint64, width int) ([]byte, error) {
	if err := checkTileCoords(level, n, width); err != nil {
		return nil, err
	}
	if r.bk() == nil {
		return nil, r.notFound("tile %d/%d", level, n)
	}
	data := r.bk().tiles.Get(tileKey(level, n))
	if len(data) < width*tlog.HashSize {
		return nil, r.notFound("tile %d/%d width %d (stored %d)", level, n, width, len(data)/tlog.HashSize)
	}
	return append([]byte(nil), data[:width*tlog.HashSize]...), nil
}

// EntryBundle returns the C2SP tlog-tiles entry bundle n of the given width
// (1..256): entries n*256 .. n*256+width-1, each encoded as a big-endian
// uint16 length followed by the entry bytes (see ParseEntryBundle). Each
// entry is checked against its hash in tile 0 (an error wrapping ErrDamaged
// if one does not match).
func (r *LogReader) EntryBundle(n uint64, width int) ([]byte, error) {
	return r.entryBundle(n, width, true)
}

func (r *LogReader) entryBundle(n uint64, width int, check bool) ([]byte, error) {
	if err := checkTileCoords(0, n, width); err != nil {
		return nil, err
	}
	start := n * TileWidth
	entries := make([][]byte, 0, width) // bbolt memory, valid in this tx
	total := 0
	lc := &leafChecker{r: r}
	err := r.ForEach(start, start+uint64(width), func(i uint64, e []byte) error {
		if check {
			if err := lc.check(i, e); err != nil {
				return err
			}
		}
		entries = append(entries, e)
		total += 2 + len(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, total)
	for _, e := range entries {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

// ReadTile implements TileSource (same as Tile).
func (r *LogReader) ReadTile(level int, n uint64, width int) ([]byte, error) {
	return r.Tile(level, n, width)
}

// ReadEntryBundle implements TileSource (same as EntryBundle).
func (r *LogReader) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	return r.EntryBundle(n, width)
}

func checkTileCoords(level int, n uint64, width int) error {
	if level < 0 || level > 63 {
		return fmt.Errorf("ledger: tile level %d out of range 0..63", level)
	}
	if width < 1 || width > TileWidth {
		return fmt.Errorf("ledger: tile width %d out of range 1..256", width)
	}
	if n > (1<<64-1)/TileWidth {
		return fmt.Errorf("ledger: tile index %d too large", n)
	}
	return nil
}

// InclusionProofs returns an inclusion proof at size for each of indices. It
// shares one hash cache across the proofs, so proving a batch of neighbouring
// entries (the receipts of one submission) costs little more than one proof.
func (r *LogReader) InclusionProofs(indices []uint64, size uint64) ([]tlog.RecordProof, error) {
	if size > r.Size() {
		return nil, r.notFound("inclusion proof at size %d beyond log size %d", size, r.Size())
	}
	hr := &memoHashes{r: r.hashReader(), m: map[int64]tlog.Hash{}}
	out := make([]tlog.RecordProof, len(indices))
	for i, index := range indices {
		if index >= size {
			return nil, fmt.Errorf("ledger: inclusion proof: index %d not below size %d", index, size)
		}
		p, err := tlog.ProveRecord(int64(size), int64(index), hr)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// memoHashes caches a tlog.HashReader's answers for the life of one call.
type memoHashes struct {
	r tlog.HashReader
	m map[int64]tlog.Hash
}

func (h *memoHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	for i, idx := range indexes {
		v, ok := h.m[idx]
		if !ok {
			miss = append(miss, idx)
			continue
		}
		out[i] = v
	}
	if len(miss) > 0 {
		got, err := h.r.ReadHashes(miss)
		if err != nil {
			return nil, err
		}
		for i, idx := range miss {
			h.m[idx] = got[i]
		}
		for i, idx := range indexes {
			out[i] = h.m[idx]
		}
	}
	return out, nil
}
