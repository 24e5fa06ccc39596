package ledger

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		level int
		n     uint64
		width int
		want  string
	}{
		{0, 0, 256, "tile/0/000"},
		{0, 0, 1, "tile/0/000.p/1"},
		{0, 1234067, 8, "tile/0/x001/x234/067.p/8"},
		{0, 1234067, 256, "tile/0/x001/x234/067"},
		{1, 999, 255, "tile/1/999.p/255"},
		{2, 1000, 256, "tile/2/x001/000"},
		{63, 1_000_000, 256, "tile/63/x001/x000/000"},
		{-1, 5, 256, "tile/entries/005"},
		{-1, 1234067, 3, "tile/entries/x001/x234/067.p/3"},
	} {
		var got string
		if tc.level < 0 {
			got = EntriesPath(tc.n, tc.width)
		} else {
			got = TilePath(tc.level, tc.n, tc.width)
		}
		if got != tc.want {
			t.Errorf("path(%d, %d, %d) = %q, want %q", tc.level, tc.n, tc.width, got, tc.want)
		}
		ref, err := ParseTilePath(tc.want)
		if err != nil {
			t.Errorf("ParseTilePath(%q): %v", tc.want, err)
			continue
		}
		if want := (TileRef{tc.level, tc.n, tc.width}); ref != want {
			t.Errorf("ParseTilePath(%q) = %+v, want %+v", tc.want, ref, want)
		}
	}
}

// TestTilePathMatchesXMod: our paths equal x/mod's tlog.Tile.Path (which is
// tile/<H>/<L>/<N>) once its height element is removed.
func TestTilePathMatchesXMod(t *testing.T) {
	for _, n := range []int64{0, 1, 999, 1000, 1234067, 1 << 40} {
		for _, w := range []int{1, 77, 255, 256} {
			for _, l := range []int{0, 1, 5} {
				x := tlog.Tile{H: 8, L: l, N: n, W: w}.Path()
				want := strings.Replace(x, "tile/8/", "tile/", 1)
				if got := TilePath(l, uint64(n), w); got != want {
					t.Errorf("TilePath(%d,%d,%d) = %q, x/mod says %q", l, n, w, got, want)
				}
			}
		}
	}
}

func TestParseTilePathRejects(t *testing.T) {
	for _, p := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "tiles/0/000", "/tile/0/000",
		"tile/00/000", "tile/01/000", "tile/64/000", "tile/-1/000", "tile/+1/000", "tile/a/000",
		"tile/0/00", "tile/0/0000", "tile/0/x000/001", "tile/0/001/002", "tile/0/x01/002",
		"tile/0/x001/x002", "tile/0/x001/", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/08",
		"tile/0/000.p/", "tile/0/000.p/1/", "tile/0/000.p", "tile/0/000.q/5", "tile/0/00a",
		"tile/entries/000.p/256", "tile/Entries/000", "tile/entries", "tile/0/x100/x000/x000/x000/x000/x000/000",
		"tile/0/x018/x446/x744/x073/x709/x551/615",
	} {
		if ref, err := ParseTilePath(p); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want error", p, ref)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/0/x001/x234/067.p/8", "tile/entries/x001/000.p/255",
		"tile/63/x072/x057/x594/x037/x927/935", "tile/0/000.p/0", "tile/00/000", "tile/0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ref, err := ParseTilePath(p)
		if err != nil {
			return
		}
		if ref.Width < 1 || ref.Width > 256 || ref.Level < -1 || ref.Level > 63 || ref.N > maxTileIndex {
			t.Fatalf("ParseTilePath(%q) = %+v out of range", p, ref)
		}
		var back string
		if ref.Level < 0 {
			back = EntriesPath(ref.N, ref.Width)
		} else {
			back = TilePath(ref.Level, ref.N, ref.Width)
		}
		if back != p {
			t.Fatalf("ParseTilePath(%q) = %+v, which formats as %q", p, ref, back)
		}
	})
}

func TestEntryBundle(t *testing.T) {
	big := bytes.Repeat([]byte{7}, MaxEntrySize)
	good := [][]byte{[]byte("a"), big, []byte("xyz")}
	b, err := MarshalEntryBundle(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 1 + 2 + MaxEntrySize + 2 + 3; len(b) != want || b[0] != 0 || b[1] != 1 || b[3] != 0xff || b[4] != 0xff {
		t.Fatalf("bundle layout wrong: len %d, prefix % x", len(b), b[:5])
	}
	got, err := ParseEntryBundle(b)
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], big) || string(got[2]) != "xyz" {
		t.Fatalf("ParseEntryBundle round trip: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"half length", []byte{0}, "entry 0: truncated length at offset 0"},
		{"zero length", []byte{0, 0}, "entry 0 at offset 0: zero length"},
		{"short entry", []byte{0, 1, 'a', 0, 3, 'b'}, "entry 1 at offset 3: length 3, only 1 bytes left"},
		{"too many", bytes.Repeat([]byte{0, 1, 'a'}, 257), "more than 256 entries"},
	} {
		_, err := ParseEntryBundle(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := MarshalEntryBundle([][]byte{{}}); !errors.Is(err, ErrEmptyEntry) {
		t.Errorf("MarshalEntryBundle(empty entry) = %v", err)
	}
	if _, err := MarshalEntryBundle([][]byte{append(big, 0)}); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("MarshalEntryBundle(65536 bytes) = %v", err)
	}
	if _, err := MarshalEntryBundle(make([][]byte, 257)); err == nil {
		t.Errorf("MarshalEntryBundle(257 entries) accepted")
	}
}

func FuzzParseEntryBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a'})
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 1, 'd'})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 1})
	f.Add(bytes.Repeat([]byte{0, 1, 'z'}, 256))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseEntryBundle(b)
		if err != nil {
			return
		}
		if len(entries) < 1 || len(entries) > 256 {
			t.Fatalf("%d entries accepted", len(entries))
		}
		back, err := MarshalEntryBundle(entries)
		if err != nil {
			t.Fatalf("re-marshal of parsed bundle: %v", err)
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("round trip changed bytes")
		}
	})
}
