package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TileRef names a C2SP tlog-tiles resource: a hash tile (Level 0..63) or an
// entry bundle (Level -1), index N, and Width 1..256 (256 = full).
type TileRef struct {
	Level int
	N     uint64
	Width int
}

// maxTileIndex bounds N so that N*256+255 fits in a uint64.
const maxTileIndex = (1<<64 - 1) / TileWidth

// TilePath returns the C2SP tlog-tiles path of hash tile level/n of the given
// width: "tile/<L>/<N>[.p/<W>]", N in zero-padded 3-digit groups, all but the
// last prefixed by "x" (n = 1234067 -> "x001/x234/067"); the ".p/<W>" suffix
// only for width < 256. It panics on level outside 0..63 or width outside
// 1..256 (callers validate input with ParseTilePath).
func TilePath(level int, n uint64, width int) string {
	if level < 0 || level > 63 {
		panic(fmt.Sprintf("ledger: TilePath: level %d", level))
	}
	return "tile/" + strconv.Itoa(level) + "/" + indexPath(n, width)
}

// EntriesPath returns the C2SP tlog-tiles path of entry bundle n:
// "tile/entries/<N>[.p/<W>]", N and W encoded as in TilePath.
func EntriesPath(n uint64, width int) string {
	return "tile/entries/" + indexPath(n, width)
}

func indexPath(n uint64, width int) string {
	if width < 1 || width > TileWidth {
		panic(fmt.Sprintf("ledger: tile width %d", width))
	}
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	if width < TileWidth {
		s += ".p/" + strconv.Itoa(width)
	}
	return s
}

// ParseTilePath parses a path produced by TilePath or EntriesPath and accepts
// nothing else: level 0..63 without leading zeros, N groups exactly as
// TilePath writes them (no "x000" leading group, 3 digits each), width 1..255
// without leading zeros after ".p/", and N at most (2^64-1)/256. For every
// accepted p, the path rebuilt from the result equals p.
func ParseTilePath(p string) (TileRef, error) {
	bad := func(why string) (TileRef, error) {
		return TileRef{}, fmt.Errorf("ledger: tile path %q: %s", p, why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad("does not start with tile/")
	}
	lvl, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("missing index")
	}
	var ref TileRef
	if lvl == "entries" {
		ref.Level = -1
	} else {
		l, err := smallDecimal(lvl, 63)
		if err != nil {
			return bad("level: " + err.Error())
		}
		ref.Level = l
	}
	ref.Width = TileWidth
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		width, err := smallDecimal(w, TileWidth-1)
		if err != nil || width == 0 {
			return bad("partial width must be 1..255 without leading zeros")
		}
		ref.Width, rest = width, idx
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			var ok bool
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return bad("non-final index group lacks x prefix")
			}
			if i == 0 && g == "000" {
				return bad("leading zero index group")
			}
		}
		if len(g) != 3 || g[0] < '0' || g[0] > '9' || g[1] < '0' || g[1] > '9' || g[2] < '0' || g[2] > '9' {
			return bad("index group must be 3 digits")
		}
		d := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if ref.N > (maxTileIndex-d)/1000 {
			return bad("index too large")
		}
		ref.N = ref.N*1000 + d
	}
	return ref, nil
}

// smallDecimal parses a canonical decimal (no sign, no leading zeros) <= max.
func smallDecimal(s string, max int) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical decimal")
	}
	v := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, errors.New("not a canonical decimal")
		}
		v = v*10 + int(c-'0')
	}
	if v > max {
		return 0, fmt.Errorf("%d exceeds %d", v, max)
	}
	return v, nil
}

// MarshalEntryBundle encodes 1..256 entries as a C2SP tlog-tiles entry bundle.
//
// Byte layout: for each entry in order, a big-endian uint16 length (1..65535)
// followed by that many bytes of entry; nothing else (no header, no
// trailer, no padding). Entry k of bundle N is log entry N*256+k. The format
// is fixed by C2SP tlog-tiles; a changed encoding would be served under a
// different path, never under tile/entries.
func MarshalEntryBundle(entries [][]byte) ([]byte, error) {
	if len(entries) == 0 || len(entries) > TileWidth {
		return nil, fmt.Errorf("ledger: bundle of %d entries, want 1..256", len(entries))
	}
	if err := checkEntries(entries); err != nil {
		return nil, err
	}
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	out := make([]byte, 0, n)
	for _, e := range entries {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

// ParseEntryBundle decodes a bundle in the format of MarshalEntryBundle. It
// rejects an empty bundle, a zero-length entry, a truncated length or entry,
// and more than 256 entries, naming the entry and byte offset. The returned
// slices alias b.
func ParseEntryBundle(b []byte) ([][]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("ledger: entry bundle is empty")
	}
	var out [][]byte
	for off := 0; off < len(b); {
		k := len(out)
		if k == TileWidth {
			return nil, fmt.Errorf("ledger: entry bundle: more than 256 entries (extra bytes at offset %d)", off)
		}
		if len(b)-off < 2 {
			return nil, fmt.Errorf("ledger: entry bundle: entry %d: truncated length at offset %d", k, off)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if n == 0 {
			return nil, fmt.Errorf("ledger: entry bundle: entry %d at offset %d: zero length", k, off-2)
		}
		if len(b)-off < n {
			return nil, fmt.Errorf("ledger: entry bundle: entry %d at offset %d: length %d, only %d bytes left", k, off-2, n, len(b)-off)
		}
		out = append(out, b[off:off+n:off+n])
		off += n
	}
	return out, nil
}
