package exchange

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A receipt is a C2SP tlog-proof@v1 (ledger.FormatProof) for one record of a
// member's ledger whose checkpoint carries the witness cosignatures. creditx
// puts the record's leaf hash (tlog.RecordHash of the signed record, 32
// bytes) in the proof's extra line, so a receipt can be checked without the
// record; the extra data is not authenticated by itself, only the inclusion
// proof binds it to the signed tree. VerifyReceiptFor checks the record too.
//
// Versioning rule: an extra line that is not exactly 32 bytes is refused; a
// later format would need a prefix in the extra data.

// Receipt steps, in the order VerifyReceipt runs them (tlog-proof's
// "Verifying a tlog proof"). ReceiptError.Step is one of these.
const (
	StepParse       = "parse"                // the tlog-proof text
	StepLeaf        = "leaf hash"            // the extra line, or the record given
	StepOrigin      = "origin"               // the checkpoint names a member of the manifest
	StepSignature   = "checkpoint signature" // the member's log key signed it
	StepCosignature = "cosignatures"         // every cosignature by a known witness key verifies
	StepQuorum      = "witness quorum"       // the cosignatures meet the manifest's policy
	StepInclusion   = "inclusion proof"      // the leaf is in the checkpointed tree at the index
)

// ReceiptError says which step of a receipt's verification failed and why.
type ReceiptError struct {
	Step string // one of the Step constants
	Err  error
}

func (e *ReceiptError) Error() string { return "receipt: " + e.Step + ": " + e.Err.Error() }
func (e *ReceiptError) Unwrap() error { return e.Err }

// VerifiedReceipt is what a receipt proves once VerifyReceipt accepted it.
type VerifiedReceipt struct {
	Member     string // member code of the log
	Origin     string
	Index      uint64
	LeafHash   tlog.Hash
	Size       uint64 // the checkpoint's tree size
	Root       tlog.Hash
	Checkpoint []byte        // the signed checkpoint, cosignatures included
	Cosigners  []Cosignature // every verified cosignature counted for the quorum
	Quorum     string        // the rule that was met, e.g. "witness_quorum 2" or the policy's quorum name
}

// Cosignature is one verified witness cosignature of a checkpoint.
type Cosignature struct {
	Witness string    // the policy's name for the witness, or its key name without a policy
	KeyName string    // the key name on the signature line
	Time    time.Time // the cosignature/v1 timestamp; zero if the signature type has none
}

// VerifyReceipt checks a receipt against the manifest: the leaf hash in its
// extra line, the checkpoint's origin and log signature, every cosignature
// by a witness the manifest knows, the witness quorum (witness_policy, or
// witness_quorum other members), and the inclusion proof. The first failing
// step is returned as a *ReceiptError.
func (m *Manifest) VerifyReceipt(receipt []byte) (*VerifiedReceipt, error) {
	return m.verifyReceipt(receipt, nil)
}

// VerifyReceiptFor is VerifyReceipt for the signed record entry: the leaf is
// computed from entry (and must equal the extra line's, if any).
func (m *Manifest) VerifyReceiptFor(receipt, entry []byte) (*VerifiedReceipt, error) {
	h := tlog.RecordHash(entry)
	return m.verifyReceipt(receipt, &h)
}

func (m *Manifest) verifyReceipt(receipt []byte, leaf *tlog.Hash) (*VerifiedReceipt, error) {
	fail := func(step string, err error) (*VerifiedReceipt, error) {
		return nil, &ReceiptError{Step: step, Err: err}
	}
	p, err := ledger.ParseProof(receipt)
	if err != nil {
		return fail(StepParse, err)
	}
	text, sigs, err := ledger.ParseNoteSignatures(p.Checkpoint)
	if err != nil {
		return fail(StepParse, err)
	}
	var lh tlog.Hash
	switch {
	case len(p.Extra) != 0 && len(p.Extra) != tlog.HashSize:
		return fail(StepLeaf, fmt.Errorf("extra line holds %d bytes, want a 32-byte leaf hash", len(p.Extra)))
	case leaf != nil && len(p.Extra) != 0 && !bytes.Equal(p.Extra, leaf[:]):
		return fail(StepLeaf, fmt.Errorf("the record's leaf hash %x is not the receipt's %x", leaf[:], p.Extra))
	case leaf != nil:
		lh = *leaf
	case len(p.Extra) == 0:
		return fail(StepLeaf, errors.New("no leaf hash in the receipt (extra line) and no record given"))
	default:
		copy(lh[:], p.Extra)
	}
	origin, _, _ := strings.Cut(string(text), "\n")
	mb, ok := m.MemberByOrigin(origin)
	if !ok {
		return fail(StepOrigin, fmt.Errorf("checkpoint origin %q is no member's ledger in manifest version %d", origin, m.Version))
	}
	cp, err := ledger.OpenCheckpoint(p.Checkpoint, origin, mb.LogVerifier())
	if err != nil {
		return fail(StepSignature, err)
	}
	names, ok, err := m.Witnessed(mb.Code, p.Checkpoint)
	if err != nil {
		return fail(StepCosignature, err)
	}
	quorum := fmt.Sprintf("witness_quorum %d (cosignatures by other members)", m.WitnessQuorum)
	if m.policy != nil {
		quorum = fmt.Sprintf("witness_policy quorum %q", m.policy.Quorum())
	}
	if !ok {
		return fail(StepQuorum, fmt.Errorf("%d valid cosignatures %v do not meet %s", len(names), names, quorum))
	}
	if p.Index >= cp.Size {
		return fail(StepInclusion, fmt.Errorf("index %d is not below the checkpoint size %d", p.Index, cp.Size))
	}
	if err := tlog.CheckRecord(p.Hashes, int64(cp.Size), cp.Root, int64(p.Index), lh); err != nil {
		return fail(StepInclusion, fmt.Errorf("leaf %x at index %d is not in the tree of size %d: %w", lh[:], p.Index, cp.Size, err))
	}
	return &VerifiedReceipt{Member: mb.Code, Origin: origin, Index: p.Index, LeafHash: lh, Size: cp.Size, Root: cp.Root,
		Checkpoint: p.Checkpoint, Cosigners: m.cosignatures(mb.Code, names, cp.Note, sigs), Quorum: quorum}, nil
}

// cosignatures pairs the witness names Witnessed counted with their
// verified signature lines and timestamps.
func (m *Manifest) cosignatures(code string, names []string, n *note.Note, sigs []ledger.NoteSignature) []Cosignature {
	keyOf := map[string]note.Verifier{} // counted name -> verifier
	if m.policy != nil {
		for _, w := range m.policy.Witnesses {
			keyOf[w.Name] = w.Verifier
		}
	} else {
		for _, v := range m.WitnessVerifiers(code) {
			keyOf[v.Name()] = v
		}
	}
	var out []Cosignature
	for _, name := range names {
		c := Cosignature{Witness: name}
		if v := keyOf[name]; v != nil {
			c.KeyName = v.Name()
			for _, s := range sigs {
				if s.Name == v.Name() && s.KeyID == v.KeyHash() {
					c.Time, _ = s.Timestamp()
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// Summary is a one-paragraph text of what the receipt proved.
func (r *VerifiedReceipt) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OK: entry %d of %s (member %s), leaf %s\n", r.Index, r.Origin, r.Member, hex.EncodeToString(r.LeafHash[:]))
	fmt.Fprintf(&b, "  in the tree of size %d, root %x, signed by the member's log key\n", r.Size, r.Root[:])
	fmt.Fprintf(&b, "  %s met by %d cosignatures:\n", r.Quorum, len(r.Cosigners))
	for _, c := range r.Cosigners {
		when := "no timestamp"
		if !c.Time.IsZero() {
			when = c.Time.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "    %s (%s) at %s\n", c.Witness, c.KeyName, when)
	}
	return b.String()
}
