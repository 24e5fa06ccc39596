package ledger

import (
	"golang.org/x/mod/sumdb/tlog"
)

// Log reads one log of a Store outside any transaction: each method runs its
// own short View, so consecutive calls may see a grown log (never a changed
// prefix: the log is append-only). Log implements TileSource.
type Log struct {
	s      *Store // immutable
	origin string // immutable
}

// Log returns a convenience reader for origin.
func (s *Store) Log(origin string) *Log { return &Log{s: s, origin: origin} }

// Origin returns the log's origin.
func (l *Log) Origin() string { return l.origin }

func (l *Log) view(fn func(r *LogReader) error) error {
	return l.s.View(func(tx *ReadTx) error { return fn(tx.Log(l.origin)) })
}

// Size returns the number of entries.
func (l *Log) Size() (size uint64, err error) {
	err = l.view(func(r *LogReader) error { size = r.Size(); return nil })
	return size, err
}

// TreeHash is LogReader.TreeHash in its own View.
func (l *Log) TreeHash(size uint64) (h tlog.Hash, err error) {
	err = l.view(func(r *LogReader) error { h, err = r.TreeHash(size); return err })
	return h, err
}

// Entry is LogReader.Entry in its own View.
func (l *Log) Entry(i uint64) (e []byte, err error) {
	err = l.view(func(r *LogReader) error { e, err = r.Entry(i); return err })
	return e, err
}

// ForEach is LogReader.ForEach, one View per 1024 entries; e is valid only
// during the call to fn.
func (l *Log) ForEach(start, end uint64, fn func(i uint64, e []byte) error) error {
	for start < end {
		stop := min(end, start+1024)
		if err := l.view(func(r *LogReader) error { return r.ForEach(start, stop, fn) }); err != nil {
			return err
		}
		start = stop
	}
	return nil
}

// LeafIndex is LogReader.LeafIndex in its own View.
func (l *Log) LeafIndex(h tlog.Hash) (i uint64, ok bool, err error) {
	err = l.view(func(r *LogReader) error { i, ok = r.LeafIndex(h); return nil })
	return i, ok, err
}

// InclusionProof is LogReader.InclusionProof in its own View.
func (l *Log) InclusionProof(index, size uint64) (p tlog.RecordProof, err error) {
	err = l.view(func(r *LogReader) error { p, err = r.InclusionProof(index, size); return err })
	return p, err
}

// ConsistencyProof is LogReader.ConsistencyProof in its own View.
func (l *Log) ConsistencyProof(oldSize, newSize uint64) (p tlog.TreeProof, err error) {
	err = l.view(func(r *LogReader) error { p, err = r.ConsistencyProof(oldSize, newSize); return err })
	return p, err
}

// Checkpoint is LogReader.Checkpoint in its own View.
func (l *Log) Checkpoint() (cp []byte, err error) {
	err = l.view(func(r *LogReader) error { cp, err = r.Checkpoint(); return err })
	return cp, err
}

// Checkpoints is LogReader.Checkpoints in one View; signed is valid only
// during the call to fn.
func (l *Log) Checkpoints(fn func(size uint64, signed []byte) error) error {
	return l.view(func(r *LogReader) error { return r.Checkpoints(fn) })
}

// Tile is LogReader.Tile in its own View.
func (l *Log) Tile(level int, n uint64, width int) (b []byte, err error) {
	err = l.view(func(r *LogReader) error { b, err = r.Tile(level, n, width); return err })
	return b, err
}

// EntryBundle is LogReader.EntryBundle in its own View.
func (l *Log) EntryBundle(n uint64, width int) (b []byte, err error) {
	err = l.view(func(r *LogReader) error { b, err = r.EntryBundle(n, width); return err })
	return b, err
}

// ReadTile implements TileSource.
func (l *Log) ReadTile(level int, n uint64, width int) ([]byte, error) {
	return l.Tile(level, n, width)
}

// ReadEntryBundle implements TileSource.
func (l *Log) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	return l.EntryBundle(n, width)
}
