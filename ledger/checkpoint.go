package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// GenerateKey returns a new Ed25519 signed-note key pair named origin, in
// x/mod note's text encodings ("PRIVATE+KEY+<name>+<hash>+<key>" and
// "<name>+<hash>+<key>").
func GenerateKey(origin string, rnd io.Reader) (skey, vkey string, err error) {
	if err := checkOrigin(origin); err != nil {
		return "", "", err
	}
	skey, vkey, err = note.GenerateKey(rnd, origin)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generate key for %q: %w", origin, err)
	}
	return skey, vkey, nil
}

// Checkpoint is an opened, signature-verified checkpoint.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
	Note   *note.Note // the opened note: verified and unverified signatures
	Signed []byte     // the signed note as received
	// opener is the log key OpenCheckpoint verified Signed with (nil for a
	// Checkpoint made otherwise): StoreCheckpoint stores only what it opened.
	opener note.Verifier
}

// SignCheckpoint signs a C2SP tlog-checkpoint for origin, size and root.
//
// The note body (C2SP tlog-checkpoint, via transparency-dev/formats/log) is
// exactly three lines, each ending in '\n':
//
//	<origin>
//	<size in decimal ASCII, no leading zeros>
//	<base64 (standard, padded) of the 32-byte root hash>
//
// followed by a blank line and one signature line per signer (C2SP
// signed-note: "— <key name> <base64(4-byte key hash || signature)>"). The
// signer's name must equal origin. Extension lines are not produced; a future
// version may add them after the root line, which OpenCheckpoint ignores.
func SignCheckpoint(s note.Signer, origin string, size uint64, root tlog.Hash) ([]byte, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	if s.Name() != origin {
		return nil, fmt.Errorf("ledger: signer name %q is not origin %q", s.Name(), origin)
	}
	body := log.Checkpoint{Origin: origin, Size: size, Hash: root[:]}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint: %w", err)
	}
	return signed, nil
}

// OpenCheckpoint verifies signed (the format of SignCheckpoint) with v, which
// must be the log's own key and must have signed it, and parses it strictly:
// origin must equal origin (ErrOriginMismatch), size must be canonical
// decimal, root must decode to exactly 32 bytes. others are extra verifiers
// (for example witnesses) whose signatures, if present, are verified too;
// signatures by unknown keys are ignored. Signature errors wrap x/mod note's
// errors (note.UnverifiedNoteError, note.InvalidSignatureError, ...).
func OpenCheckpoint(signed []byte, origin string, v note.Verifier, others ...note.Verifier) (*Checkpoint, error) {
	if v == nil {
		return nil, errors.New("ledger: open checkpoint: nil verifier")
	}
	vs := append([]note.Verifier{v}, others...)
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, fmt.Errorf("ledger: open checkpoint for %q: %w", origin, err)
	}
	bySigner := false
	for _, s := range n.Sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			bySigner = true
		}
	}
	if !bySigner {
		return nil, fmt.Errorf("ledger: open checkpoint for %q: no signature by log key %q", origin, v.Name())
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("ledger: checkpoint for %q: %w", origin, err)
	}
	if c.Origin != origin {
		return nil, fmt.Errorf("ledger: checkpoint names %q, want %q: %w", c.Origin, origin, ErrOriginMismatch)
	}
	if len(c.Hash) != tlog.HashSize {
		return nil, fmt.Errorf("ledger: checkpoint for %q: root hash is %d bytes, want 32", origin, len(c.Hash))
	}
	if !bytes.HasPrefix([]byte(n.Text), c.Marshal()) {
		return nil, fmt.Errorf("ledger: checkpoint for %q: body is not in canonical form", origin)
	}
	cp := &Checkpoint{Origin: c.Origin, Size: c.Size, Note: n, Signed: append([]byte(nil), signed...), opener: v}
	copy(cp.Root[:], c.Hash)
	return cp, nil
}

// SetCheckpoint stores a signed checkpoint for origin after checking that v
// (the log's key) signed it, that it names origin, that its size is at most
// the tree size (ErrCheckpointAhead) and that its root equals TreeHash(size)
// (*RootMismatchError). It becomes the latest checkpoint unless a larger one
// is stored; every checkpoint stays in the history. On error nothing is
// written.
func (tx *Tx) SetCheckpoint(origin string, signed []byte, v note.Verifier) error {
	cp, err := OpenCheckpoint(signed, origin, v)
	if err != nil {
		return err
	}
	return tx.storeCheckpoint(cp)
}

// StoreCheckpoint is SetCheckpoint for a checkpoint the caller already
// opened with OpenCheckpoint and the log's key v (an apply function that
// checks the checkpoint before deciding to store it): the signature is not
// verified a second time (an Ed25519 verification per mirrored batch in
// the FSM, issue 20), everything else is checked as by SetCheckpoint. A
// Checkpoint that OpenCheckpoint did not return, or opened with a key of
// another name or key hash than v, is refused (ErrNotOpened) and nothing is
// written.
func (tx *Tx) StoreCheckpoint(cp *Checkpoint, v note.Verifier) error {
	if cp == nil || cp.opener == nil || v == nil || cp.opener.Name() != v.Name() || cp.opener.KeyHash() != v.KeyHash() {
		return ErrNotOpened
	}
	return tx.storeCheckpoint(cp)
}

// ErrNotOpened refuses a Checkpoint that StoreCheckpoint cannot know to be
// verified with the key it was given; the caller should open it with
// OpenCheckpoint (or call SetCheckpoint).
var ErrNotOpened = errors.New("ledger: checkpoint not opened with this log key")

// storeCheckpoint is SetCheckpoint after the signature check.
func (tx *Tx) storeCheckpoint(cp *Checkpoint) error {
	origin := cp.Origin
	r := tx.Log(origin)
	if size := r.Size(); cp.Size > size {
		return fmt.Errorf("ledger: %s: checkpoint size %d, tree size %d: %w", origin, cp.Size, size, ErrCheckpointAhead)
	}
	root, err := r.TreeHash(cp.Size)
	if err != nil {
		return err
	}
	if root != cp.Root {
		return &RootMismatchError{Origin: origin, Size: cp.Size, Checkpoint: cp.Root, Tree: root}
	}
	b, err := createLogBuckets(tx.tx, origin)
	if err != nil {
		return fmt.Errorf("ledger: log %q: %w", origin, err)
	}
	if err := b.checkpoints.Put(u64(cp.Size), cp.Signed); err != nil {
		tx.err = err
		return fmt.Errorf("ledger: %s: store checkpoint: %w", origin, err)
	}
	if latest, ok := parseU64(b.meta.Get([]byte(keyCheckpoint))); ok && latest > cp.Size {
		return nil
	}
	if err := b.meta.Put([]byte(keyCheckpoint), u64(cp.Size)); err != nil {
		tx.err = err
		return fmt.Errorf("ledger: %s: store checkpoint: %w", origin, err)
	}
	return nil
}

// DropCheckpoint removes the checkpoint of the given size from origin's
// history, so that a log checkpointed many times a second keeps a bounded
// history (the caller decides which to keep). The latest checkpoint cannot be
// dropped; dropping an absent size is a no-op.
func (tx *Tx) DropCheckpoint(origin string, size uint64) error {
	b, err := createLogBuckets(tx.tx, origin)
	if err != nil {
		return fmt.Errorf("ledger: log %q: %w", origin, err)
	}
	if latest, ok := parseU64(b.meta.Get([]byte(keyCheckpoint))); ok && latest == size {
		return fmt.Errorf("ledger: %s: refusing to drop the latest checkpoint (size %d)", origin, size)
	}
	if err := b.checkpoints.Delete(u64(size)); err != nil {
		tx.err = err
		return fmt.Errorf("ledger: %s: drop checkpoint %d: %w", origin, size, err)
	}
	return nil
}
