package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/bbolt"
)

// Refusals of vault commands (the FSM reports them to the proposer with
// nothing written; the node's API maps them to 404, 410, 503 and 409).
var (
	// ErrNoEntry: the ledger entry named does not exist (yet). Answer 404.
	ErrNoEntry = errors.New("vault: no such ledger entry")
	// ErrErased: the entry's personal data was erased; no key may be stored
	// for it again. Answer 410.
	ErrErased = errors.New("vault: the personal data of this record was erased")
	// ErrEpoch: the keys were wrapped under a vault key that an erasure or a
	// rotation has since replaced (or a rotation asked from an epoch not yet
	// reached). Answer 503: the retry wraps under the new key.
	ErrEpoch = errors.New("vault: the key was wrapped under a vault key that an erasure has since replaced; retry")
)

// ConflictError refuses a put that would replace a stored key at Path with a
// different one; nothing of the command is stored. Answer 409.
type ConflictError struct{ Path string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("vault: a different key is already stored for %s", e.Path)
}

// Item is one wrapped data key to store: at Path inside the record, Wrapped
// as State.Wrap made it.
type Item struct {
	Path    string
	Wrapped []byte
}

// prefix is the key of entry index of origin in Bucket (format in its doc).
func prefix(origin string, index uint64) []byte {
	b := make([]byte, 0, len(origin)+9)
	b = append(append(b, origin...), 0)
	return binary.BigEndian.AppendUint64(b, index)
}

// at is the key of the wrapped key at path of an entry's prefix p.
func at(p []byte, path string) []byte { return append(p[:len(p):len(p)], path...) }

// StoredEpoch is the vault-key epoch stored in b (0 for a nil bucket or none).
func StoredEpoch(b *bbolt.Bucket) uint64 {
	if b == nil {
		return 0
	}
	if v := b.Get([]byte(epochKey)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Put stores items for entry index of origin, all or nothing. Storing the
// same wrapped key again is a no-op, so a retried command is harmless.
// It refuses (refusal != nil, nothing written) an erased entry (ErrErased),
// keys of another epoch than the stored one (ErrEpoch), and a different key
// at a stored path (*ConflictError). added counts the paths newly stored.
// err is a storage failure; the transaction must not commit.
//
// The caller checks that the entry exists (ErrNoEntry): the vault does not
// read the ledger.
func Put(b *bbolt.Bucket, origin string, index uint64, items []Item) (added int, refusal, err error) {
	p := prefix(origin, index)
	if b.Get(p) != nil {
		return 0, ErrErased, nil
	}
	epoch := StoredEpoch(b)
	for _, k := range items {
		if e, _ := WrappedEpoch(k.Wrapped); e != epoch {
			return 0, ErrEpoch, nil
		}
	}
	seen := map[string][]byte{}
	for _, k := range items {
		old := seen[k.Path]
		if old == nil {
			old = b.Get(at(p, k.Path))
		}
		if old != nil && !bytes.Equal(old, k.Wrapped) {
			return 0, &ConflictError{Path: k.Path}, nil
		}
		if old == nil {
			added++
		}
		seen[k.Path] = k.Wrapped
	}
	for _, k := range items {
		if err := b.Put(at(p, k.Path), k.Wrapped); err != nil {
			return 0, nil, fmt.Errorf("vault: %w", err)
		}
	}
	return added, nil, nil
}

// Erase deletes every key of entry index of origin and leaves a tombstone
// holding now (the raft time, so every replica writes the same bytes).
// Idempotent: erasing again destroys nothing more and keeps the first
// tombstone. The first erasure of an entry (or one that still found keys)
// ratchets the vault key (Ratchet) in the same transaction and returns the
// new epoch, which the caller must make the key file's after the commit
// (Ring.AdvanceTo); epoch 0 means the key did not move. err is a storage
// failure; the transaction must not commit.
func Erase(b *bbolt.Bucket, origin string, index uint64, ring *Ring, now time.Time, logger *slog.Logger) (erased int, epoch uint64, err error) {
	p := prefix(origin, index)
	tomb := b.Get(p)
	var doomed [][]byte
	cur := b.Cursor()
	for k, _ := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = cur.Next() {
		if len(k) > len(p) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, 0, fmt.Errorf("vault: %w", err)
		}
	}
	if tomb == nil || len(doomed) > 0 {
		// The first erasure of an entry moves the vault key on.
		if epoch, err = Ratchet(b, ring, logger); err != nil {
			return 0, 0, err
		}
	}
	if tomb == nil {
		if err := b.Put(p, binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))); err != nil {
			return 0, 0, fmt.Errorf("vault: %w", err)
		}
	}
	return len(doomed), epoch, nil
}

// Rotate moves the vault key one epoch on from epoch from without erasing
// anything (Ratchet), and returns the epoch now and the number of live
// wrapped keys re-wrapped. Idempotent: from behind the stored epoch (a retry,
// or another rotation or erasure first) changes nothing and returns the
// stored epoch with rewrapped 0. from ahead of it is refused (ErrEpoch).
// When moved, the caller must make the key file's epoch the returned one
// after the commit (Ring.AdvanceTo).
func Rotate(b *bbolt.Bucket, from uint64, ring *Ring, logger *slog.Logger) (epoch uint64, rewrapped int, moved bool, refusal, err error) {
	epoch = StoredEpoch(b)
	switch {
	case from < epoch:
		return epoch, 0, false, nil, nil // already past: idempotent
	case from > epoch:
		return epoch, 0, false, fmt.Errorf("%w (asked to rotate from epoch %d, the vault is at %d)", ErrEpoch, from, epoch), nil
	}
	cur := b.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if len(k) == 0 || k[0] == 0 {
			continue
		}
		if _, rest, ok := bytes.Cut(k, []byte{0}); ok && len(rest) > 8 {
			rewrapped++
		}
	}
	if epoch, err = Ratchet(b, ring, logger); err != nil {
		return 0, 0, false, nil, err
	}
	return epoch, rewrapped, true, nil, nil
}

// Entry is what the vault holds for one ledger entry.
type Entry struct {
	Erased  bool
	Wrapped map[string][]byte // path -> wrapped key; copies, valid after the transaction
}

// Read returns the vault's state for entry index of origin; a nil bucket is
// an empty vault.
func Read(b *bbolt.Bucket, origin string, index uint64) Entry {
	ve := Entry{Wrapped: map[string][]byte{}}
	if b == nil {
		return ve
	}
	p := prefix(origin, index)
	cur := b.Cursor()
	for k, v := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
		if len(k) == len(p) {
			ve.Erased = true
			continue
		}
		ve.Wrapped[string(k[len(p):])] = append([]byte(nil), v...)
	}
	return ve
}
