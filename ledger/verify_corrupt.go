package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrDamaged marks every error that means the file itself is damaged (a
// bbolt page that does not parse, a meta page that fails its checksum, an
// entry that does not match its hash tile), as opposed to a missing entry or
// bad input. Match with errors.Is.
var ErrDamaged = errors.New("ledger file damaged")

// PageError reports a damaged bbolt page. bbolt panics on many kinds of
// damaged page (its code trusts what it wrote); every read of this package
// turns such a panic into a *PageError, so a damaged file is an error naming
// the page, never a crash.
type PageError struct {
	Path   string
	Page   int64  // bbolt page id, -1 if bbolt's message names none
	Reason string // bbolt's own message
}

func (e *PageError) Error() string {
	if e.Page < 0 {
		return fmt.Sprintf("ledger: %s: damaged page: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("ledger: %s: page %d damaged: %s", e.Path, e.Page, e.Reason)
}

func (e *PageError) Unwrap() error { return ErrDamaged }

// pageInMessage finds the page id in bbolt's panic and error messages
// ("invalid page type: 57: 10", "page 57: unreachable unfreed",
// "pgid (57) above high water mark (40)").
var pageInMessage = regexp.MustCompile(`(?i)(?:page(?: type)?|pgid|pgId)\s*(?:id\s*)?[:(=]?\s*\(?(\d+)`)

func newPageError(path string, reason string) *PageError {
	reason = strings.TrimPrefix(reason, "panic: ")
	e := &PageError{Path: path, Page: -1, Reason: reason}
	if m := pageInMessage.FindStringSubmatch(reason); m != nil {
		if p, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			e.Page = p
		}
	}
	return e
}

// recoverPage turns a bbolt panic (or a memory fault while reading the
// mapped file, with debug.SetPanicOnFault) into a *PageError in *err.
func recoverPage(path string, err *error) {
	if r := recover(); r != nil {
		*err = newPageError(path, fmt.Sprint(r))
	}
}

// MetaPage is what one of the two bbolt meta pages (page 0 and 1) holds.
type MetaPage struct {
	Page  int    // 0 or 1
	Valid bool   // magic, version and checksum are right
	Txid  uint64 // the transaction it records (as stored, even if not Valid)
	Err   string // why it is not valid
}

// MetaState is the state of a bbolt file's two meta pages. bbolt writes
// them alternately (transaction t to page t%2) and opens a file at the valid
// one with the higher transaction id, silently falling back to the other if
// one fails its checksum. A damaged newest meta page therefore rolls the
// file back by one commit without any error from bbolt.
type MetaState struct {
	Pages    [2]MetaPage
	OpenTxid uint64 // the transaction bbolt opens the file at
}

// Damaged returns the invalid meta page, if any.
func (m *MetaState) Damaged() (MetaPage, bool) {
	for _, p := range m.Pages {
		if !p.Valid {
			return p, true
		}
	}
	return MetaPage{}, false
}

// Error describes a damaged meta page and what bbolt does about it, naming
// whether the damaged page was the newest commit (a rollback) when its
// transaction id is still readable. Nil if both pages are valid.
func (m *MetaState) Error(path string) error {
	bad, ok := m.Damaged()
	if !ok {
		return nil
	}
	what := "the older or the newest commit (its transaction id is unreadable)"
	switch {
	case bad.Txid == m.OpenTxid+1:
		what = fmt.Sprintf("the newest commit (txid %d): the file opens ROLLED BACK by one commit, at txid %d", bad.Txid, m.OpenTxid)
	case bad.Txid+1 == m.OpenTxid:
		what = fmt.Sprintf("the older commit (txid %d); the file opens at the newest, txid %d", bad.Txid, m.OpenTxid)
	}
	return &PageError{Path: path, Page: int64(bad.Page), Reason: fmt.Sprintf("bbolt meta page %s; it held %s", bad.Err, what)}
}

// bbolt's on-disk meta page (go.etcd.io/bbolt internal/common): a 16-byte
// page header (id u64, flags u16, count u16, overflow u32), then magic u32,
// version u32, pageSize u32, flags u32, root bucket (pgid u64, sequence u64),
// freelist pgid u64, high-water pgid u64, txid u64, checksum u64 = FNV-64a
// of the 56 bytes before it. All native-endian (little-endian here).
const (
	boltPageHeader = 16
	boltMetaLen    = 64
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
)

func parseMeta(b []byte) (MetaPage, uint32) {
	m := b[boltPageHeader : boltPageHeader+boltMetaLen]
	le := binary.LittleEndian
	p := MetaPage{Txid: le.Uint64(m[48:56])}
	h := fnv.New64a()
	h.Write(m[:56])
	switch {
	case le.Uint32(m[0:4]) != boltMagic:
		p.Err = "magic number is wrong"
	case le.Uint32(m[4:8]) != boltVersion:
		p.Err = fmt.Sprintf("version %d is not %d", le.Uint32(m[4:8]), boltVersion)
	case le.Uint64(m[56:64]) != h.Sum64():
		p.Err = "checksum does not match"
	default:
		p.Valid = true
	}
	return p, le.Uint32(m[8:12])
}

// ReadMetaPages reads and checks both meta pages of the bbolt file at path
// without opening it. An error means the file could not be read or neither
// meta page is valid (bbolt refuses such a file).
func ReadMetaPages(path string) (*MetaState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	buf := make([]byte, boltPageHeader+boltMetaLen)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("ledger: %s: reading meta page 0: %w", path, err)
	}
	var st MetaState
	m0, pageSize := parseMeta(buf)
	st.Pages[0] = m0 // m0.Page is 0
	sizes := []int64{int64(pageSize)}
	if !m0.Valid {
		sizes = []int64{int64(os.Getpagesize()), 4096, 8192, 16384, 65536}
	}
	for _, ps := range sizes {
		if ps < boltPageHeader+boltMetaLen {
			continue
		}
		if _, err := f.ReadAt(buf, ps); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("ledger: %s: reading meta page 1: %w", path, err)
		}
		m1, _ := parseMeta(buf)
		m1.Page = 1
		st.Pages[1] = m1
		if m1.Valid {
			break
		}
	}
	switch {
	case m0.Valid && st.Pages[1].Valid:
		st.OpenTxid = max(m0.Txid, st.Pages[1].Txid)
	case m0.Valid:
		st.OpenTxid = m0.Txid
	case st.Pages[1].Valid:
		st.OpenTxid = st.Pages[1].Txid
	default:
		return &st, &PageError{Path: path, Page: 0, Reason: "both bbolt meta pages are invalid (" + m0.Err + "; " + st.Pages[1].Err + ")"}
	}
	return &st, nil
}

// CheckPages runs bbolt's consistency check (Tx.Check: every page reachable
// exactly once or free, page types, key order) over the whole file and
// returns the first problem as a *PageError. It reads every page: about a
// second per GB on an SSD.
func (s *Store) CheckPages(ctx context.Context) (err error) {
	return s.db.View(func(btx *bbolt.Tx) error {
		var first error
		for e := range btx.Check() {
			if first == nil {
				first = newPageError(s.path, e.Error())
			}
		}
		if first == nil {
			first = ctx.Err()
		}
		return first
	})
}

// CheckLog checks one log at start-up, cheaper than VerifyStore (no leaf
// index, no checkpoint history) but over everything a reader is served:
// every entry against its level-0 hash tile, the tree recomputed from them
// against every stored tile, and the latest stored checkpoint (signed by v
// and naming origin) against the recomputed root. It returns that checkpoint
// (nil if none) or a *VerifyError naming the first failing entry or tile.
func (s *Store) CheckLog(ctx context.Context, origin string, v note.Verifier) (*Checkpoint, error) {
	var size uint64
	var signed []byte
	err := s.View(func(tx *ReadTx) error {
		r := tx.Log(origin)
		size = r.Size()
		cp, err := r.Checkpoint()
		if err == nil {
			signed = cp
		} else if !errors.Is(err, ErrNoCheckpoint) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, &VerifyError{Origin: origin, Index: -1, Reason: "reading the log", Err: err}
	}
	var cp *Checkpoint
	var roots []sizeRoot
	if signed != nil {
		if cp, err = OpenCheckpoint(signed, origin, v); err != nil {
			return nil, &VerifyError{Origin: origin, Index: -1, Reason: "latest checkpoint", Err: err}
		}
		if cp.Size > size {
			return nil, &VerifyError{Origin: origin, Index: int64(size), Reason: fmt.Sprintf(
				"latest checkpoint is at size %d but the log holds only %d entries (rolled back)", cp.Size, size)}
		}
		roots = []sizeRoot{{cp.Size, cp.Root}}
	}
	tv := &treeVerifier{origin: origin, src: uncheckedLog{s.Log(origin)}, size: size, roots: roots}
	if _, err := tv.run(ctx); err != nil {
		return nil, err
	}
	return cp, nil
}

// uncheckedLog serves entry bundles without comparing entries to their
// hash tiles, for the verifiers, which compare them themselves and name the
// entry.
type uncheckedLog struct{ *Log }

func (l uncheckedLog) ReadEntryBundle(n uint64, width int) (b []byte, err error) {
	err = l.view(func(r *LogReader) error { b, err = r.entryBundle(n, width, false); return err })
	return b, err
}

// checkLeaf compares entry i, as read, with its leaf hash in hash tile 0:
// the cheap check every entry read makes, so that a damaged entry is refused
// rather than served. One tile lookup and one SHA-256 of the entry.
func (r *LogReader) checkLeaf(i uint64, e []byte) error {
	return (&leafChecker{r: r}).check(i, e)
}

// leafChecker is checkLeaf over a run of consecutive entries (a bundle, a
// ForEachChecked range): it looks each hash tile up once, not once per
// entry.
type leafChecker struct {
	r      *LogReader
	n      uint64 // the tile held in tile, if loaded
	tile   []byte
	loaded bool
}

func (c *leafChecker) check(i uint64, e []byte) error {
	if n := i / TileWidth; !c.loaded || n != c.n {
		c.n, c.tile, c.loaded = n, c.r.bk().tiles.Get(tileKey(0, n)), true
	}
	k := int(i%TileWidth) * tlog.HashSize
	leaf := tlog.RecordHash(e)
	if len(c.tile) < k+tlog.HashSize || !bytes.Equal(c.tile[k:k+tlog.HashSize], leaf[:]) {
		return fmt.Errorf("%w: %w", ErrDamaged, &CorruptError{Origin: c.r.origin,
			Reason: fmt.Sprintf("entry %d does not match its hash in tile 0/%d", i, i/TileWidth)})
	}
	return nil
}

// ForEachChecked is ForEach with every entry checked against its hash in
// tile 0 first (an error wrapping ErrDamaged stops it): for entries that
// are served to a caller.
func (r *LogReader) ForEachChecked(start, end uint64, fn func(i uint64, e []byte) error) error {
	lc := &leafChecker{r: r}
	return r.ForEach(start, end, func(i uint64, e []byte) error {
		if err := lc.check(i, e); err != nil {
			return err
		}
		return fn(i, e)
	})
}
