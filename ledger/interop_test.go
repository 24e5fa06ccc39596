package ledger

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// xmodDir adapts an exported tree to x/mod's tlog.TileReader: x/mod names
// tiles tile/<H>/<L>/<N>, C2SP drops the height element.
type xmodDir struct {
	dir  string
	read int
}

func (d *xmodDir) Height() int { return 8 }

func (d *xmodDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		b, err := os.ReadFile(filepath.Join(d.dir, p))
		if err != nil {
			return nil, err
		}
		out[i] = b
		d.read++
	}
	return out, nil
}

func (d *xmodDir) SaveTiles([]tlog.Tile, [][]byte) {}

// exportFixture builds a log of n entries with a checkpoint and exports it.
func exportFixture(t *testing.T, n uint64) (dir string, k testKeys, s *Store) {
	t.Helper()
	s = openTest(t)
	k = newKeys(t, testOrigin)
	for i := uint64(0); i < n; i += 5000 {
		appendN(t, s, testOrigin, i, min(i+5000, n))
	}
	checkpointNow(t, s, testOrigin, k)
	dir = t.TempDir()
	if err := Export(t.Context(), s.Log(testOrigin), dir, k.vkey); err != nil {
		t.Fatal(err)
	}
	return dir, k, s
}

func TestInteropTileHashReader(t *testing.T) {
	const N = 70000 // the tlog-tiles spec's worked example
	dir, _, _ := exportFixture(t, N)

	// The file set is exactly what C2SP tlog-tiles prescribes for 70,000.
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	count := func(prefix string, pred func(string) bool) int {
		n := 0
		for _, f := range files {
			if strings.HasPrefix(f, prefix) && pred(f) {
				n++
			}
		}
		return n
	}
	isFull := func(f string) bool { return !strings.Contains(f, ".p/") }
	isPartial := func(f string) bool { return strings.Contains(f, ".p/") }
	if got := count("tile/0/", isFull); got != 273 {
		t.Errorf("full level-0 tiles = %d, want 273", got)
	}
	if got := count("tile/entries/", isFull); got != 273 {
		t.Errorf("full bundles = %d, want 273", got)
	}
	for _, f := range []string{"tile/0/273.p/112", "tile/entries/273.p/112", "tile/1/000", "tile/1/001.p/17",
		"tile/2/000.p/1", "checkpoint", "vkey"} {
		if !slices.Contains(files, f) {
			t.Errorf("export lacks %s", f)
		}
	}
	if got := count("tile/", isPartial); got != 4 || len(files) != 273*2+4+2+1 {
		t.Errorf("export has %d files (%d partial), want %d", len(files), got, 273*2+4+2+1)
	}

	// note.Open with the exported vkey.
	vkey, _ := os.ReadFile(filepath.Join(dir, "vkey"))
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != testOrigin || lines[1] != "70000" {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatal(err)
	}

	// An independent tree from tlog.RecordHash of the entries.
	var mem memTree
	for i := uint64(0); i < N; i++ {
		mem.add(t, testEntry(i))
	}
	if want := mem.root(t, N); root != want {
		t.Fatalf("checkpoint root %v, independent tlog.TreeHash %v", root, want)
	}

	// x/mod's TileHashReader authenticates every tile it reads against root.
	xd := &xmodDir{dir: dir}
	thr := tlog.TileHashReader(tlog.Tree{N: N, Hash: root}, xd)
	if got, err := tlog.TreeHash(N, thr); err != nil || got != root {
		t.Fatalf("TreeHash via TileHashReader = %v, %v", got, err)
	}
	for _, i := range []int64{0, 255, 256, 65535, 65536, 69999} {
		p, err := tlog.ProveRecord(N, i, thr)
		if err != nil {
			t.Fatalf("ProveRecord(%d) via TileHashReader: %v", i, err)
		}
		if err := tlog.CheckRecord(p, N, root, i, tlog.RecordHash(testEntry(uint64(i)))); err != nil {
			t.Fatalf("CheckRecord(%d): %v", i, err)
		}
	}
	if xd.read == 0 {
		t.Fatal("TileHashReader read no tiles")
	}
	// Entry bundles decode to the entries.
	b, _ := os.ReadFile(filepath.Join(dir, "tile/entries/273.p/112"))
	entries, err := ParseEntryBundle(b)
	if err != nil || len(entries) != 112 || !bytes.Equal(entries[111], testEntry(N-1)) {
		t.Fatalf("last bundle: %d entries, %v", len(entries), err)
	}
}

func TestVerifyDirSource(t *testing.T) {
	dir, k, _ := exportFixture(t, 1000)
	signed, err := DirSource(dir).Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	var lastDone, lastTotal uint64
	cp, err := Verify(t.Context(), DirSource(dir), signed, testOrigin, k.verifier,
		func(i uint64, e []byte) error {
			if i != next || !bytes.Equal(e, testEntry(i)) {
				t.Errorf("check(%d) out of order or wrong bytes (want %d)", i, next)
			}
			next++
			return nil
		},
		func(done, total uint64) { lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 1000 || next != 1000 || lastDone != 1000 || lastTotal != 1000 {
		t.Errorf("cp.Size %d, checked %d, progress %d/%d", cp.Size, next, lastDone, lastTotal)
	}
	// A missing partial falls back to the full tile's prefix (C2SP allows it).
	appendFixtureDir := t.TempDir()
	_, k2, s2 := exportFixture(t, 512)
	if err := Export(t.Context(), s2.Log(testOrigin), appendFixtureDir, k2.vkey); err != nil {
		t.Fatal(err)
	}
	if b, err := DirSource(appendFixtureDir).ReadTile(0, 1, 100); err != nil || len(b) != 3200 {
		t.Errorf("partial fallback to full tile: %d bytes, %v", len(b), err)
	}
	if b, err := DirSource(appendFixtureDir).ReadEntryBundle(1, 3); err != nil {
		t.Errorf("partial bundle fallback: %v", err)
	} else if es, _ := ParseEntryBundle(b); len(es) != 3 || !bytes.Equal(es[2], testEntry(258)) {
		t.Errorf("partial bundle fallback: %d entries", len(es))
	}
}
