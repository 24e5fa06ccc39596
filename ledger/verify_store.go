package ledger

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyStore verifies one log directly in the bbolt file, trusting nothing
// stored but the entries and v:
//
//   - every stored checkpoint is signed by v, names origin, is stored under
//     its own size, and the latest pointer names the largest one;
//   - entries 0..size-1 are all present, none beyond; each leaf hash matches
//     hash tile level 0; the recomputed tree matches every hash of every
//     stored tile, and every stored tile has exactly the width the size
//     implies;
//   - the recomputed root matches every stored checkpoint at its size, and a
//     consistency proof built from the store verifies (tlog.CheckTree)
//     between each pair of consecutive checkpoints;
//   - the right edge in meta matches the recomputed tree, and the leaf index
//     maps every leaf hash to the first entry with it, and nothing else.
//
// check and progress are as for Verify. It returns the latest checkpoint
// (nil if the log has none) or a *VerifyError naming the first failure. The
// store may be appended to concurrently: VerifyStore checks the tree at the
// size it read first, in short Views.
func VerifyStore(ctx context.Context, s *Store, origin string, v note.Verifier,
	check func(index uint64, entry []byte) error, progress func(done, total uint64)) (*Checkpoint, error) {
	fail := func(index int64, err error, format string, args ...any) error {
		return &VerifyError{Origin: origin, Index: index, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	type stored struct {
		size   uint64
		signed []byte
	}
	var (
		size    uint64
		edge    []byte
		latest  []byte
		history []stored
	)
	err := s.View(func(tx *ReadTx) error {
		r := tx.Log(origin)
		if r.bk() == nil {
			return fail(-1, ErrNotFound, "log not found")
		}
		var err error
		if size, err = r.bk().size(); err != nil {
			return fail(-1, err, "meta size")
		}
		edge = bytes.Clone(r.bk().meta.Get([]byte(keyRange)))
		latest = bytes.Clone(r.bk().meta.Get([]byte(keyCheckpoint)))
		return r.Checkpoints(func(sz uint64, signed []byte) error {
			history = append(history, stored{sz, bytes.Clone(signed)})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}

	var roots []sizeRoot
	var cps []*Checkpoint
	for _, h := range history {
		cp, err := OpenCheckpoint(h.signed, origin, v)
		if err != nil {
			return nil, fail(-1, err, "checkpoint stored at size %d", h.size)
		}
		if cp.Size != h.size {
			return nil, fail(-1, nil, "checkpoint stored at size %d names size %d", h.size, cp.Size)
		}
		roots = append(roots, sizeRoot{cp.Size, cp.Root})
		cps = append(cps, cp)
	}
	var last *Checkpoint
	if len(cps) > 0 {
		last = cps[len(cps)-1]
	}
	if want, ok := parseU64(latest); (last == nil) != (latest == nil) || (last != nil && (!ok || want != last.Size)) {
		return nil, fail(-1, nil, "meta latest checkpoint %x does not name the largest stored checkpoint", latest)
	}

	tv := &treeVerifier{origin: origin, src: uncheckedLog{s.Log(origin)}, size: size, roots: roots, check: check, progress: progress}
	rng, err := tv.run(ctx)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(edge, bytes.Join(rng.Hashes(), nil)) {
		return nil, fail(-1, nil, "meta right edge does not match the tree recomputed from entries")
	}
	if err := s.View(func(tx *ReadTx) error { return verifyStoredShape(tx.Log(origin), size, fail) }); err != nil {
		return nil, err
	}
	if err := verifyLeafIndex(ctx, s, origin, size, fail); err != nil {
		return nil, err
	}
	for i := 1; i < len(cps); i++ {
		a, b := cps[i-1], cps[i]
		if a.Size == 0 {
			continue
		}
		p, err := s.Log(origin).ConsistencyProof(a.Size, b.Size)
		if err == nil {
			err = tlog.CheckTree(p, int64(b.Size), b.Root, int64(a.Size), a.Root)
		}
		if err != nil {
			return nil, fail(-1, err, "checkpoints at sizes %d and %d are not consistent", a.Size, b.Size)
		}
	}
	return last, nil
}

// verifyStoredShape checks that no entry lies beyond size and that the tiles
// bucket holds exactly the tiles a tree of size has, each with its width.
func verifyStoredShape(r *LogReader, size uint64, fail func(int64, error, string, ...any) error) error {
	if k, _ := r.bk().entries.Cursor().Seek(u64(size)); k != nil {
		i, _ := parseU64(k)
		return fail(int64(i), nil, "entry %d beyond tree size %d", i, size)
	}
	return r.bk().tiles.ForEach(func(k, v []byte) error {
		if len(k) != 9 || k[0] > 63 {
			return fail(-1, nil, "malformed tile key %x", k)
		}
		level, n := int(k[0]), u64From(k[1:])
		count := size >> (TileHeight * uint(level))
		want := 0
		switch {
		case n < count/TileWidth:
			want = TileWidth
		case n == count/TileWidth:
			want = tileWidth(size, level)
		}
		if want == 0 {
			return fail(-1, nil, "hash tile %d/%d beyond tree size %d", level, n, size)
		}
		if len(v) != want*tlog.HashSize {
			return fail(-1, nil, "hash tile %d/%d is %d bytes, want %d", level, n, len(v), want*tlog.HashSize)
		}
		return nil
	})
}

// verifyLeafIndex checks the leaf index against the (already verified) level
// 0 tiles, one View per tile.
func verifyLeafIndex(ctx context.Context, s *Store, origin string, size uint64, fail func(int64, error, string, ...any) error) error {
	distinct := 0
	for n := uint64(0); n*TileWidth < size; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.View(func(tx *ReadTx) error {
			r := tx.Log(origin)
			tile := r.bk().tiles.Get(tileKey(0, n))
			for k := 0; k < len(tile)/tlog.HashSize; k++ {
				i := n*TileWidth + uint64(k)
				var h tlog.Hash
				copy(h[:], tile[k*tlog.HashSize:])
				j, ok := r.LeafIndex(h)
				switch {
				case !ok:
					return fail(int64(i), nil, "entry %d: leaf hash not in leaf index", i)
				case j > i:
					return fail(int64(i), nil, "entry %d: leaf index names later entry %d", i, j)
				case j == i:
					distinct++
				default:
					if hj, err := (tileHashes{r.bk().tiles}).leaf(j); err != nil || hj != h {
						return fail(int64(i), err, "entry %d: leaf index names entry %d with another hash", i, j)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return s.View(func(tx *ReadTx) error {
		if got := tx.Log(origin).bk().leaves.Stats().KeyN; got != distinct {
			return fail(-1, nil, "leaf index has %d keys, want %d distinct leaf hashes", got, distinct)
		}
		return nil
	})
}

func u64From(b []byte) uint64 { v, _ := parseU64(b); return v }
