package node

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/exchange"
	"golang.org/x/mod/sumdb/tlog"
)

// Raft command format (the Data of every raft.LogCommand this node writes).
//
// A command is:
//
//	byte     version (1, 2, 3, 4 or 5)
//	byte     op
//	...      the op's fields, below
//
// with nothing after the last field. Version 1 has only op 1 and is still
// what op 1 is written as, byte for byte; version 2 carries only ops 2-5
// (the inter-member exchange); version 3 carries only ops 6-7 (the data-key
// vault, vault.go), version 4 only op 8 (vault-key rotation,
// internal/vaultops) and version 5 only op 9 (subject-token revocation,
// subject_revoke.go) and version 6 only op 10 (a followed loop checkpoint,
// exchange/loop_follow.go), so every command has exactly one byte form. The ops' fields:
//
//	op 1 append:          origin, count (1..maxCommandEntries), count x entry
//	op 2 mirror-append:   origin, checkpoint, uvarint first, uvarint n (0..63), n x 32-byte proof hash,
//	                      count (0..maxCommandEntries), count x entry
//	op 3 witness:         origin, uvarint old size, uvarint n (0..63), n x 32-byte proof hash, checkpoint
//	op 4 cosigned:        origin, checkpoint
//	op 5 alert:           origin, evidence
//	op 6 vault-put:       origin, uvarint index, count (1..maxVaultKeys), count x (path, wrapped key)
//	op 7 vault-erase:     origin, uvarint index
//	op 8 vault-rotate:    origin, uvarint epoch (the vault-key epoch rotated from)
//	op 9 token-revoke:    origin, serial, reason
//	op 10 follow:         origin, uvarint old size, uvarint n (0..63), n x 32-byte proof hash, checkpoint
//	                      (op 3's layout: the first followed checkpoint), uvarint more (0..1023),
//	                      more x (origin, uvarint old size, uvarint n (0..63), n x 32-byte proof hash,
//	                      checkpoint): the further followed checkpoints, one per other loop log
//
// where origin is uvarint len || UTF-8 (1..255 bytes), an entry is uvarint
// len || bytes (1..65535), count is a uvarint, a checkpoint is uvarint len ||
// signed note (1..16384 bytes) and evidence is uvarint len || an
// exchange.Evidence encoding (1..1 MiB). For ops 6-7, origin and index name
// the ledger entry whose sealed persons the keys open; a path is uvarint len
// || the UTF-8 JSON path of a Person inside that record, e.g.
// "subject.responsible_persons[0].person" (1..255 bytes), and a wrapped key
// is uvarint len || the data key wrapped under the region's vault key
// (1..255 bytes; vault.State.Wrap makes 60 or 64). Every replica decodes the same bytes the
// same way, so a command that fails to decode fails identically everywhere
// and is answered with the error rather than applied. For op 9, serial is
// uvarint len || the token's serial (exactly 16 lower-case hex digits) and
// reason is uvarint len || UTF-8 text (1..1024 bytes).
//
// Versioning rule: a new field or op bumps commandVersion; replicas refuse a
// version they do not know (and so must be upgraded before the leader starts
// writing it). Changing this format breaks replay of existing raft logs.
const (
	commandVersion1   = 1
	commandVersion    = 2 // ops 2-5
	commandVersion3   = 3 // ops 6-7
	commandVersion4   = 4 // op 8
	commandVersion5   = 5 // op 9
	commandVersion6   = 6 // op 10; the newest
	opAppend          = 1
	opMirrorAppend    = 2
	opWitness         = 3
	opCosigned        = 4
	opAlert           = 5
	opVaultPut        = 6
	opVaultErase      = 7
	opVaultRotate     = 8
	opTokenRevoke     = 9
	opFollow          = 10
	maxCommandEntries = 1 << 16
	maxOriginLen      = 255
	maxEntryLen       = 65535
	maxCheckpointLen  = 16 << 10
	maxEvidenceLen    = 1 << 20
	maxProofHashes    = 63
	maxVaultKeys      = 64
	maxVaultPathLen   = 255
	maxWrappedKeyLen  = 255
	maxSerialLen      = 16
	maxReasonLen      = 1024
	maxMoreFollows    = 1023 // op 10: items after the first
)

// commandVersionOf is the one version op is written as (0: unknown op).
func commandVersionOf(op byte) byte {
	switch {
	case op == opAppend:
		return commandVersion1
	case op >= opMirrorAppend && op <= opAlert:
		return commandVersion
	case op == opVaultPut || op == opVaultErase:
		return commandVersion3
	case op == opVaultRotate:
		return commandVersion4
	case op == opTokenRevoke:
		return commandVersion5
	case op == opFollow:
		return commandVersion6
	}
	return 0
}

// command is one decoded raft command.
type command struct {
	op         byte
	origin     string
	entries    [][]byte          // opAppend, opMirrorAppend
	checkpoint []byte            // opMirrorAppend, opWitness, opCosigned
	first      uint64            // opMirrorAppend: index of entries[0]
	oldSize    uint64            // opWitness
	proof      []tlog.Hash       // opWitness: old size -> checkpoint; opMirrorAppend: first+len(entries) -> checkpoint
	evidence   []byte            // opAlert
	index      uint64            // opVaultPut, opVaultErase: the entry of origin the keys belong to; opVaultRotate: the epoch rotated from
	keys       []vaultItem       // opVaultPut
	serial     string            // opTokenRevoke: the subject token's serial
	reason     string            // opTokenRevoke: why, for GET /v1/subject/revoked
	follows    []exchange.Follow // opFollow: the items after the first (origin, oldSize, proof, checkpoint)
}

// vaultItem is one wrapped data key of an opVaultPut command.
type vaultItem struct {
	path    string // JSON path of the sealed Person in the record
	wrapped []byte // vault.State.Wrap output
}

// errBadCommand wraps every decoding failure.
var errBadCommand = errors.New("bad raft command")

// encodeCommand is the inverse of decodeCommand.
func encodeCommand(c command) ([]byte, error) {
	if len(c.origin) == 0 || len(c.origin) > maxOriginLen {
		return nil, fmt.Errorf("%w: origin length %d", errBadCommand, len(c.origin))
	}
	minEntries := 1
	switch c.op {
	case opAppend:
	case opMirrorAppend:
		minEntries = 0
	case opWitness, opCosigned, opAlert, opFollow:
		return encodeExchangeCommand(c)
	case opVaultPut, opVaultErase, opVaultRotate:
		return encodeVaultCommand(c)
	case opTokenRevoke:
		return encodeRevokeCommand(c)
	default:
		return nil, fmt.Errorf("%w: unknown op %d", errBadCommand, c.op)
	}
	if len(c.entries) < minEntries || len(c.entries) > maxCommandEntries {
		return nil, fmt.Errorf("%w: %d entries", errBadCommand, len(c.entries))
	}
	n := 2 + binary.MaxVarintLen64*4 + len(c.origin) + len(c.checkpoint)
	for _, e := range c.entries {
		n += binary.MaxVarintLen64 + len(e)
	}
	b := make([]byte, 0, n)
	b = append(b, commandVersionOf(c.op), c.op)
	b = binary.AppendUvarint(b, uint64(len(c.origin)))
	b = append(b, c.origin...)
	if c.op == opMirrorAppend {
		if len(c.checkpoint) == 0 || len(c.checkpoint) > maxCheckpointLen {
			return nil, fmt.Errorf("%w: checkpoint length %d", errBadCommand, len(c.checkpoint))
		}
		b = binary.AppendUvarint(b, uint64(len(c.checkpoint)))
		b = append(b, c.checkpoint...)
		b = binary.AppendUvarint(b, c.first)
		if len(c.proof) > maxProofHashes {
			return nil, fmt.Errorf("%w: %d proof hashes", errBadCommand, len(c.proof))
		}
		b = binary.AppendUvarint(b, uint64(len(c.proof)))
		for _, h := range c.proof {
			b = append(b, h[:]...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(c.entries)))
	for i, e := range c.entries {
		if len(e) == 0 || len(e) > maxEntryLen {
			return nil, fmt.Errorf("%w: entry %d has length %d", errBadCommand, i, len(e))
		}
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// decodeCommand parses the format above strictly. The returned entries alias b.
func decodeCommand(b []byte) (command, error) {
	var c command
	if len(b) < 2 {
		return c, fmt.Errorf("%w: %d bytes", errBadCommand, len(b))
	}
	if b[0] < commandVersion1 || b[0] > commandVersion6 {
		return c, fmt.Errorf("%w: unknown version %d", errBadCommand, b[0])
	}
	c.op = b[1]
	if commandVersionOf(c.op) != b[0] {
		return c, fmt.Errorf("%w: unknown op %d in version %d", errBadCommand, c.op, b[0])
	}
	b = b[2:]
	// item is the op 10 item after the first being read (1-based; 0: none):
	// name puts it into an error only, as the FSM decodes every op 10 on
	// every replica, one item per followed loop log.
	var item uint64
	name := func(what string) string {
		if item == 0 {
			return what
		}
		return fmt.Sprintf("follow %d %s", item, what)
	}
	field := func(what string, max uint64) ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || k != uvarintLen(n) || n == 0 || n > max || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("%w: bad %s length", errBadCommand, name(what))
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, nil
	}
	o, err := field("origin", maxOriginLen)
	if err != nil {
		return c, err
	}
	c.origin = string(o)
	uv := func(what string) (uint64, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || k != uvarintLen(n) {
			return 0, fmt.Errorf("%w: bad %s", errBadCommand, name(what))
		}
		b = b[k:]
		return n, nil
	}
	proofField := func() ([]tlog.Hash, error) {
		np, err := uv("proof length")
		if err != nil {
			return nil, err
		}
		if np > maxProofHashes || np*tlog.HashSize > uint64(len(b)) {
			return nil, fmt.Errorf("%w: bad %s length %d", errBadCommand, name("proof"), np)
		}
		var p []tlog.Hash
		for i := uint64(0); i < np; i++ {
			p = append(p, tlog.Hash(b[:tlog.HashSize]))
			b = b[tlog.HashSize:]
		}
		return p, nil
	}
	switch c.op {
	case opMirrorAppend:
		if c.checkpoint, err = field("checkpoint", maxCheckpointLen); err != nil {
			return c, err
		}
		if c.first, err = uv("first index"); err != nil {
			return c, err
		}
		if c.proof, err = proofField(); err != nil {
			return c, err
		}
	case opFollow:
		if c.oldSize, err = uv("old size"); err != nil {
			return c, err
		}
		if c.proof, err = proofField(); err != nil {
			return c, err
		}
		if c.checkpoint, err = field("checkpoint", maxCheckpointLen); err != nil {
			return c, err
		}
		more, err := uv("follow count")
		if err != nil {
			return c, err
		}
		if more > maxMoreFollows {
			return c, fmt.Errorf("%w: %d further follow items, at most %d", errBadCommand, more, maxMoreFollows)
		}
		if more > 0 { // an item takes at least 6 bytes: a bad count allocates no more than the command's size
			c.follows = make([]exchange.Follow, 0, min(more, uint64(len(b)/6)))
		}
		for item = 1; item <= more; item++ {
			var it exchange.Follow
			o, err := field("origin", maxOriginLen)
			if err != nil {
				return c, err
			}
			it.Origin = string(o)
			if it.OldSize, err = uv("old size"); err != nil {
				return c, err
			}
			if it.Proof, err = proofField(); err != nil {
				return c, err
			}
			if it.Checkpoint, err = field("checkpoint", maxCheckpointLen); err != nil {
				return c, err
			}
			c.follows = append(c.follows, it)
		}
		return c, trailing(b)
	case opWitness:
		if c.oldSize, err = uv("old size"); err != nil {
			return c, err
		}
		if c.proof, err = proofField(); err != nil {
			return c, err
		}
		fallthrough
	case opCosigned:
		if c.checkpoint, err = field("checkpoint", maxCheckpointLen); err != nil {
			return c, err
		}
		return c, trailing(b)
	case opAlert:
		if c.evidence, err = field("evidence", maxEvidenceLen); err != nil {
			return c, err
		}
		return c, trailing(b)
	case opTokenRevoke:
		sr, err := field("serial", maxSerialLen)
		if err != nil {
			return c, err
		}
		rs, err := field("reason", maxReasonLen)
		if err != nil {
			return c, err
		}
		c.serial, c.reason = string(sr), string(rs)
		if err := checkRevoke(c); err != nil {
			return c, err
		}
		return c, trailing(b)
	case opVaultPut, opVaultErase, opVaultRotate:
		if c.index, err = uv("index"); err != nil {
			return c, err
		}
		if c.op != opVaultPut {
			return c, trailing(b)
		}
		n, err := uv("key count")
		if err != nil {
			return c, err
		}
		if n == 0 || n > maxVaultKeys {
			return c, fmt.Errorf("%w: bad key count %d", errBadCommand, n)
		}
		for i := uint64(0); i < n; i++ {
			p, err := field(fmt.Sprintf("path %d", i), maxVaultPathLen)
			if err != nil {
				return c, err
			}
			w, err := field(fmt.Sprintf("wrapped key %d", i), maxWrappedKeyLen)
			if err != nil {
				return c, err
			}
			c.keys = append(c.keys, vaultItem{path: string(p), wrapped: w})
		}
		return c, trailing(b)
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(count) || (count == 0 && c.op == opAppend) || count > maxCommandEntries {
		return c, fmt.Errorf("%w: bad entry count", errBadCommand)
	}
	b = b[k:]
	c.entries = make([][]byte, 0, min(count, uint64(len(b)/2+1)))
	for i := uint64(0); i < count; i++ {
		e, err := field(fmt.Sprintf("entry %d", i), maxEntryLen)
		if err != nil {
			return c, err
		}
		c.entries = append(c.entries, e)
	}
	return c, trailing(b)
}

func trailing(b []byte) error {
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBadCommand, len(b))
	}
	return nil
}

// encodeExchangeCommand encodes ops 3-5 and 10 (see the format above).
func encodeExchangeCommand(c command) ([]byte, error) {
	b := []byte{commandVersionOf(c.op), c.op}
	b = binary.AppendUvarint(b, uint64(len(c.origin)))
	b = append(b, c.origin...)
	field := func(what string, f []byte, max int) error {
		if len(f) == 0 || len(f) > max {
			return fmt.Errorf("%w: %s length %d", errBadCommand, what, len(f))
		}
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
		return nil
	}
	switch c.op {
	case opWitness, opFollow:
		item := func(oldSize uint64, proof []tlog.Hash, checkpoint []byte) error {
			if len(proof) > maxProofHashes {
				return fmt.Errorf("%w: %d proof hashes", errBadCommand, len(proof))
			}
			b = binary.AppendUvarint(b, oldSize)
			b = binary.AppendUvarint(b, uint64(len(proof)))
			for _, h := range proof {
				b = append(b, h[:]...)
			}
			return field("checkpoint", checkpoint, maxCheckpointLen)
		}
		if err := item(c.oldSize, c.proof, c.checkpoint); err != nil {
			return nil, err
		}
		if c.op == opWitness {
			break
		}
		if len(c.follows) > maxMoreFollows {
			return nil, fmt.Errorf("%w: %d further follow items", errBadCommand, len(c.follows))
		}
		b = binary.AppendUvarint(b, uint64(len(c.follows)))
		for i, it := range c.follows {
			if len(it.Origin) == 0 || len(it.Origin) > maxOriginLen {
				return nil, fmt.Errorf("%w: follow %d origin length %d", errBadCommand, i+1, len(it.Origin))
			}
			b = binary.AppendUvarint(b, uint64(len(it.Origin)))
			b = append(b, it.Origin...)
			if err := item(it.OldSize, it.Proof, it.Checkpoint); err != nil {
				return nil, fmt.Errorf("follow %d: %w", i+1, err)
			}
		}
	case opCosigned:
		if err := field("checkpoint", c.checkpoint, maxCheckpointLen); err != nil {
			return nil, err
		}
	case opAlert:
		if err := field("evidence", c.evidence, maxEvidenceLen); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// encodeVaultCommand encodes ops 6-8 (see the format above).
func encodeVaultCommand(c command) ([]byte, error) {
	b := []byte{commandVersionOf(c.op), c.op}
	b = binary.AppendUvarint(b, uint64(len(c.origin)))
	b = append(b, c.origin...)
	b = binary.AppendUvarint(b, c.index)
	if c.op != opVaultPut {
		return b, nil
	}
	if len(c.keys) == 0 || len(c.keys) > maxVaultKeys {
		return nil, fmt.Errorf("%w: %d vault keys", errBadCommand, len(c.keys))
	}
	b = binary.AppendUvarint(b, uint64(len(c.keys)))
	for i, k := range c.keys {
		if len(k.path) == 0 || len(k.path) > maxVaultPathLen || len(k.wrapped) == 0 || len(k.wrapped) > maxWrappedKeyLen {
			return nil, fmt.Errorf("%w: vault key %d: path length %d, wrapped length %d", errBadCommand, i, len(k.path), len(k.wrapped))
		}
		b = binary.AppendUvarint(b, uint64(len(k.path)))
		b = append(b, k.path...)
		b = binary.AppendUvarint(b, uint64(len(k.wrapped)))
		b = append(b, k.wrapped...)
	}
	return b, nil
}

// uvarintLen is the length of the minimal encoding of n; longer encodings are
// rejected so that every command has exactly one byte form.
func uvarintLen(n uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], n)
}
