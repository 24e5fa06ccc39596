package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TileSource reads C2SP tlog-tiles resources of one log. Implementations:
// *Log and *LogReader (the store) and DirSource (an exported tree). Data
// from a TileSource is unverified: Verify checks it against a checkpoint.
type TileSource interface {
	// ReadTile returns hash tile level/n of the given width (width*32 bytes),
	// or an error wrapping ErrNotFound if it does not exist.
	ReadTile(level int, n uint64, width int) ([]byte, error)
	// ReadEntryBundle returns entry bundle n of the given width, or an error
	// wrapping ErrNotFound if it (or an entry in it) does not exist.
	ReadEntryBundle(n uint64, width int) ([]byte, error)
}

// Export file names inside dir, beside the tlog-tiles "tile/" tree.
// Changing these breaks existing exports and the tools that read them.
const (
	ExportCheckpointFile = "checkpoint" // the latest signed checkpoint
	ExportVKeyFile       = "vkey"       // the log's note verifier key, one line
)

// Export writes a static C2SP tlog-tiles tree of l as of its latest
// checkpoint (which must verify with vkey) into dir: every full and partial
// hash tile and entry bundle covering the checkpoint size, then dir/vkey,
// then dir/checkpoint. Every file is written to a temporary name, fsync'd
// and renamed, so a reader never sees a torn file. The checkpoint is written
// last: if the process dies earlier, dir still holds the previous complete
// export (plus some new immutable tiles, which are harmless) and running
// Export again completes it.
func Export(ctx context.Context, l *Log, dir string, vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("ledger: export: vkey: %w", err)
	}
	signed, err := l.Checkpoint()
	if err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	cp, err := OpenCheckpoint(signed, l.Origin(), v)
	if err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	for level := 0; cp.Size>>(TileHeight*uint(level)) > 0; level++ {
		for _, t := range tilesAt(cp.Size, level) {
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := l.Tile(level, t.N, t.Width)
			if err != nil {
				return fmt.Errorf("ledger: export: %w", err)
			}
			if err := writeFileAtomic(filepath.Join(dir, TilePath(level, t.N, t.Width)), data); err != nil {
				return err
			}
			if level > 0 {
				continue
			}
			b, err := l.EntryBundle(t.N, t.Width)
			if err != nil {
				return fmt.Errorf("ledger: export: %w", err)
			}
			if err := writeFileAtomic(filepath.Join(dir, EntriesPath(t.N, t.Width)), b); err != nil {
				return err
			}
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, ExportVKeyFile), []byte(vkey+"\n")); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ExportCheckpointFile), signed)
}

// tilesAt lists the tiles at level for a tree of size: all full ones, then
// the partial one if any.
func tilesAt(size uint64, level int) []TileRef {
	count := size >> (TileHeight * uint(level))
	var out []TileRef
	for n := uint64(0); n < count/TileWidth; n++ {
		out = append(out, TileRef{Level: level, N: n, Width: TileWidth})
	}
	if w := tileWidth(size, level); w > 0 {
		out = append(out, TileRef{Level: level, N: count / TileWidth, Width: w})
	}
	return out
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("ledger: export %s: %w", path, werr)
	}
	return nil
}

// DirSource reads an exported tree (the directory passed to Export). A
// missing partial tile or bundle falls back to the full one's prefix, as
// C2SP tlog-tiles allows.
type DirSource string

// Checkpoint returns the contents of dir/checkpoint (unverified).
func (d DirSource) Checkpoint() ([]byte, error) {
	return d.read(ExportCheckpointFile)
}

// ReadTile implements TileSource.
func (d DirSource) ReadTile(level int, n uint64, width int) ([]byte, error) {
	if err := checkTileCoords(level, n, width); err != nil {
		return nil, err
	}
	b, err := d.read(TilePath(level, n, width))
	if errors.Is(err, ErrNotFound) && width < TileWidth {
		if full, ferr := d.read(TilePath(level, n, TileWidth)); ferr == nil && len(full) == TileWidth*tlog.HashSize {
			return full[:width*tlog.HashSize], nil
		}
	}
	return b, err
}

// ReadEntryBundle implements TileSource.
func (d DirSource) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	if err := checkTileCoords(0, n, width); err != nil {
		return nil, err
	}
	b, err := d.read(EntriesPath(n, width))
	if errors.Is(err, ErrNotFound) && width < TileWidth {
		full, ferr := d.read(EntriesPath(n, TileWidth))
		if ferr != nil {
			return nil, err
		}
		entries, perr := ParseEntryBundle(full)
		if perr != nil || len(entries) < width {
			return nil, err
		}
		end := 0
		for _, e := range entries[:width] {
			end += 2 + len(e)
		}
		return full[:end], nil
	}
	return b, err
}

func (d DirSource) read(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ledger: %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return b, nil
}

// TileHashReader returns x/mod's tlog.TileHashReader for tree t over the
// tiles of src: every hash read through it is authenticated against t's
// root, so src may be untrusted (a remote node, an exported tree).
func TileHashReader(t tlog.Tree, src TileSource) tlog.HashReader {
	return tlog.TileHashReader(t, tileSourceReader{src})
}

// tileSourceReader adapts a TileSource to tlog.TileReader (no cache).
type tileSourceReader struct{ src TileSource }

func (tileSourceReader) Height() int { return TileHeight }

func (r tileSourceReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.src.ReadTile(t.L, uint64(t.N), t.W)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", strings.TrimPrefix(t.Path(), "tile/"), err)
		}
		out[i] = b
	}
	return out, nil
}

func (tileSourceReader) SaveTiles([]tlog.Tile, [][]byte) {}
