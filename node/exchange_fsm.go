package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/tlog"
)

// Exchange buckets in ledger.db, written only by the FSM (ops 2-5 of the
// raft command format). Changing these names or layouts breaks existing
// data directories.
//
//	mirror:     origin -> exchange.Frontier encoding of the mirrored tree
//	witness:    origin -> uvarint size || 32-byte root || the checkpoint note this
//	            member last cosigned for origin, with its cosignature line
//	witnessed:  origin -> uint64 BE size || the latest own checkpoint stored with a
//	            quorum of cosignatures (the note with its cosignature lines)
//	alerts:     uint64 BE sequence -> exchange.Evidence encoding
//	alertids:   SHA-256 of the evidence without its time -> uint64 BE sequence (dedupe)
//	stopped:    origin -> uint64 BE sequence of the alert that stopped mirroring it
//	unaccepted: origin || 0x00 || uint64 BE index -> schema id (mirrored, not indexed
//	            until its schema is adopted, see exchange_schemas.go)
const (
	bucketMirror     = "mirror"
	bucketWitness    = "witness"
	bucketWitnessed  = "witnessed"
	bucketAlerts     = "alerts"
	bucketAlertIDs   = "alertids"
	bucketStopped    = "stopped"
	bucketUnaccepted = "unaccepted"
)

// Results of exchange commands that refuse (reported in applyResult.Err).
var (
	errUnknownOrigin = errors.New("origin is not a mirrored member ledger")
	errStaleMirror   = errors.New("mirror already has these entries")
	errWitnessOld    = errors.New("old size does not match the last cosigned size")
	errInconsistent  = errors.New("checkpoint is inconsistent with the last cosigned one")
	errMirrorStopped = errors.New("mirroring of this origin is stopped by an alert")
)

// witnessState is one origin's entry in the witness bucket.
type witnessState struct {
	size uint64
	root tlog.Hash
	note []byte
}

func encodeWitnessState(w witnessState) []byte {
	b := binary.AppendUvarint(nil, w.size)
	b = append(b, w.root[:]...)
	return append(b, w.note...)
}

func decodeWitnessState(b []byte) (witnessState, error) {
	var w witnessState
	n, k := binary.Uvarint(b)
	if k <= 0 || len(b) < k+tlog.HashSize {
		return w, fmt.Errorf("corrupt witness state")
	}
	w.size = n
	copy(w.root[:], b[k:])
	w.note = append([]byte(nil), b[k+tlog.HashSize:]...)
	return w, nil
}

// readWitnessState returns the last cosigned state for origin (size 0 if none).
func readWitnessState(tx *ledger.ReadTx, origin string) (witnessState, error) {
	b := tx.Bucket(bucketWitness)
	if b == nil {
		return witnessState{}, nil
	}
	v := b.Get([]byte(origin))
	if v == nil {
		return witnessState{}, nil
	}
	return decodeWitnessState(v)
}

// readFrontier returns the mirror frontier of origin (empty if none).
func readFrontier(tx *ledger.ReadTx, origin string) (*exchange.Frontier, error) {
	if b := tx.Bucket(bucketMirror); b != nil {
		if v := b.Get([]byte(origin)); v != nil {
			return exchange.DecodeFrontier(v)
		}
	}
	return exchange.NewFrontier(), nil
}

// applyExchange applies ops 2-5. Like applyCommand, a returned error is a
// storage failure; a refused command is reported in the result and writes
// nothing.
func (f *fsm) applyExchange(tx *ledger.Tx, c command) (*applyResult, error) {
	r := &applyResult{Origin: c.origin}
	refuse := func(err error) (*applyResult, error) { r.Err = err; return r, nil }
	switch c.op {
	case opMirrorAppend:
		v, ok := f.peer(tx, c.origin) // membership_live.go
		if !ok {
			return refuse(fmt.Errorf("%w: %s", errUnknownOrigin, c.origin))
		}
		cp, err := ledger.OpenCheckpoint(c.checkpoint, c.origin, v)
		if err != nil {
			return refuse(err)
		}
		mb, err := tx.Bucket(bucketMirror)
		if err != nil {
			return nil, err
		}
		if sb, err := tx.Bucket(bucketStopped); err != nil {
			return nil, err
		} else if sb.Get([]byte(c.origin)) != nil {
			return refuse(errMirrorStopped)
		}
		fr := exchange.NewFrontier()
		if v := mb.Get([]byte(c.origin)); v != nil {
			if fr, err = exchange.DecodeFrontier(v); err != nil {
				return nil, err
			}
		}
		lr := tx.Log(c.origin)
		if lr.Size() != fr.Size() {
			return nil, fmt.Errorf("mirror %s: log size %d, frontier size %d", c.origin, lr.Size(), fr.Size())
		}
		if c.first != fr.Size() {
			if c.first < fr.Size() {
				return refuse(errStaleMirror)
			}
			return refuse(fmt.Errorf("mirror %s: entries start at %d, mirror size is %d", c.origin, c.first, fr.Size()))
		}
		for _, e := range c.entries {
			fr.AppendEntry(e)
		}
		newSize, root := fr.Size(), fr.Root()
		switch {
		case newSize > cp.Size:
			return refuse(fmt.Errorf("mirror %s: %d entries exceed checkpoint size %d", c.origin, newSize, cp.Size))
		case newSize == cp.Size:
			if root != cp.Root || len(c.proof) != 0 {
				return refuse(fmt.Errorf("mirror %s: entries lead to root %x, checkpoint has %x", c.origin, root[:4], cp.Root[:4]))
			}
		default:
			if err := tlog.CheckTree(c.proof, int64(cp.Size), cp.Root, int64(newSize), root); err != nil {
				return refuse(fmt.Errorf("mirror %s: entries up to %d are not a prefix of checkpoint %d: %w", c.origin, newSize, cp.Size, err))
			}
		}
		if len(c.entries) > 0 {
			first, err := tx.Append(c.origin, c.entries)
			if err != nil {
				return nil, err
			}
			if first != c.first {
				panic(fmt.Sprintf("creditx: mirror appended at %d, FSM expected %d", first, c.first))
			}
			if err := mb.Put([]byte(c.origin), fr.Encode()); err != nil {
				return nil, err
			}
			if err := f.indexMirrored(tx, c.origin, first, c.entries); err != nil {
				return nil, err
			}
		}
		if newSize == cp.Size {
			if err := tx.SetCheckpoint(c.origin, c.checkpoint, v); err != nil {
				return nil, err
			}
		}
		r.Size = newSize
		return r, nil

	case opWitness:
		// A member's ledger is verified with the manifest's key (the same
		// on every replica). Any other origin is a log of witness_logs,
		// which is per-replica configuration: its signature was verified
		// by the leader that proposed the command, and the FSM reads the
		// checkpoint body unverified, so that every replica applies the
		// command alike whatever its own witness_logs say.
		var cp *ledger.Checkpoint
		var err error
		if v, ok := f.peer(tx, c.origin); ok { // membership_live.go
			cp, err = ledger.OpenCheckpoint(c.checkpoint, c.origin, v)
		} else {
			cp, err = readCheckpointBody(c.checkpoint, c.origin)
		}
		if err != nil {
			return refuse(err)
		}
		wb, err := tx.Bucket(bucketWitness)
		if err != nil {
			return nil, err
		}
		var ws witnessState
		if b := wb.Get([]byte(c.origin)); b != nil {
			if ws, err = decodeWitnessState(b); err != nil {
				return nil, err
			}
		}
		r.Known = ws.size
		if err := checkWitness(ws, c.oldSize, c.proof, cp); err != nil {
			return refuse(err)
		}
		if err := wb.Put([]byte(c.origin), encodeWitnessState(witnessState{size: cp.Size, root: cp.Root, note: c.checkpoint})); err != nil {
			return nil, err
		}
		r.Known, r.Size = cp.Size, cp.Size
		return r, nil

	case opCosigned:
		sl, ok := f.logs[c.origin]
		if !ok {
			return refuse(fmt.Errorf("%w: %s is not signed by this region", errUnknownOrigin, c.origin))
		}
		cp, err := ledger.OpenCheckpoint(c.checkpoint, c.origin, sl.verifier)
		if err != nil {
			return refuse(err)
		}
		lr := tx.Log(c.origin)
		if cp.Size > lr.Size() {
			return refuse(fmt.Errorf("cosigned checkpoint size %d exceeds tree size %d", cp.Size, lr.Size()))
		}
		if root, err := lr.TreeHash(cp.Size); err != nil {
			return nil, err
		} else if root != cp.Root {
			return refuse(fmt.Errorf("cosigned checkpoint root does not match the tree at %d", cp.Size))
		}
		if err := tx.SetCheckpoint(c.origin, c.checkpoint, sl.verifier); err != nil {
			return nil, err
		}
		wb, err := tx.Bucket(bucketWitnessed)
		if err != nil {
			return nil, err
		}
		if old := wb.Get([]byte(c.origin)); len(old) < 8 || binary.BigEndian.Uint64(old) <= cp.Size {
			if err := wb.Put([]byte(c.origin), append(binary.BigEndian.AppendUint64(nil, cp.Size), c.checkpoint...)); err != nil {
				return nil, err
			}
		}
		r.Size = cp.Size
		return r, nil

	case opAlert:
		ev, err := exchange.DecodeEvidence(c.evidence)
		if err != nil {
			return refuse(err)
		}
		ab, err := tx.Bucket(bucketAlerts)
		if err != nil {
			return nil, err
		}
		ib, err := tx.Bucket(bucketAlertIDs)
		if err != nil {
			return nil, err
		}
		id := alertID(ev)
		if ib.Get(id[:]) != nil {
			return r, nil
		}
		seq, err := ab.NextSequence()
		if err != nil {
			return nil, err
		}
		key := binary.BigEndian.AppendUint64(nil, seq)
		if err := ab.Put(key, c.evidence); err != nil {
			return nil, err
		}
		if err := ib.Put(id[:], key); err != nil {
			return nil, err
		}
		if ev.Kind == exchange.AlertBadEntry {
			sb, err := tx.Bucket(bucketStopped)
			if err != nil {
				return nil, err
			}
			if err := sb.Put([]byte(ev.Origin), key); err != nil {
				return nil, err
			}
		}
		r.Size = seq
		return r, nil
	}
	return refuse(fmt.Errorf("%w: unknown op %d", errBadCommand, c.op))
}

// alertID identifies evidence regardless of when it was caught.
func alertID(ev exchange.Evidence) [32]byte {
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
func checkWitness(ws witnessState, oldSize uint64, proof tlog.TreeProof, cp *ledger.Checkpoint) error {
	if cp.Size == ws.size && ws.size > 0 && cp.Root != ws.root {
		return fmt.Errorf("%w: size %d with root %x, cosigned root %x", errInconsistent, cp.Size, cp.Root[:4], ws.root[:4])
	}
	if oldSize != ws.size {
		return errWitnessOld
	}
	if cp.Size < oldSize {
		return fmt.Errorf("checkpoint size %d is below old size %d", cp.Size, oldSize)
	}
	if cp.Size == 0 && cp.Root != tlog.Hash(sha256.Sum256(nil)) {
		return fmt.Errorf("%w: empty tree with a non-empty root", errInconsistent)
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
	if err := tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(oldSize), ws.root); err != nil {
		return fmt.Errorf("%w: consistency proof %d -> %d: %v", errInconsistent, oldSize, cp.Size, err)
	}
	return nil
}

// indexMirrored indexes the accepted entries of a mirror batch (contiguous
// runs) and flags the others in the unaccepted bucket. Each entry is judged
// by the adopted set as of the entries before it: indexing a run that
// completes an adoption updates the set (reconcileSchemas, called by the
// indexer) before the next entry is judged.
func (f *fsm) indexMirrored(tx *ledger.Tx, origin string, first uint64, entries [][]byte) error {
	if f.indexer == nil {
		return nil
	}
	ub, err := tx.Bucket(bucketUnaccepted)
	if err != nil {
		return err
	}
	start := 0
	flush := func(end int) error {
		if end > start {
			return f.indexer.Index(tx, origin, first+uint64(start), entries[start:end])
		}
		return nil
	}
	for i, e := range entries {
		if f.accepts == nil {
			break
		}
		ok, schema, err := f.accepts(tx, e)
		if err != nil {
			return err
		}
		if !ok {
			if err := flush(i); err != nil {
				return err
			}
			if err := ub.Put(entryKey(origin, first+uint64(i)), []byte(schema)); err != nil {
				return err
			}
			start = i + 1
		} else if schema == schemas.SchemaGovernance {
			// It may complete (or undo) an adoption: index the run now so
			// that the next entry is judged by the updated set.
			if err := flush(i + 1); err != nil {
				return err
			}
			start = i + 1
		}
	}
	return flush(len(entries))
}

// bytesHasSig reports whether a signed note carries a signature line by name.
func bytesHasSig(signed []byte, name string) bool {
	return bytes.Contains(signed, []byte("\n— "+name+" "))
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
