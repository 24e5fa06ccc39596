package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Proof is an offline-verifiable receipt that an entry is in a log: the C2SP
// tlog-proof@v1 text format (shared/specs/tlog-proof.md).
//
// Byte layout of FormatProof's output, lines separated by "\n":
//
//	c2sp.org/tlog-proof@v1
//	[extra <std base64 of Extra>]        only if Extra is non-empty
//	index <decimal, no leading zeros>
//	<std base64 of one 32-byte hash>     zero or more lines, leaf sibling first
//	                                     (empty line)
//	<signed checkpoint note, verbatim, ending in "\n">
//
// Versioning: the first line names the version; ParseProof rejects others.
type Proof struct {
	Extra      []byte
	Index      uint64
	Hashes     tlog.RecordProof
	Checkpoint []byte // signed note text, possibly with cosignatures
}

const proofHeader = "c2sp.org/tlog-proof@v1"

// ErrMalformedProof wraps every ParseProof failure.
var ErrMalformedProof = errors.New("malformed tlog-proof")

// FormatProof encodes p in the tlog-proof@v1 format, in one allocation of
// the exact size (a receipt carries one proof per record; building it
// through a bytes.Buffer and a string per hash was ~8 allocations per
// hash, issue 20).
func FormatProof(p Proof) []byte {
	enc := base64.StdEncoding
	n := len(proofHeader) + 1 + len("index ") + 20 + 1 + len(p.Hashes)*(enc.EncodedLen(len(tlog.Hash{}))+1) + 1 + len(p.Checkpoint)
	if len(p.Extra) > 0 {
		n += len("extra ") + enc.EncodedLen(len(p.Extra)) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, proofHeader+"\n"...)
	if len(p.Extra) > 0 {
		b = append(b, "extra "...)
		b = enc.AppendEncode(b, p.Extra)
		b = append(b, '\n')
	}
	b = append(b, "index "...)
	b = strconv.AppendUint(b, p.Index, 10)
	b = append(b, '\n')
	for _, h := range p.Hashes {
		b = enc.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, p.Checkpoint...)
}

// ParseProof decodes the tlog-proof@v1 format strictly. It does not verify
// anything: use VerifyProof, or check the checkpoint and call tlog.CheckRecord.
func ParseProof(text []byte) (*Proof, error) {
	bad := func(format string, args ...any) (*Proof, error) {
		return nil, fmt.Errorf("%w: %s", ErrMalformedProof, fmt.Sprintf(format, args...))
	}
	head, cp, ok := bytes.Cut(text, []byte("\n\n"))
	if !ok {
		return bad("no empty line before the checkpoint")
	}
	if len(cp) == 0 {
		return bad("no checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != proofHeader {
		return bad("first line is %q, want %q", lines[0], proofHeader)
	}
	lines = lines[1:]
	p := &Proof{Checkpoint: cp}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		e, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil || len(e) == 0 {
			return bad("extra line is not non-empty base64")
		}
		p.Extra = e
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return bad("missing index line")
	}
	is := strings.TrimPrefix(lines[0], "index ")
	idx, err := strconv.ParseUint(is, 10, 64)
	if err != nil || (len(is) > 1 && is[0] == '0') {
		return bad("index %q is not a decimal without leading zeros", is)
	}
	p.Index = idx
	for i, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return bad("proof line %d is not a base64 SHA-256 hash", i+1)
		}
		p.Hashes = append(p.Hashes, tlog.Hash(h))
	}
	if len(p.Hashes) > 63 {
		return bad("%d proof hashes, at most 63", len(p.Hashes))
	}
	return p, nil
}

// NoteSignature is one signature line of a signed note (C2SP signed-note):
//
//	"— " <key name> " " <std base64 of 4-byte key ID || signature> "\n"
//
// For a tlog-cosignature/v1 line the signature is an 8-byte big-endian
// timestamp (seconds since the epoch) followed by the 64-byte Ed25519
// signature; Timestamp returns it.
type NoteSignature struct {
	Name  string
	KeyID uint32
	Sig   []byte // after the key ID
}

// cosigV1Len is the length of a tlog-cosignature/v1 signature after the key ID.
const cosigV1Len = 8 + 64

// Timestamp is the cosignature/v1 timestamp of s, and false if s is not
// shaped as one (any other signature type). It says nothing about validity:
// only a verified cosignature's timestamp means anything.
func (s NoteSignature) Timestamp() (time.Time, bool) {
	if len(s.Sig) != cosigV1Len {
		return time.Time{}, false
	}
	ts := binary.BigEndian.Uint64(s.Sig[:8])
	if ts > 1<<62 {
		return time.Time{}, false
	}
	return time.Unix(int64(ts), 0).UTC(), true
}

// ParseNoteSignatures splits a signed note into its text (ending in "\n")
// and its signature lines, strictly: the signature block follows the last
// empty line, and every line of it must be a well-formed signature line. It
// checks no signature: use note.Open for that.
func ParseNoteSignatures(signed []byte) (text []byte, sigs []NoteSignature, err error) {
	bad := func(format string, args ...any) ([]byte, []NoteSignature, error) {
		return nil, nil, fmt.Errorf("%w: signed note: %s", ErrMalformedProof, fmt.Sprintf(format, args...))
	}
	if !bytes.HasSuffix(signed, []byte("\n")) {
		return bad("does not end in a newline")
	}
	split := bytes.LastIndex(signed, []byte("\n\n"))
	if split < 0 {
		return bad("no empty line before the signatures")
	}
	text, block := signed[:split+1], signed[split+2:]
	if len(block) == 0 {
		return bad("no signature lines")
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(block), "\n"), "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		if !ok {
			return bad("signature line %d does not start with \"— \"", i+1)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name == "" || strings.ContainsAny(name, " +") {
			return bad("signature line %d has no key name", i+1)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(raw) <= 4 {
			return bad("signature line %d is not base64 of a key ID and a signature", i+1)
		}
		sigs = append(sigs, NoteSignature{Name: name, KeyID: binary.BigEndian.Uint32(raw[:4]), Sig: raw[4:]})
	}
	return text, sigs, nil
}
