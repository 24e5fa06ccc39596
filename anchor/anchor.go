// Package anchor records members' witnessed checkpoints on a Hyperledger
// Fabric channel, as a second place, outside every member's control, where
// a forked or rolled back ledger shows. It is the chaincode's logic (Put,
// Get, Latest, Invoke) over a key-value State: Fabric's world state in the
// external chaincode service (cmd/creditx-anchorcc), a map in tests and in
// Memory. It imports nothing of Fabric; the gateway client is package
// anchor/fabric, the anchoring loop package anchor/sidecar, and the audit's
// cross-check audit.Options.Anchors.
//
// Guarantees, per member (TestPut, TestInvoke):
//
//   - anchors only grow: Put refuses an anchor below the member's latest
//     anchored size that is not itself already anchored (*RollbackError);
//   - at most one root per size: Put refuses another root at an anchored
//     size (*ConflictError, carrying both anchors as evidence);
//   - every anchor extends the one before it: Put refuses a larger tree
//     without a valid RFC 6962 consistency proof from the latest anchor
//     (*ConflictError), checked with x/mod tlog.CheckTree;
//   - re-putting an anchored (size, root) is a no-op that reports false;
//   - on any error the state is unchanged (Put writes only after every
//     check), so a refused Fabric transaction also leaves no write set;
//   - malformed input is a *FieldError naming the field, and the decoders
//     Parse and ParseProof accept exactly what Encode and EncodeProof
//     produce (FuzzParse, FuzzParseProof).
//
// What it does not guarantee: an anchor says that a checkpoint with this
// size and root existed and was submitted by someone allowed to invoke the
// chaincode; it does not say the checkpoint was witnessed (the submitter,
// package anchor/sidecar, checks that before putting, and the audit checks
// the ledger itself). The first anchor of a member is taken on trust. The
// empty tree (size 0) is never anchored.
//
// How it fails: a State error is returned wrapped and nothing else is
// written by this call; on Fabric the transaction then fails as a whole.
package anchor

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Anchor is one member's witnessed checkpoint, as recorded on the channel.
type Anchor struct {
	Member    string    // 6-digit division code of the member whose ledger it is
	Size      uint64    // tree size
	Root      tlog.Hash // RFC 6962 root hash at Size
	CosigHash [32]byte  // CosigHash of the checkpoint's note: which cosignatures it carried
}

// Version is the first line of an encoded anchor.
const Version = "creditx-anchor/v1"

// Encode returns the anchor's canonical bytes, the value stored on the
// channel. Byte by byte (every line ends with one '\n', no other whitespace):
//
//	creditx-anchor/v1
//	<member: 6 ASCII digits, first not 0>
//	<size: decimal, no leading zeros, "0" for the empty tree>
//	<root: standard base64 with padding of the 32-byte root hash>
//	<cosig: standard base64 with padding of the 32-byte cosignature hash>
//
// Versioning rule: a change of any line's meaning, or a new line, makes a
// new first line (creditx-anchor/v2); Parse refuses versions it does not know.
func (a Anchor) Encode() []byte {
	return []byte(fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", Version, a.Member, a.Size,
		base64.StdEncoding.EncodeToString(a.Root[:]), base64.StdEncoding.EncodeToString(a.CosigHash[:])))
}

// FieldError says which field of an anchor (or which argument of a
// transaction) is wrong and why; Field "anchor" means the encoding as a whole.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "anchor: " + e.Field + ": " + e.Reason }

// MaxEncodedSize bounds an encoded anchor.
const MaxEncodedSize = 256

// Parse decodes Encode's format strictly: it accepts exactly the bytes
// Encode produces and nothing else. Errors are *FieldError.
func Parse(b []byte) (Anchor, error) {
	var a Anchor
	if len(b) > MaxEncodedSize {
		return a, &FieldError{"anchor", fmt.Sprintf("%d bytes, the limit is %d", len(b), MaxEncodedSize)}
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		return a, &FieldError{"anchor", "does not end with a newline"}
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	if len(lines) != 5 {
		return a, &FieldError{"anchor", fmt.Sprintf("%d lines, want 5", len(lines))}
	}
	if lines[0] != Version {
		return a, &FieldError{"version", fmt.Sprintf("%q, this code knows %q", lines[0], Version)}
	}
	if err := checkMember(lines[1]); err != nil {
		return a, err
	}
	a.Member = lines[1]
	n, err := strconv.ParseUint(lines[2], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[2] {
		return a, &FieldError{"size", fmt.Sprintf("%q is not a decimal number without leading zeros", lines[2])}
	}
	a.Size = n
	for i, dst := range [][]byte{a.Root[:], a.CosigHash[:]} {
		field := []string{"root", "cosig"}[i]
		h, err := base64.StdEncoding.Strict().DecodeString(lines[3+i])
		if err != nil || len(h) != 32 || base64.StdEncoding.EncodeToString(h) != lines[3+i] {
			return a, &FieldError{field, fmt.Sprintf("%q is not the standard base64 of 32 bytes", lines[3+i])}
		}
		copy(dst, h)
	}
	return a, nil
}

func checkMember(m string) error {
	if len(m) != 6 || strings.Trim(m, "0123456789") != "" || m[0] == '0' {
		return &FieldError{"member", fmt.Sprintf("%q is not a 6-digit division code", m)}
	}
	return nil
}

// CosigDomain is the first line of the cosignature hash input.
const CosigDomain = "creditx-anchor/v1 cosignatures"

// CosigHash returns the CosigHash of an anchor: SHA-256 over
//
//	"creditx-anchor/v1 cosignatures\n"
//	then every signature line of n except logV's own, each as it appears in
//	a signed note ("\u2014 <key name> <std base64 of key hash || signature>\n"),
//	sorted bytewise
//
// n is the opened checkpoint note (verified signatures in n.Sigs, others in
// n.UnverifiedSigs; both count, since which of them verify depends on the
// keys the reader knows). The order of the lines in the note does not
// matter. Versioning rule: another input layout needs another first line.
func CosigHash(n *note.Note, logV note.Verifier) [32]byte {
	var lines []string
	for _, sigs := range [][]note.Signature{n.Sigs, n.UnverifiedSigs} {
		for _, s := range sigs {
			if s.Name == logV.Name() && s.Hash == logV.KeyHash() {
				continue
			}
			lines = append(lines, "\u2014 "+s.Name+" "+s.Base64+"\n")
		}
	}
	slices.Sort(lines)
	return sha256.Sum256([]byte(CosigDomain + "\n" + strings.Join(lines, "")))
}

// State is the key-value world state the chaincode runs on.
type State interface {
	// Get returns the value at key, or nil, nil when there is none. It sees
	// the committed state (on Fabric: as of the transaction's simulation;
	// MVCC validation at commit refuses the transaction if it changed).
	Get(key string) ([]byte, error)
	// Put sets key to value. Durable only when the enclosing transaction
	// commits (on Fabric); a MapState applies it at once.
	Put(key string, value []byte) error
}

// RollbackError: an anchor below the member's latest anchored size.
type RollbackError struct {
	Latest, Offered Anchor
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("anchor: member %s: size %d is below the latest anchored size %d (rollback refused)", e.Offered.Member, e.Offered.Size, e.Latest.Size)
}

// ConflictError: an anchor that contradicts one already recorded (same
// size, other root; or a larger tree not consistent with the latest).
// Existing and Offered are the evidence.
type ConflictError struct {
	Existing, Offered Anchor
	Reason            string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("anchor: member %s: size %d conflicts with the anchor at size %d: %s", e.Offered.Member, e.Offered.Size, e.Existing.Size, e.Reason)
}

// ErrNotFound is returned (wrapped) by Get and Latest when nothing is
// anchored there: for a reader, "not anchored yet", not a failure.
var ErrNotFound = errors.New("anchor: not found")

// World-state keys (all ASCII, so they never collide with Fabric composite
// keys, which start with 0x00). Changing them breaks existing channels:
//
//	"anchor/" <member> "/" <size: 20 decimal digits, zero-padded>   -> encoded anchor at that size
//	"latest/" <member>                                              -> encoded latest anchor
func sizeKey(member string, size uint64) string { return fmt.Sprintf("anchor/%s/%020d", member, size) }
func latestKey(member string) string            { return "latest/" + member }

// Put records a, given a consistency proof from the member's latest anchored
// tree to a. The proof is ignored when none is needed (nothing anchored
// yet, or a size already anchored). It reports whether anything was written
// (false: the same anchor was already there). On error nothing is written.
func Put(st State, a Anchor, proof tlog.TreeProof) (bool, error) {
	if err := checkMember(a.Member); err != nil {
		return false, err
	}
	if a.Size == 0 {
		return false, &FieldError{"size", "0: the empty tree is not anchored"}
	}
	latest, err := Latest(st, a.Member)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return false, err
	case a.Size < latest.Size:
		old, err := Get(st, a.Member, a.Size)
		switch {
		case errors.Is(err, ErrNotFound):
			return false, &RollbackError{Latest: latest, Offered: a}
		case err != nil:
			return false, err
		case old.Root != a.Root:
			return false, &ConflictError{Existing: old, Offered: a, Reason: "different root at the same size"}
		}
		return false, nil
	case a.Size == latest.Size:
		if latest.Root != a.Root {
			return false, &ConflictError{Existing: latest, Offered: a, Reason: "different root at the same size"}
		}
		return false, nil
	default:
		if err := tlog.CheckTree(proof, int64(a.Size), a.Root, int64(latest.Size), latest.Root); err != nil {
			return false, &ConflictError{Existing: latest, Offered: a, Reason: "no valid consistency proof from the latest anchor: " + err.Error()}
		}
	}
	// Both writes land in one Fabric write set (or neither does), so the
	// latest pointer never names a size without its anchor.
	enc := a.Encode()
	if err := st.Put(sizeKey(a.Member, a.Size), enc); err != nil {
		return false, fmt.Errorf("anchor: state: %w", err)
	}
	if err := st.Put(latestKey(a.Member), enc); err != nil {
		return false, fmt.Errorf("anchor: state: %w", err)
	}
	return true, nil
}

// Get returns the anchor of member at size (an error wrapping ErrNotFound
// if there is none).
func Get(st State, member string, size uint64) (Anchor, error) {
	return get(st, sizeKey(member, size))
}

// Latest returns member's latest anchor (an error wrapping ErrNotFound if
// there is none).
func Latest(st State, member string) (Anchor, error) {
	return get(st, latestKey(member))
}

func get(st State, key string) (Anchor, error) {
	b, err := st.Get(key)
	if err != nil {
		return Anchor{}, fmt.Errorf("anchor: state: %w", err)
	}
	if b == nil {
		return Anchor{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	a, err := Parse(b)
	if err != nil {
		return Anchor{}, fmt.Errorf("anchor: stored value at %s: %w", key, err)
	}
	return a, nil
}

// MapState is an in-memory State, for tests and offline checks.
type MapState map[string][]byte

// Get implements State.
func (m MapState) Get(k string) ([]byte, error) { return m[k], nil }

// Put implements State.
func (m MapState) Put(k string, v []byte) error {
	m[k] = slices.Clone(v)
	return nil
}
