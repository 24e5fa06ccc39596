package node

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Raft command format (the Data of every raft.LogCommand this node writes).
//
// A command is:
//
//	byte     version (commandVersion = 1)
//	byte     op (opAppend = 1)
//	uvarint  len(origin) || origin   (UTF-8, 1..255 bytes)
//	uvarint  count                   (1..maxCommandEntries)
//	count x  ( uvarint len(entry) || entry )   (each 1..65535 bytes)
//
// with nothing after the last entry. Every replica decodes the same bytes the
// same way, so a command that fails to decode fails identically everywhere
// and is answered with the error rather than applied.
//
// Versioning rule: a new field or op bumps commandVersion; replicas refuse a
// version they do not know (and so must be upgraded before the leader starts
// writing it). Changing this format breaks replay of existing raft logs.
const (
	commandVersion    = 1
	opAppend          = 1
	maxCommandEntries = 1 << 16
	maxOriginLen      = 255
	maxEntryLen       = 65535
)

// command is one decoded raft command: append entries to the log of origin.
type command struct {
	op      byte
	origin  string
	entries [][]byte
}

// errBadCommand wraps every decoding failure.
var errBadCommand = errors.New("bad raft command")

// encodeCommand is the inverse of decodeCommand.
func encodeCommand(c command) ([]byte, error) {
	if len(c.origin) == 0 || len(c.origin) > maxOriginLen {
		return nil, fmt.Errorf("%w: origin length %d", errBadCommand, len(c.origin))
	}
	if len(c.entries) == 0 || len(c.entries) > maxCommandEntries {
		return nil, fmt.Errorf("%w: %d entries", errBadCommand, len(c.entries))
	}
	n := 2 + binary.MaxVarintLen64*2 + len(c.origin)
	for _, e := range c.entries {
		n += binary.MaxVarintLen64 + len(e)
	}
	b := make([]byte, 0, n)
	b = append(b, commandVersion, c.op)
	b = binary.AppendUvarint(b, uint64(len(c.origin)))
	b = append(b, c.origin...)
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
	if b[0] != commandVersion {
		return c, fmt.Errorf("%w: unknown version %d", errBadCommand, b[0])
	}
	c.op = b[1]
	if c.op != opAppend {
		return c, fmt.Errorf("%w: unknown op %d", errBadCommand, c.op)
	}
	b = b[2:]
	field := func(what string, max uint64) ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || k != uvarintLen(n) || n == 0 || n > max || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("%w: bad %s length", errBadCommand, what)
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
	count, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(count) || count == 0 || count > maxCommandEntries {
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
	if len(b) != 0 {
		return c, fmt.Errorf("%w: %d trailing bytes", errBadCommand, len(b))
	}
	return c, nil
}

// uvarintLen is the length of the minimal encoding of n; longer encodings are
// rejected so that every command has exactly one byte form.
func uvarintLen(n uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], n)
}
