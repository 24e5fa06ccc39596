package exchange

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/transparency-dev/formats/log"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Exchange buckets in ledger.db, written only by the apply functions below
// (ops 2-5 of the replica's raft command format), on the FSM goroutine of
// every replica. Changing these names or layouts breaks existing data
// directories.
//
//	mirror:     origin -> Frontier encoding of the mirrored tree
//	witness:    origin -> uvarint size || 32-byte root || the checkpoint note this
//	            member last cosigned for origin, with its cosignature line
//	witnessed:  origin -> uint64 BE size || the latest own checkpoint stored with a
//	            quorum of cosignatures (the note with its cosignature lines)
//	alerts:     uint64 BE sequence -> Evidence encoding
//	alertids:   SHA-256 of the evidence without its time -> uint64 BE sequence (dedupe)
//	stopped:    origin -> uint64 BE sequence of the alert that stopped mirroring it
//	unaccepted: origin || 0x00 || uint64 BE index -> schema id (mirrored, not indexed
//	            until its schema is adopted, see adopt.go)
const (
	BucketMirror     = "mirror"
	BucketWitness    = "witness"
	BucketWitnessed  = "witnessed"
	BucketAlerts     = "alerts"
	BucketAlertIDs   = "alertids"
	BucketStopped    = "stopped"
	BucketUnaccepted = "unaccepted"
)

// Op is an op of the inter-member exchange: ops 2-5 of the replica's raft
// command format (package node encodes and decodes the bytes).
type Op byte

const (
	OpMirrorAppend Op = 2 // append verified entries (and the checkpoint once reached) to a mirror
	OpWitness      Op = 3 // record the checkpoint this member's witness cosigns
	OpCosigned     Op = 4 // store the own checkpoint with a quorum of cosignatures
	OpAlert        Op = 5 // record evidence of misbehaviour (deduplicated)
)

// Command is one exchange command, decoded.
type Command struct {
	Op         Op
	Origin     string
	Entries    [][]byte    // OpMirrorAppend
	Checkpoint []byte      // OpMirrorAppend, OpWitness, OpCosigned
	First      uint64      // OpMirrorAppend: index of Entries[0]
	OldSize    uint64      // OpWitness
	Proof      []tlog.Hash // OpWitness: old size -> checkpoint; OpMirrorAppend: First+len(Entries) -> checkpoint
	Evidence   []byte      // OpAlert
	// Follows are an OpFollow's further items: the first is Origin,
	// OldSize, Proof and Checkpoint (loop_follow.go).
	Follows []Follow
}

// Result is what a command did. A refused command wrote nothing and says
// why in Refused; it is an answer, never a storage failure.
type Result struct {
	Size    uint64   // OpMirrorAppend: mirror size; OpWitness, OpCosigned: checkpoint size; OpAlert: alert sequence
	Known   uint64   // OpWitness: the size this member last cosigned for Origin (after the command, or unchanged if refused)
	Refused *Refusal // nil: applied
}

// Refusal is a command refused by its apply function: the transaction holds
// none of its writes. Err is one of the Err* values below or a reason;
// errors.Is sees through a Refusal.
type Refusal struct {
	Op     Op
	Origin string
	Err    error
}

// Err is Refused as an error (nil when applied).
func (r Result) Err() error {
	if r.Refused == nil {
		return nil
	}
	return r.Refused
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// Reasons a command is refused (wrapped in a *Refusal).
var (
	ErrUnknownOrigin = errors.New("origin is not a mirrored member ledger")
	ErrStaleMirror   = errors.New("mirror already has these entries")
	ErrWitnessOld    = errors.New("old size does not match the last cosigned size")
	ErrInconsistent  = errors.New("checkpoint is inconsistent with the last cosigned one")
	ErrMirrorStopped = errors.New("mirroring of this origin is stopped by an alert")
	ErrUnknownOp     = errors.New("unknown exchange op")
)

// Store is what the apply functions need from the replica's FSM, inside
// its apply transaction. Each answer must depend only on tx and on what
// every replica of the region holds alike.
type Store interface {
	// Peer is the log key of a mirrored member ledger as of tx.
	Peer(tx *ledger.Tx, origin string) (note.Verifier, bool)
	// Signer is the log key of a log this region signs.
	Signer(origin string) (note.Verifier, bool)
	// IndexMirrored indexes (or flags as unaccepted) entries just appended
	// to a mirror, starting at index first.
	// leaves[i] is tlog.RecordHash(entries[i]), computed once by the apply
	// step from the bytes appended.
	IndexMirrored(tx *ledger.Tx, origin string, first uint64, entries [][]byte, leaves []tlog.Hash) error
}

// ApplyFunc applies one op inside the FSM's transaction tx. A returned
// error is a storage failure (the FSM stops the replica, which recovers by
// replaying raft); a refusal is Result.Refused.
type ApplyFunc func(tx *ledger.Tx, st Store, c Command) (Result, error)

// Apply is the op table: one apply function per op.
func Apply(op Op) (ApplyFunc, bool) {
	switch op {
	case OpMirrorAppend:
		return ApplyMirrorAppend, true
	case OpWitness:
		return ApplyWitness, true
	case OpCosigned:
		return ApplyCosigned, true
	case OpAlert:
		return ApplyAlert, true
	case OpFollow:
		return ApplyFollow, true // loop_follow.go
	}
	return nil, false
}

func refuse(c Command, err error) (Result, error) {
	return Result{Refused: &Refusal{Op: c.Op, Origin: c.Origin, Err: err}}, nil
}

// WitnessState is one origin's entry in the witness bucket: the checkpoint
// this member's witness last cosigned.
type WitnessState struct {
	Size uint64
	Root tlog.Hash
	Note []byte
}

func encodeWitnessState(w WitnessState) []byte {
	b := binary.AppendUvarint(nil, w.Size)
	b = append(b, w.Root[:]...)
	return append(b, w.Note...)
}

func decodeWitnessState(b []byte) (WitnessState, error) {
	var w WitnessState
	n, k := binary.Uvarint(b)
	if k <= 0 || len(b) < k+tlog.HashSize {
		return w, fmt.Errorf("corrupt witness state")
	}
	w.Size = n
	copy(w.Root[:], b[k:])
	w.Note = append([]byte(nil), b[k+tlog.HashSize:]...)
	return w, nil
}

// ReadWitnessState returns the last cosigned state for origin (size 0 if none).
func ReadWitnessState(tx *ledger.ReadTx, origin string) (WitnessState, error) {
	return witnessStateIn(tx.Bucket(BucketWitness), origin)
}

// witnessStateIn is ReadWitnessState from the witness bucket b (nil: none).
func witnessStateIn(b *bbolt.Bucket, origin string) (WitnessState, error) {
	if b == nil {
		return WitnessState{}, nil
	}
	v := b.Get([]byte(origin))
	if v == nil {
		return WitnessState{}, nil
	}
	return decodeWitnessState(v)
}

// readFrontier returns the mirror frontier of origin (empty if none).
func readFrontier(tx *ledger.ReadTx, origin string) (*Frontier, error) {
	if b := tx.Bucket(BucketMirror); b != nil {
		if v := b.Get([]byte(origin)); v != nil {
			return DecodeFrontier(v)
		}
	}
	return NewFrontier(), nil
}

// WitnessedCheckpoint returns origin's checkpoint stored with a quorum of
// cosignatures (OpCosigned), if any.
func WitnessedCheckpoint(tx *ledger.ReadTx, origin string) []byte {
	b := tx.Bucket(BucketWitnessed)
	if b == nil {
		return nil
	}
	v := b.Get([]byte(origin))
	if len(v) <= 8 {
		return nil
	}
	return append([]byte(nil), v[8:]...)
}

// ApplyMirrorAppend appends a verified batch of a member's entries to its
// mirror: the frontier extended by the entries must be the checkpoint's
// tree or a prefix of it (by the command's consistency proof); the
// checkpoint is stored once the mirror reaches its size.
func ApplyMirrorAppend(tx *ledger.Tx, st Store, c Command) (Result, error) {
	r := Result{}
	v, ok := st.Peer(tx, c.Origin)
	if !ok {
		return refuse(c, fmt.Errorf("%w: %s", ErrUnknownOrigin, c.Origin))
	}
	cp, err := ledger.OpenCheckpoint(c.Checkpoint, c.Origin, v)
	if err != nil {
		return refuse(c, err)
	}
	mb, err := tx.Bucket(BucketMirror)
	if err != nil {
		return r, err
	}
	if sb, err := tx.Bucket(BucketStopped); err != nil {
		return r, err
	} else if sb.Get([]byte(c.Origin)) != nil {
		return refuse(c, ErrMirrorStopped)
	}
	fr := NewFrontier()
	if v := mb.Get([]byte(c.Origin)); v != nil {
		if fr, err = DecodeFrontier(v); err != nil {
			return r, err
		}
	}
	lr := tx.Log(c.Origin)
	if lr.Size() != fr.Size() {
		return r, fmt.Errorf("mirror %s: log size %d, frontier size %d", c.Origin, lr.Size(), fr.Size())
	}
	if c.First != fr.Size() {
		if c.First < fr.Size() {
			return refuse(c, ErrStaleMirror)
		}
		return refuse(c, fmt.Errorf("mirror %s: entries start at %d, mirror size is %d", c.Origin, c.First, fr.Size()))
	}
	// Each leaf hash is computed once, here, from the bytes appended: the
	// frontier, the ledger's hash tiles and the indexer all use it.
	leaves := make([]tlog.Hash, len(c.Entries))
	for i, e := range c.Entries {
		leaves[i] = tlog.RecordHash(e)
		fr.AppendLeaf(leaves[i])
	}
	newSize, root := fr.Size(), fr.Root()
	switch {
	case newSize > cp.Size:
		return refuse(c, fmt.Errorf("mirror %s: %d entries exceed checkpoint size %d", c.Origin, newSize, cp.Size))
	case newSize == cp.Size:
		if root != cp.Root || len(c.Proof) != 0 {
			return refuse(c, fmt.Errorf("mirror %s: entries lead to root %x, checkpoint has %x", c.Origin, root[:4], cp.Root[:4]))
		}
	default:
		if err := tlog.CheckTree(c.Proof, int64(cp.Size), cp.Root, int64(newSize), root); err != nil {
			return refuse(c, fmt.Errorf("mirror %s: entries up to %d are not a prefix of checkpoint %d: %w", c.Origin, newSize, cp.Size, err))
		}
	}
	if len(c.Entries) > 0 {
		first, err := tx.AppendHashed(c.Origin, c.Entries, leaves)
		if err != nil {
			return r, err
		}
		if first != c.First {
			// The frontier and the log agreed above: the store is broken.
			return r, fmt.Errorf("mirror %s: appended at %d, frontier expected %d", c.Origin, first, c.First)
		}
		if err := mb.Put([]byte(c.Origin), fr.Encode()); err != nil {
			return r, err
		}
		if err := st.IndexMirrored(tx, c.Origin, first, c.Entries, leaves); err != nil {
			return r, err
		}
	}
	if newSize == cp.Size {
		// Opened with v above: not verified a second time.
		if err := tx.StoreCheckpoint(cp, v); err != nil {
			return r, err
		}
	}
	r.Size = newSize
	return r, nil
}

// ApplyWitness records the checkpoint this member's witness cosigns, if it
// is consistent with the last one cosigned for the origin (CheckWitness).
//
// A member's ledger is verified with the manifest's key (the same on every
// replica). Any other origin is a log of witness_logs, which is per-replica
// configuration: its signature was verified by the leader that proposed the
// command, and the FSM reads the checkpoint body unverified, so that every
// replica applies the command alike whatever its own witness_logs say.
func ApplyWitness(tx *ledger.Tx, st Store, c Command) (Result, error) {
	r := Result{}
	var cp *ledger.Checkpoint
	var err error
	if v, ok := st.Peer(tx, c.Origin); ok {
		cp, err = ledger.OpenCheckpoint(c.Checkpoint, c.Origin, v)
	} else {
		cp, err = readCheckpointBody(c.Checkpoint, c.Origin)
	}
	if err != nil {
		return refuse(c, err)
	}
	wb, err := tx.Bucket(BucketWitness)
	if err != nil {
		return r, err
	}
	var ws WitnessState
	if b := wb.Get([]byte(c.Origin)); b != nil {
		if ws, err = decodeWitnessState(b); err != nil {
			return r, err
		}
	}
	if err := checkWitness(ws, c.OldSize, c.Proof, cp); err != nil {
		res, _ := refuse(c, err)
		res.Known = ws.Size
		return res, nil
	}
	if err := wb.Put([]byte(c.Origin), encodeWitnessState(WitnessState{Size: cp.Size, Root: cp.Root, Note: c.Checkpoint})); err != nil {
		return r, err
	}
	r.Known, r.Size = cp.Size, cp.Size
	return r, nil
}

// ApplyCosigned stores the own checkpoint with its cosignatures: it must be
// signed by this region and match the tree at its size.
func ApplyCosigned(tx *ledger.Tx, st Store, c Command) (Result, error) {
	r := Result{}
	v, ok := st.Signer(c.Origin)
	if !ok {
		return refuse(c, fmt.Errorf("%w: %s is not signed by this region", ErrUnknownOrigin, c.Origin))
	}
	cp, err := ledger.OpenCheckpoint(c.Checkpoint, c.Origin, v)
	if err != nil {
		return refuse(c, err)
	}
	lr := tx.Log(c.Origin)
	if cp.Size > lr.Size() {
		return refuse(c, fmt.Errorf("cosigned checkpoint size %d exceeds tree size %d", cp.Size, lr.Size()))
	}
	if root, err := lr.TreeHash(cp.Size); err != nil {
		return r, err
	} else if root != cp.Root {
		return refuse(c, fmt.Errorf("cosigned checkpoint root does not match the tree at %d", cp.Size))
	}
	if err := tx.StoreCheckpoint(cp, v); err != nil { // opened with v above
		return r, err
	}
	wb, err := tx.Bucket(BucketWitnessed)
	if err != nil {
		return r, err
	}
	if old := wb.Get([]byte(c.Origin)); len(old) < 8 || binary.BigEndian.Uint64(old) <= cp.Size {
		if err := wb.Put([]byte(c.Origin), append(binary.BigEndian.AppendUint64(nil, cp.Size), c.Checkpoint...)); err != nil {
			return r, err
		}
	}
	r.Size = cp.Size
	return r, nil
}

// ApplyAlert records evidence once (by alertID); a bad-entry alert stops
// mirroring its origin.
func ApplyAlert(tx *ledger.Tx, _ Store, c Command) (Result, error) {
	r := Result{}
	ev, err := DecodeEvidence(c.Evidence)
	if err != nil {
		return refuse(c, err)
	}
	ab, err := tx.Bucket(BucketAlerts)
	if err != nil {
		return r, err
	}
	ib, err := tx.Bucket(BucketAlertIDs)
	if err != nil {
		return r, err
	}
	id := alertID(ev)
	if ib.Get(id[:]) != nil {
		return r, nil
	}
	seq, err := ab.NextSequence()
	if err != nil {
		return r, err
	}
	key := binary.BigEndian.AppendUint64(nil, seq)
	if err := ab.Put(key, c.Evidence); err != nil {
		return r, err
	}
	if err := ib.Put(id[:], key); err != nil {
		return r, err
	}
	if ev.Kind == AlertBadEntry {
		sb, err := tx.Bucket(BucketStopped)
		if err != nil {
			return r, err
		}
		if err := sb.Put([]byte(ev.Origin), key); err != nil {
			return r, err
		}
	}
	r.Size = seq
	return r, nil
}

// alertID identifies evidence regardless of when it was caught.
func alertID(ev Evidence) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", ev.Kind, ev.Origin, ev.Index)
	for _, it := range ev.Items {
		binary.Write(h, binary.BigEndian, uint64(len(it)))
		h.Write(it)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// checkWitness is the tlog-witness decision for a verified checkpoint cp
// against the last cosigned state ws, as the FSM and the handler make it.
func checkWitness(ws WitnessState, oldSize uint64, proof tlog.TreeProof, cp *ledger.Checkpoint) error {
	if cp.Size == ws.Size && ws.Size > 0 && cp.Root != ws.Root {
		return fmt.Errorf("%w: size %d with root %x, cosigned root %x", ErrInconsistent, cp.Size, cp.Root[:4], ws.Root[:4])
	}
	if oldSize != ws.Size {
		return ErrWitnessOld
	}
	if cp.Size < oldSize {
		return fmt.Errorf("checkpoint size %d is below old size %d", cp.Size, oldSize)
	}
	if cp.Size == 0 && cp.Root != tlog.Hash(sha256.Sum256(nil)) {
		return fmt.Errorf("%w: empty tree with a non-empty root", ErrInconsistent)
	}
	if oldSize == 0 {
		if len(proof) != 0 {
			return fmt.Errorf("old size 0 with a non-empty proof")
		}
		return nil
	}
	if cp.Size == oldSize {
		if len(proof) != 0 {
			return fmt.Errorf("same size with a non-empty proof")
		}
		return nil
	}
	if err := tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(oldSize), ws.Root); err != nil {
		return fmt.Errorf("%w: consistency proof %d -> %d: %v", ErrInconsistent, oldSize, cp.Size, err)
	}
	return nil
}

// readCheckpointBody parses the body of a signed checkpoint note without
// verifying any signature (see opWitness): origin, size and a 32-byte root,
// as OpenCheckpoint reads them. It does not re-check the body's canonical
// form: handleWitness opened the note with OpenCheckpoint before proposing.
func readCheckpointBody(signed []byte, origin string) (*ledger.Checkpoint, error) {
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("checkpoint for %q: not a signed note", origin)
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal(append(text, '\n')); err != nil {
		return nil, fmt.Errorf("checkpoint for %q: %w", origin, err)
	}
	if c.Origin != origin || len(c.Hash) != tlog.HashSize {
		return nil, fmt.Errorf("checkpoint names %q with a %d-byte root, want %q and 32 bytes", c.Origin, len(c.Hash), origin)
	}
	cp := &ledger.Checkpoint{Origin: c.Origin, Size: c.Size, Signed: signed}
	copy(cp.Root[:], c.Hash)
	return cp, nil
}
