package ledger

import (
	"context"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
)

// ExportFrom writes the tree that src serves (a live node's tlog-tiles API,
// say) as Export does: every tile and entry bundle up to the size of the
// checkpoint signed, then vkey and checkpoint. signed must open with v for
// origin (cosignature lines are kept as they are). The tiles and bundles
// are copied unverified: verify the directory afterwards (Verify with
// DirSource) before relying on it. The checkpoint is written last, so an
// interrupted export leaves no checkpoint naming missing tiles.
func ExportFrom(ctx context.Context, src TileSource, signed []byte, origin string, v note.Verifier, vkey, dir string) error {
	cp, err := OpenCheckpoint(signed, origin, v)
	if err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	for level := 0; cp.Size>>(TileHeight*uint(level)) > 0; level++ {
		for _, t := range tilesAt(cp.Size, level) {
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := src.ReadTile(level, t.N, t.Width)
			if err != nil {
				return fmt.Errorf("ledger: export: tile %s: %w", TilePath(level, t.N, t.Width), err)
			}
			if err := writeFileAtomic(filepath.Join(dir, TilePath(level, t.N, t.Width)), data); err != nil {
				return err
			}
			if level > 0 {
				continue
			}
			b, err := src.ReadEntryBundle(t.N, t.Width)
			if err != nil {
				return fmt.Errorf("ledger: export: %s: %w", EntriesPath(t.N, t.Width), err)
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
