package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyError reports the first failure found by Verify or VerifyStore.
type VerifyError struct {
	Origin string
	// Index is the failing entry's index, or -1 if the failure is not about
	// one entry (a hash tile, a root, a checkpoint, the store's metadata).
	Index  int64
	Reason string // for example "entry 1234: leaf hash does not match hash tile 0/4"
	Err    error  // underlying cause, if any (a read error, check's error)
}

func (e *VerifyError) Error() string {
	s := fmt.Sprintf("ledger: verify %s: %s", e.Origin, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Verify checks a log read from src against signedCheckpoint: the checkpoint
// must be signed by v and name origin; every entry 0..size-1 is read from the
// entry bundles, its leaf hash recomputed and compared with hash tile level 0;
// the whole tree is recomputed (transparency-dev compact ranges) and every
// hash of every tile at every level is compared with it; the recomputed root
// must equal the checkpoint's. check (if not nil) is called for each entry in
// index order after its leaf hash matched; an error from it stops Verify.
// progress (if not nil) is called after each bundle with entries done and
// total. On failure it returns a *VerifyError naming the first failing entry
// (or -1) and why; on success the opened checkpoint.
func Verify(ctx context.Context, src TileSource, signedCheckpoint []byte, origin string, v note.Verifier,
	check func(index uint64, entry []byte) error, progress func(done, total uint64)) (*Checkpoint, error) {
	cp, err := OpenCheckpoint(signedCheckpoint, origin, v)
	if err != nil {
		return nil, &VerifyError{Origin: origin, Index: -1, Reason: "checkpoint", Err: err}
	}
	tv := &treeVerifier{origin: origin, src: src, size: cp.Size, roots: []sizeRoot{{cp.Size, cp.Root}},
		check: check, progress: progress}
	if _, err := tv.run(ctx); err != nil {
		return nil, err
	}
	return cp, nil
}

type sizeRoot struct {
	size uint64
	root tlog.Hash
}

// treeVerifier recomputes a tree of size entries from src. It is pure apart
// from src reads and the callbacks.
type treeVerifier struct {
	origin   string
	src      TileSource
	size     uint64
	roots    []sizeRoot // ascending sizes <= size, compared as the tree grows
	check    func(uint64, []byte) error
	progress func(done, total uint64)

	upper [64]struct { // current tile per level >= 1
		n    uint64
		data []byte
	}
	err error // first failure inside the compact range visitor
}

func (tv *treeVerifier) fail(index int64, err error, format string, args ...any) error {
	return &VerifyError{Origin: tv.origin, Index: index, Reason: fmt.Sprintf(format, args...), Err: err}
}

// tileFor returns the tile at level >= 1 holding node index j, reading it
// with the width the tree size implies.
func (tv *treeVerifier) tileFor(level int, j uint64) ([]byte, error) {
	n := j / TileWidth
	u := &tv.upper[level]
	if u.data != nil && u.n == n {
		return u.data, nil
	}
	width := TileWidth
	if count := tv.size >> (TileHeight * uint(level)); n == count/TileWidth {
		width = tileWidth(tv.size, level)
	}
	data, err := tv.src.ReadTile(level, n, width)
	if err != nil {
		return nil, tv.fail(-1, err, "hash tile %d/%d missing or unreadable", level, n)
	}
	if len(data) != width*tlog.HashSize {
		return nil, tv.fail(-1, nil, "hash tile %d/%d is %d bytes, want %d", level, n, len(data), width*tlog.HashSize)
	}
	u.n, u.data = n, data
	return data, nil
}

// run verifies the tree and returns the recomputed right edge.
func (tv *treeVerifier) run(ctx context.Context) (*compact.Range, error) {
	rng := rangeFactory.NewEmptyRange(0)
	roots := tv.roots
	for len(roots) > 0 && roots[0].size == 0 {
		if empty, _ := tlog.TreeHash(0, nil); roots[0].root != empty {
			return nil, tv.fail(-1, nil, "root mismatch at size 0")
		}
		roots = roots[1:]
	}
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level == 0 || id.Level%TileHeight != 0 || tv.err != nil {
			return
		}
		level := int(id.Level / TileHeight)
		data, err := tv.tileFor(level, id.Index)
		if err != nil {
			tv.err = err
			return
		}
		pos := int(id.Index % TileWidth)
		if !bytes.Equal(data[pos*tlog.HashSize:(pos+1)*tlog.HashSize], hash) {
			start, end := id.Coverage()
			tv.err = tv.fail(-1, nil, "hash tile %d/%d: hash %d does not match entries %d..%d",
				level, id.Index/TileWidth, pos, start, end-1)
		}
	}
	for n := uint64(0); n*TileWidth < tv.size; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		first := n * TileWidth
		width := int(min(tv.size-first, TileWidth))
		bundle, err := tv.src.ReadEntryBundle(n, width)
		if err != nil {
			var me *missingEntryError
			if errors.As(err, &me) {
				return nil, tv.fail(int64(me.index), err, "entry %d missing", me.index)
			}
			return nil, tv.fail(int64(first), err, "entry %d missing (entry bundle %d unreadable)", first, n)
		}
		entries, err := ParseEntryBundle(bundle)
		if err != nil {
			return nil, tv.fail(int64(first), err, "entry bundle %d malformed", n)
		}
		if len(entries) < width {
			i := first + uint64(len(entries))
			return nil, tv.fail(int64(i), nil, "entry %d missing (bundle %d has %d entries, want %d)", i, n, len(entries), width)
		}
		if len(entries) > width {
			return nil, tv.fail(-1, nil, "entry bundle %d has %d entries, want %d", n, len(entries), width)
		}
		tile, err := tv.src.ReadTile(0, n, width)
		if err != nil {
			return nil, tv.fail(-1, err, "hash tile 0/%d missing or unreadable", n)
		}
		if len(tile) != width*tlog.HashSize {
			return nil, tv.fail(-1, nil, "hash tile 0/%d is %d bytes, want %d", n, len(tile), width*tlog.HashSize)
		}
		for k, e := range entries {
			i := first + uint64(k)
			leaf := tlog.RecordHash(e)
			if !bytes.Equal(leaf[:], tile[k*tlog.HashSize:(k+1)*tlog.HashSize]) {
				return nil, tv.fail(int64(i), nil, "entry %d: leaf hash does not match hash tile 0/%d", i, n)
			}
			if tv.check != nil {
				if err := tv.check(i, e); err != nil {
					return nil, tv.fail(int64(i), err, "entry %d rejected by check", i)
				}
			}
			if err := rng.Append(leaf[:], visit); err != nil {
				panic(fmt.Sprintf("ledger: compact range append: %v", err)) // invariant: range is ours
			}
			if tv.err != nil {
				return nil, tv.err
			}
			for len(roots) > 0 && roots[0].size == i+1 {
				root, _ := rng.GetRootHash(nil)
				if !bytes.Equal(root, roots[0].root[:]) {
					return nil, tv.fail(-1, nil, "root mismatch at size %d", i+1)
				}
				roots = roots[1:]
			}
		}
		if tv.progress != nil {
			tv.progress(first+uint64(width), tv.size)
		}
	}
	if len(roots) > 0 {
		return nil, tv.fail(-1, nil, "checkpoint at size %d beyond tree size %d", roots[0].size, tv.size)
	}
	return rng, nil
}

// missingEntryError is returned by store bundle reads with the exact index
// of the first absent entry.
type missingEntryError struct {
	origin string
	index  uint64
}

func (e *missingEntryError) Error() string {
	return fmt.Sprintf("ledger: %s: entry %d missing", e.origin, e.index)
}

func (e *missingEntryError) Unwrap() error { return ErrNotFound }
