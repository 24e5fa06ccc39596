package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// MaxEntrySize is the largest entry a log accepts: entry bundles (C2SP
// tlog-tiles) prefix each entry with a big-endian uint16 length.
const MaxEntrySize = 65535

// TileHeight is the tlog-tiles tile height: a tile holds up to 2^8 = 256 hashes.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile and entries in a full bundle.
const TileWidth = 1 << TileHeight

// Store layout, format version 1.
//
// Top-level buckets:
//
//	"ledger.store"       store metadata; key "format" -> one byte, the format
//	                     version (0x01). Open refuses any other version; a
//	                     layout change must bump it and migrate explicitly.
//	"log"                one nested bucket per log, named by the origin's bytes
//	"ext"                one nested bucket per caller name (Tx.Bucket); the
//	                     contents are owned and specified by the caller.
//
// Nested under "log"/<origin>:
//
//	"entries"      key: uint64 big-endian entry index (8 bytes)
//	               value: the entry bytes (1..65535), exactly as appended.
//	"tiles"        key: 1 byte tile level L (0..63) || uint64 big-endian tile
//	               index N (9 bytes)
//	               value: W*32 bytes, the C2SP tlog-tiles hash tile L/N of width
//	               W (1..256): the hashes of tree level 8*L, nodes N*256 ..
//	               N*256+W-1, in order. A tile with W < 256 is rewritten as the
//	               tree grows; a tile with W = 256 never changes. No other
//	               levels are stored: they are derived with tlog.HashFromTile.
//	"leaves"       key: 32-byte leaf hash; value: uint64 big-endian index of
//	               the FIRST entry with that leaf hash.
//	"checkpoints"  key: uint64 big-endian tree size; value: the signed note
//	               (C2SP signed-note of a C2SP tlog-checkpoint) for that size,
//	               verified before it was stored. One per size; a later
//	               SetCheckpoint for the same size (for example with more
//	               cosignatures) replaces it.
//	"meta"         "size"       -> uint64 big-endian number of entries
//	               "range"      -> the right edge of the tree: popcount(size)
//	                               32-byte hashes, the roots of the perfect
//	                               subtrees covering [0, size), left to right
//	                               (a transparency-dev compact.Range)
//	               "checkpoint" -> uint64 big-endian size of the latest
//	                               (largest) stored checkpoint; absent if none
//
// Changing any of these names or encodings breaks existing data.
const (
	bucketStore       = "ledger.store" // changing this breaks existing data
	bucketLogs        = "log"          // changing this breaks existing data
	bucketExt         = "ext"          // changing this breaks existing data
	bucketEntries     = "entries"      // changing this breaks existing data
	bucketTiles       = "tiles"        // changing this breaks existing data
	bucketLeaves      = "leaves"       // changing this breaks existing data
	bucketCheckpoints = "checkpoints"  // changing this breaks existing data
	bucketMeta        = "meta"         // changing this breaks existing data

	keyFormat     = "format"     // changing this breaks existing data
	keySize       = "size"       // changing this breaks existing data
	keyRange      = "range"      // changing this breaks existing data
	keyCheckpoint = "checkpoint" // changing this breaks existing data

	formatVersion = 1 // bump on any layout change; Open refuses other versions
)

// Errors callers branch on.
var (
	// ErrEntryTooLarge: an entry is longer than MaxEntrySize. Reject the
	// submission (4xx); retrying cannot succeed.
	ErrEntryTooLarge = errors.New("ledger: entry larger than 65535 bytes")
	// ErrEmptyEntry: an entry has zero length. Reject the submission (4xx).
	ErrEmptyEntry = errors.New("ledger: empty entry")
	// ErrNotFound: the requested log, entry, tile or bundle does not exist (yet).
	// Serve 404; a mirror should retry after fetching a newer checkpoint.
	ErrNotFound = errors.New("ledger: not found")
	// ErrNoCheckpoint: the log has no stored checkpoint yet.
	ErrNoCheckpoint = errors.New("ledger: no checkpoint")
	// ErrCheckpointAhead: a checkpoint's size exceeds the stored tree size. A
	// mirror should fetch and append the missing entries, then retry.
	ErrCheckpointAhead = errors.New("ledger: checkpoint size beyond tree size")
	// ErrOriginMismatch: a checkpoint names another log.
	ErrOriginMismatch = errors.New("ledger: checkpoint origin mismatch")
)

// RootMismatchError is returned when a correctly signed checkpoint commits to a
// root hash other than the stored tree's hash at that size: evidence that the
// signer (or the store) forked the log. Keep the checkpoint as evidence.
type RootMismatchError struct {
	Origin     string
	Size       uint64
	Checkpoint tlog.Hash // root in the signed checkpoint
	Tree       tlog.Hash // root computed from the stored tree
}

func (e *RootMismatchError) Error() string {
	return fmt.Sprintf("ledger: %s: checkpoint root %v does not match tree hash %v at size %d",
		e.Origin, e.Checkpoint, e.Tree, e.Size)
}

// CorruptError is returned by Open when a log's stored metadata does not match
// its entries or hash tiles. It is not repaired automatically: run VerifyStore
// and restore the file (or the log) from a replica.
type CorruptError struct {
	Origin string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("ledger: %s: store corrupt: %s", e.Origin, e.Reason)
}

// LeafHash returns the RFC 6962 leaf hash of an entry, the key of the leaf
// index (see LogReader.LeafIndex).
func LeafHash(entry []byte) tlog.Hash { return tlog.RecordHash(entry) }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func tileKey(level int, n uint64) []byte {
	var b [9]byte
	b[0] = byte(level)
	binary.BigEndian.PutUint64(b[1:], n)
	return b[:]
}

func parseU64(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// checkOrigin validates a log origin: 1..255 bytes of UTF-8 with no spaces or
// control characters (it is a checkpoint's first line and a bucket name).
func checkOrigin(origin string) error {
	if origin == "" {
		return errors.New("ledger: origin is empty")
	}
	if len(origin) > 255 {
		return fmt.Errorf("ledger: origin is %d bytes, max 255", len(origin))
	}
	if !utf8.ValidString(origin) {
		return fmt.Errorf("ledger: origin %q is not valid UTF-8", origin)
	}
	for _, r := range origin {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			return fmt.Errorf("ledger: origin %q contains space or control character %U", origin, r)
		}
	}
	return nil
}

// checkEntries validates a batch before anything is written.
func checkEntries(entries [][]byte) error {
	for i, e := range entries {
		switch {
		case len(e) == 0:
			return fmt.Errorf("ledger: entries[%d]: %w", i, ErrEmptyEntry)
		case len(e) > MaxEntrySize:
			return fmt.Errorf("ledger: entries[%d] is %d bytes: %w", i, len(e), ErrEntryTooLarge)
		}
	}
	return nil
}
