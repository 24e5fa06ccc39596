package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Options configure Open. The zero value is the safe production setting.
type Options struct {
	// Logger receives open/check messages. Nil discards them.
	Logger *slog.Logger
	// NoSync skips fsync on commit. UNSAFE: an acknowledged transaction can be
	// lost on power failure or kernel crash. For tests and benchmarks only.
	NoSync bool
	// LockTimeout bounds the wait for the file lock held by another process.
	// Zero means 10 seconds.
	LockTimeout time.Duration
	// ReadOnly opens the file without writing to it (a shared lock, no
	// commit at open), for verifiers that must leave the evidence as it is:
	// every Open otherwise commits once, which rewrites one bbolt meta page.
	// Update fails; a file that is not yet a ledger is refused.
	ReadOnly bool
	// Populate maps the whole file in at open (MAP_POPULATE on Linux,
	// ignored elsewhere): one sequential read of the file instead of a
	// page fault per page as it is first read (bbolt maps it for random
	// access, without read-ahead). For a reader of every page (verify);
	// the mapping then holds the whole file in memory.
	Populate bool
}

// Store is an open ledger file. It is safe for concurrent use: any number of
// View calls run in parallel with at most one Update (bbolt's model).
type Store struct {
	db     *bbolt.DB // owns the file; internally synchronised
	path   string    // immutable
	logger *slog.Logger
	hashes *hashCache // complete-subtree hashes read by proofs; safe for concurrent use
}

// Open opens (creating if absent) the ledger file at path. It checks the
// format version and, for every log, that the stored right edge of the tree
// matches the hash tiles and that the last entry matches its tile hash
// (O(log n) per log). A right edge missing from meta is rebuilt from the
// tiles. Any mismatch returns a *CorruptError and the store is not opened.
func Open(path string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      timeout,
		NoSync:       opts.NoSync,
		FreelistType: bbolt.FreelistMapType,
		ReadOnly:     opts.ReadOnly,
		MmapFlags:    populateFlag(opts.Populate),
		// populate_linux.go: map once up to 1 GiB
		InitialMmapSize: initialMmap(!opts.ReadOnly && !opts.Populate),
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, logger: logger, hashes: newHashCache(hashCacheSize, denseMax)}
	check := s.safeUpdate
	if opts.ReadOnly {
		check = s.safeView
	}
	if err := check(s.initAndCheck); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	return s, nil
}

// initAndCheck creates the top-level buckets, checks the format version and
// checks every log. If the process dies during it nothing was written (it is
// one transaction) and the next Open repeats it.
func (s *Store) initAndCheck(btx *bbolt.Tx) error {
	if !btx.Writable() {
		for _, name := range []string{bucketStore, bucketLogs, bucketExt} {
			if btx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("not a ledger file (no %q bucket)", name)
			}
		}
	}
	sb, err := createBucket(btx, bucketStore)
	if err != nil {
		return err
	}
	switch v := sb.Get([]byte(keyFormat)); {
	case v == nil && !btx.Writable():
		return errors.New("not a ledger file (no format version)")
	case v == nil:
		if err := sb.Put([]byte(keyFormat), []byte{formatVersion}); err != nil {
			return err
		}
	case len(v) != 1 || v[0] != formatVersion:
		return fmt.Errorf("unsupported store format %x, want %x", v, formatVersion)
	}
	for _, name := range []string{bucketLogs, bucketExt} {
		if _, err := createBucket(btx, name); err != nil {
			return err
		}
	}
	logs := btx.Bucket([]byte(bucketLogs))
	return logs.ForEachBucket(func(k []byte) error {
		origin := string(k)
		lb := openLogBuckets(btx, origin)
		if lb == nil {
			return &CorruptError{Origin: origin, Reason: "log bucket lacks sub-buckets"}
		}
		size, err := checkLog(origin, lb)
		if err != nil {
			return err
		}
		s.logger.Info("ledger: log checked", "origin", origin, "size", size)
		return nil
	})
}

// checkLog compares a log's meta with its tiles and entries, rebuilding the
// right edge from the tiles if it is absent.
func checkLog(origin string, lb *logBuckets) (uint64, error) {
	corrupt := func(format string, args ...any) error {
		return &CorruptError{Origin: origin, Reason: fmt.Sprintf(format, args...)}
	}
	size, err := lb.size()
	if err != nil {
		return 0, corrupt("%v", err)
	}
	rng, err := rangeFromTiles(lb.tiles, size)
	if err != nil {
		return 0, corrupt("right edge from tiles: %v", err)
	}
	stored := lb.meta.Get([]byte(keyRange))
	want := bytes.Join(rng.Hashes(), nil)
	switch {
	case stored == nil && size > 0 && !lb.meta.Writable():
		return 0, corrupt("meta right edge missing (open the file writable to rebuild it)")
	case stored == nil && size > 0:
		if err := lb.meta.Put([]byte(keyRange), want); err != nil {
			return 0, err
		}
	case !bytes.Equal(stored, want):
		return 0, corrupt("meta right edge (%d bytes) does not match hash tiles at size %d", len(stored), size)
	}
	k, v := lb.entries.Cursor().Last()
	if size == 0 {
		if k != nil {
			return 0, corrupt("size 0 but entries present")
		}
		return 0, nil
	}
	if last, ok := parseU64(k); !ok || last != size-1 {
		return 0, corrupt("last entry key %x, want index %d", k, size-1)
	}
	if w := tileWidth(size, 0); w > 0 {
		if got := len(lb.tiles.Get(tileKey(0, (size-1)/TileWidth))); got != w*tlog.HashSize {
			return 0, corrupt("tile 0/%d has %d bytes, want %d", (size-1)/TileWidth, got, w*tlog.HashSize)
		}
	}
	h, err := tileHashes{lb.tiles}.leaf(size - 1)
	if err != nil || h != tlog.RecordHash(v) {
		return 0, corrupt("last entry %d does not match its tile hash", size-1)
	}
	return size, nil
}

// tileWidth returns the width of the rightmost tile at level for a tree of
// size: 1..255 if that tile is partial, 0 if every tile at the level is full.
func tileWidth(size uint64, level int) int {
	return int((size >> (TileHeight * uint(level))) % TileWidth)
}

// rangeFromTiles rebuilds the compact range [0, size) from stored hash tiles.
func rangeFromTiles(tiles *bbolt.Bucket, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	r := tileHashes{tiles}
	for i, id := range ids {
		h, err := r.hash(int(id.Level), id.Index)
		if err != nil {
			return nil, err
		}
		hashes[i] = h[:]
	}
	return rangeFactory.NewRange(0, size, hashes)
}

// Close closes the file. Pending Views and Updates must have returned.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file path passed to Open.
func (s *Store) Path() string { return s.path }

// Update runs fn in one read-write transaction and commits it. Update returns
// nil only after the commit is fsync'd (Options.NoSync aside). If fn returns an
// error, or any ledger write inside fn failed (even if fn ignored it), nothing
// is written and that error is returned. Do not retain tx or anything read
// through it after fn returns.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.db.Update(func(btx *bbolt.Tx) error {
		tx := &Tx{tx: btx}
		if err := fn(tx); err != nil {
			return err
		}
		if tx.err != nil {
			return fmt.Errorf("ledger: transaction poisoned by earlier write failure: %w", tx.err)
		}
		return nil
	})
}

// View runs fn in a read-only snapshot transaction. Byte slices read through
// it are valid only until fn returns. Long Views delay a writer that must grow
// the file mapping; prefer short Views (the Log methods use one per call).
//
// A damaged page that makes bbolt panic is returned as a *PageError.
func (s *Store) View(fn func(tx *ReadTx) error) error {
	return s.safeView(func(btx *bbolt.Tx) error { return fn(&ReadTx{tx: btx, hashes: s.hashes}) })
}

// createBucket is CreateBucketIfNotExists, or Bucket in a read-only tx.
func createBucket(btx *bbolt.Tx, name string) (*bbolt.Bucket, error) {
	if btx.Writable() {
		return btx.CreateBucketIfNotExists([]byte(name))
	}
	return btx.Bucket([]byte(name)), nil
}

// safeView is db.View with bbolt's panics returned as a *PageError.
func (s *Store) safeView(fn func(*bbolt.Tx) error) error { return s.guard(s.db.View, fn) }

// safeUpdate is db.Update with bbolt's panics on damaged pages returned as
// a *PageError (bbolt rolls the transaction back as the panic unwinds).
func (s *Store) safeUpdate(fn func(*bbolt.Tx) error) error { return s.guard(s.db.Update, fn) }

// guard runs fn through run (db.View or db.Update) on this goroutine with a
// bbolt panic, or a fault in the mapped file, returned as a *PageError
// instead of a crash.
func (s *Store) guard(run func(func(*bbolt.Tx) error) error, fn func(*bbolt.Tx) error) (err error) {
	defer recoverPage(s.path, &err)
	restore := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(restore)
	return run(fn)
}

// Origins returns the origins of all logs in the store, in byte order.
func (s *Store) Origins() ([]string, error) {
	var out []string
	err := s.View(func(tx *ReadTx) error {
		out = tx.Origins()
		return nil
	})
	return out, err
}

// Tx is a read-write transaction, valid only inside Update's fn.
type Tx struct {
	tx   *bbolt.Tx
	logs map[string]*logWriter // per-origin write state, built on first Append
	// ext holds the caller-owned buckets Bucket opened in this Tx: the
	// FSM's indexers ask for the same few buckets once per entry, and
	// bbolt's CreateBucketIfNotExists copies the name and does two map
	// lookups each time (about 3% of the FSM's CPU per record on 3
	// replicas). Buckets are never deleted inside a Tx, so an entry stays
	// valid until the Tx ends.
	ext map[string]*bbolt.Bucket
	err error // first failed write; Update then rolls back
}

// ReadTx is a read-only transaction, valid only inside View's fn.
type ReadTx struct {
	tx     *bbolt.Tx
	hashes *hashCache // the store's cache of complete-subtree hashes
}

// extFillPercent is how full bbolt packs a page it splits, for the
// caller-owned buckets and a log's tiles and leaves. Their keys mostly
// arrive in ascending order (entry keys, per-subject keys of listings
// numbered in order, tile coordinates), and at bbolt's default of 0.5 an
// ascending insert leaves every page split half full for good: the check
// index (~750-byte values) held 2 per 4 KiB page, 37% full, and the
// file took twice the bytes in use (issue 21). Random keys still split
// as usual; only the split point moves.
const extFillPercent = 0.9

// Bucket returns the caller-owned bucket "ext"/name, creating it if needed.
// Writes to it commit or roll back with the rest of the transaction. Every
// call with the same name in one Tx returns the same handle.
func (tx *Tx) Bucket(name string) (*bbolt.Bucket, error) {
	if b := tx.ext[name]; b != nil {
		b.FillPercent = extFillPercent
		return b, nil
	}
	if name == "" {
		return nil, errors.New("ledger: bucket name is empty")
	}
	b, err := tx.tx.Bucket([]byte(bucketExt)).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("ledger: bucket %q: %w", name, err)
	}
	b.FillPercent = extFillPercent
	if tx.ext == nil {
		tx.ext = make(map[string]*bbolt.Bucket)
	}
	tx.ext[name] = b
	return b, nil
}

// Bucket returns the caller-owned bucket "ext"/name, or nil if it does not exist.
func (tx *ReadTx) Bucket(name string) *bbolt.Bucket {
	return tx.tx.Bucket([]byte(bucketExt)).Bucket([]byte(name))
}

// Origins returns the origins of all logs, in byte order.
func (tx *ReadTx) Origins() []string {
	var out []string
	tx.tx.Bucket([]byte(bucketLogs)).ForEachBucket(func(k []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out
}

// Log returns a reader for origin that sees this transaction's own writes.
// For an unknown origin the reader reports size 0.
func (tx *Tx) Log(origin string) *LogReader {
	return &LogReader{origin: origin, tx: tx.tx}
}

// Log returns a reader for origin. For an unknown origin it reports size 0.
func (tx *ReadTx) Log(origin string) *LogReader {
	return &LogReader{origin: origin, tx: tx.tx, hashes: tx.hashes}
}

// logBuckets are one log's sub-buckets within one transaction.
type logBuckets struct {
	entries, tiles, leaves, checkpoints, meta *bbolt.Bucket
}

func openLogBuckets(btx *bbolt.Tx, origin string) *logBuckets {
	lb := btx.Bucket([]byte(bucketLogs)).Bucket([]byte(origin))
	if lb == nil {
		return nil
	}
	b := &logBuckets{
		entries:     lb.Bucket([]byte(bucketEntries)),
		tiles:       lb.Bucket([]byte(bucketTiles)),
		leaves:      lb.Bucket([]byte(bucketLeaves)),
		checkpoints: lb.Bucket([]byte(bucketCheckpoints)),
		meta:        lb.Bucket([]byte(bucketMeta)),
	}
	if b.entries == nil || b.tiles == nil || b.leaves == nil || b.checkpoints == nil || b.meta == nil {
		return nil
	}
	return b
}

func createLogBuckets(btx *bbolt.Tx, origin string) (*logBuckets, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	lb, err := btx.Bucket([]byte(bucketLogs)).CreateBucketIfNotExists([]byte(origin))
	if err != nil {
		return nil, err
	}
	var bs [5]*bbolt.Bucket
	for i, name := range []string{bucketEntries, bucketTiles, bucketLeaves, bucketCheckpoints, bucketMeta} {
		if bs[i], err = lb.CreateBucketIfNotExists([]byte(name)); err != nil {
			return nil, err
		}
	}
	bs[0].FillPercent = 1.0 // keys only ever grow: pack pages full
	bs[1].FillPercent, bs[2].FillPercent = extFillPercent, extFillPercent
	return &logBuckets{entries: bs[0], tiles: bs[1], leaves: bs[2], checkpoints: bs[3], meta: bs[4]}, nil
}

func (b *logBuckets) size() (uint64, error) { return sizeIn(b.meta) }

// sizeIn is the size recorded in a log's meta bucket.
func sizeIn(meta *bbolt.Bucket) (uint64, error) {
	v := meta.Get([]byte(keySize))
	if v == nil {
		return 0, nil
	}
	n, ok := parseU64(v)
	if !ok {
		return 0, fmt.Errorf("meta size is %d bytes, want 8", len(v))
	}
	return n, nil
}

// tileHashes implements tlog.HashReader over a tiles bucket: it serves every
// stored hash of tlog's numbering by reading the tile that holds it (or the
// tile below which it is the root of a subtree) and tlog.HashFromTile.
type tileHashes struct{ tiles *bbolt.Bucket }

// ReadHashes implements tlog.HashReader.
func (r tileHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var last tlog.Tile // the tile read for the index before (a proof's lower levels share one)
	var data []byte
	for i, idx := range indexes {
		t := tlog.TileForIndex(TileHeight, idx)
		if i == 0 || t.L != last.L || t.N != last.N {
			data, last = r.tiles.Get(tileKey(t.L, uint64(t.N))), t
		}
		if len(data) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("ledger: hash %d: tile %d/%d has %d hashes, need %d: %w",
				idx, t.L, t.N, len(data)/tlog.HashSize, t.W, ErrNotFound)
		}
		h, err := tlog.HashFromTile(t, data, idx)
		if err != nil {
			return nil, fmt.Errorf("ledger: hash %d: %w", idx, err)
		}
		out[i] = h
	}
	return out, nil
}

// subtrees calls fn with the stored hash index and hash of every complete
// subtree of the stored level-L tile n (partial or full) from tree level
// 8L+1 to 8L+7 whose level is denseLevel or more, as tlog.HashFromTile
// would compute each.
func (r tileHashes) subtrees(L int, n int64, fn func(index int64, h tlog.Hash)) {
	data := r.tiles.Get(tileKey(L, uint64(n)))
	row := make([]tlog.Hash, min(len(data)/tlog.HashSize, TileWidth))
	for i := range row {
		row[i] = tlog.Hash(data[i*tlog.HashSize : (i+1)*tlog.HashSize])
	}
	for k := 1; k < TileHeight && len(row) > 1; k++ {
		for i := range len(row) / 2 {
			row[i] = tlog.NodeHash(row[2*i], row[2*i+1])
		}
		row = row[:len(row)/2]
		if level := TileHeight*L + k; level >= denseLevel {
			for i, h := range row {
				fn(tlog.StoredHashIndex(level, n<<(TileHeight-k)+int64(i)), h)
			}
		}
	}
}

// hash returns the hash of the complete subtree at tree level, index n.
func (r tileHashes) hash(level int, n uint64) (tlog.Hash, error) {
	hs, err := r.ReadHashes([]int64{tlog.StoredHashIndex(level, int64(n))})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

func (r tileHashes) leaf(i uint64) (tlog.Hash, error) { return r.hash(0, i) }
