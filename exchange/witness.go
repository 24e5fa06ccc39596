package exchange

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/schemas"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// AddCheckpointPath is the path of the witness endpoint (C2SP tlog-witness,
// submission prefix "/witness").
const AddCheckpointPath = "/witness/add-checkpoint"

// SizeContentType is the content type of a 409 answer's body.
const SizeContentType = "text/x.tlog.size"

// MaxProofLines is the most consistency proof lines a request may carry.
const MaxProofLines = 63

// MaxCheckpointSize bounds a checkpoint note (with its signature lines) in
// an add-checkpoint request. signed-note: "verifiers MUST accept at least 16
// signatures", and post-quantum signatures are large: 16 signature lines of
// ML-DSA-87 size (a 4,627-byte signature, a 4-byte key ID and an 8-byte
// timestamp: 6,188 base64 characters, with a 255-byte key name) take 103,760
// bytes, which leaves 27 KiB for the note body.
const MaxCheckpointSize = 128 << 10

// MaxAddCheckpointSize bounds a whole add-checkpoint request body: the old
// size line (at most 25 bytes), 63 proof lines of 45 bytes, the empty line
// and the checkpoint.
const MaxAddCheckpointSize = 25 + MaxProofLines*45 + 1 + MaxCheckpointSize

// AddCheckpoint is the body of a C2SP tlog-witness add-checkpoint request.
//
// Byte format (tlog-witness):
//
//	"old " <decimal old size, no leading zeros> "\n"
//	0..63 x ( <std base64 of a 32-byte hash> "\n" )     consistency proof
//	"\n"
//	<signed checkpoint note, as is>
//
// Versioning rule: the format is the C2SP one and is not versioned here; a
// future C2SP version gets a new path.
type AddCheckpoint struct {
	OldSize    uint64
	Proof      tlog.TreeProof
	Checkpoint []byte
}

// Encode is the inverse of ParseAddCheckpoint.
func (a AddCheckpoint) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", a.OldSize)
	for _, h := range a.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(a.Checkpoint)
	return b.Bytes()
}

// ParseAddCheckpoint parses a request body strictly. It does not open the
// checkpoint (the caller knows the verifier), and it does not judge the
// proof: a non-empty proof with old size 0 parses, and the witness refuses it
// with 422 (tlog-witness: "If the proof is not empty when the old size is
// zero, or if a Merkle Consistency Proof doesn't verify, the witness MUST
// respond with a 422 Unprocessable Entity").
func ParseAddCheckpoint(b []byte) (AddCheckpoint, error) {
	var a AddCheckpoint
	line := func() (string, bool) {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return "", false
		}
		l := string(b[:i])
		b = b[i+1:]
		return l, true
	}
	l, ok := line()
	if !ok {
		return a, fmt.Errorf("add-checkpoint: missing old size line")
	}
	s, ok := strings.CutPrefix(l, "old ")
	n, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != s {
		return a, fmt.Errorf("add-checkpoint: old size line %q is not \"old <decimal>\"", l)
	}
	a.OldSize = n
	for {
		l, ok := line()
		if !ok {
			return a, fmt.Errorf("add-checkpoint: missing empty line before the checkpoint")
		}
		if l == "" {
			break
		}
		if len(a.Proof) == MaxProofLines {
			return a, fmt.Errorf("add-checkpoint: more than %d proof lines", MaxProofLines)
		}
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != l {
			return a, fmt.Errorf("add-checkpoint: proof line %d is not a base64 32-byte hash", len(a.Proof)+1)
		}
		a.Proof = append(a.Proof, tlog.Hash(h))
	}
	if len(b) == 0 {
		return a, fmt.Errorf("add-checkpoint: missing checkpoint")
	}
	if len(b) > MaxCheckpointSize {
		return a, fmt.Errorf("add-checkpoint: checkpoint of %d bytes exceeds %d", len(b), MaxCheckpointSize)
	}
	a.Checkpoint = append([]byte(nil), b...)
	return a, nil
}

// ConflictError is a witness's 409 answer: it last cosigned KnownSize.
type ConflictError struct{ KnownSize uint64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: old size mismatch, last cosigned size is %d", e.KnownSize)
}

// Cosigner makes tlog-cosignature/v1 (timestamped Ed25519) cosignatures.
type Cosigner struct {
	s note.Signer
}

// GenerateWitnessKey returns a new Ed25519 key pair named schemas.WitnessOrigin(code):
// the signing key in x/mod note's encoding (type 0x01, which
// NewCosigner reads), and the vkey as tlog-cosignature publishes it (type
// 0x04, with the key ID of the cosignature lines: see ParseWitnessVKey). The
// vkey goes into the manifest (witness_vkey).
func GenerateWitnessKey(code string, rnd io.Reader) (skey, vkey string, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	skey, legacy, err := note.GenerateKey(rnd, schemas.WitnessOrigin(code))
	if err != nil {
		return "", "", err
	}
	vkey, err = cosig.Canonical(legacy)
	return skey, vkey, err
}

// ParseWitnessVKey returns the verifier of a witness vkey: type 0x04
// (Ed25519 cosignature/v1) or 0x06 (ML-DSA-44) whose key ID must be the one
// on the witness's cosignature lines, or a type 0x01 Ed25519 vkey of an older
// manifest, read as the type 0x04 key of the same name and public key. Errors
// wrap cosig.ErrVKey.
func ParseWitnessVKey(vkey string) (note.Verifier, error) { return cosig.Parse(vkey) }

// CosignatureVKey returns a witness vkey in its tlog-cosignature form (type
// 0x04 or 0x06, key ID of the cosignature lines), converting a type 0x01 one.
func CosignatureVKey(vkey string) (string, error) { return cosig.Canonical(vkey) }

// NewCosigner parses a witness signing key (GenerateWitnessKey's skey).
func NewCosigner(skey string) (*Cosigner, error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	return &Cosigner{s: s}, nil
}

// Name is the witness key name.
func (c *Cosigner) Name() string { return c.s.Name() }

// Cosign returns the cosignature line(s) ("— <name> <base64>\n") over the
// body of an already verified checkpoint note.
func (c *Cosigner) Cosign(n *note.Note) ([]byte, error) {
	signed, err := note.Sign(&note.Note{Text: n.Text}, c.s)
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	return signed[len(n.Text)+1:], nil
}

// AddSignatures appends signature lines to a signed note, keeping the
// signatures it already has; lines whose key (name and hash) the note already
// carries are skipped.
func AddSignatures(signed []byte, lines ...[]byte) []byte {
	out := append([]byte(nil), signed...)
	have := map[string]bool{}
	for _, l := range bytes.SplitAfter(signed, []byte("\n")) {
		if k := sigKey(l); k != "" {
			have[k] = true
		}
	}
	for _, ls := range lines {
		for _, l := range bytes.SplitAfter(ls, []byte("\n")) {
			if k := sigKey(l); k != "" && !have[k] {
				have[k] = true
				out = append(out, l...)
			}
		}
	}
	return out
}

// sigKey is "<name> <first 4 bytes of the signature>" of a signature line, or "".
func sigKey(l []byte) string {
	s, ok := strings.CutPrefix(string(l), "— ")
	if !ok || !strings.HasSuffix(s, "\n") {
		return ""
	}
	name, b64, ok := strings.Cut(strings.TrimSuffix(s, "\n"), " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(raw) < 4 {
		return ""
	}
	return name + " " + string(raw[:4])
}

// CountCosignatures returns which of witnesses verifiably cosigned the
// signed note (by witness key name).
func CountCosignatures(signed []byte, logV note.Verifier, witnesses []note.Verifier) ([]string, error) {
	vs := append([]note.Verifier{logV}, witnesses...)
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range n.Sigs {
		for _, w := range witnesses {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				names = append(names, s.Name)
			}
		}
	}
	return names, nil
}
