package exchange

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Alert kinds.
const (
	// AlertEquivocation: two validly signed checkpoints of one origin that
	// cannot both be true (same size, different roots; or a consistency
	// proof between them that does not verify).
	AlertEquivocation = "equivocation"
	// AlertBadEntry: a mirrored entry failed verification (signature, key,
	// schema, region, or its hash does not lead to the checkpoint's root).
	// Mirroring of the origin stops.
	AlertBadEntry = "bad_entry"
)

// Evidence is what a member keeps when it catches a misbehaving origin: the
// two signed notes (or a note and the offending entry), verbatim.
type Evidence struct {
	Kind   string    // AlertEquivocation or AlertBadEntry
	Origin string    // the origin caught
	Time   time.Time // when it was caught (second precision, UTC)
	Reason string    // human-readable
	Items  [][]byte  // the evidence: signed notes, entries, exactly as received
	Index  uint64    // for AlertBadEntry: the failing entry's index
}

// Encode returns the evidence's byte form:
//
//	byte     version (1)
//	uvarint  len || kind          (1..64 bytes)
//	uvarint  len || origin        (1..255 bytes)
//	uvarint  unix seconds
//	uvarint  index
//	uvarint  len || reason        (0..4096 bytes)
//	uvarint  count                (0..8)
//	count x  ( uvarint len || item )   (each 1..65536 bytes)
//
// Versioning rule: a new field bumps the version byte; DecodeEvidence
// refuses versions it does not know.
func (e Evidence) Encode() []byte {
	b := []byte{1}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(e.Kind)
	str(e.Origin)
	b = binary.AppendUvarint(b, uint64(e.Time.Unix()))
	b = binary.AppendUvarint(b, e.Index)
	r := e.Reason
	if len(r) > 4096 {
		r = r[:4096]
	}
	str(r)
	b = binary.AppendUvarint(b, uint64(len(e.Items)))
	for _, it := range e.Items {
		b = binary.AppendUvarint(b, uint64(len(it)))
		b = append(b, it...)
	}
	return b
}

// DecodeEvidence is the strict inverse of Encode.
func DecodeEvidence(b []byte) (Evidence, error) {
	var e Evidence
	if len(b) < 1 || b[0] != 1 {
		return e, fmt.Errorf("evidence: unknown version")
	}
	b = b[1:]
	uv := func(what string) (uint64, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) {
			return 0, fmt.Errorf("evidence: bad %s", what)
		}
		b = b[k:]
		return n, nil
	}
	field := func(what string, lo, hi uint64) ([]byte, error) {
		n, err := uv(what + " length")
		if err != nil {
			return nil, err
		}
		if n < lo || n > hi || n > uint64(len(b)) {
			return nil, fmt.Errorf("evidence: %s length %d out of range", what, n)
		}
		f := b[:n]
		b = b[n:]
		return f, nil
	}
	k, err := field("kind", 1, 64)
	if err != nil {
		return e, err
	}
	o, err := field("origin", 1, 255)
	if err != nil {
		return e, err
	}
	t, err := uv("time")
	if err != nil {
		return e, err
	}
	if t > 1<<40 {
		return e, fmt.Errorf("evidence: time out of range")
	}
	if e.Index, err = uv("index"); err != nil {
		return e, err
	}
	r, err := field("reason", 0, 4096)
	if err != nil {
		return e, err
	}
	n, err := uv("count")
	if err != nil {
		return e, err
	}
	if n > 8 {
		return e, fmt.Errorf("evidence: %d items, at most 8", n)
	}
	e.Kind, e.Origin, e.Time, e.Reason = string(k), string(o), time.Unix(int64(t), 0).UTC(), string(r)
	for i := uint64(0); i < n; i++ {
		it, err := field(fmt.Sprintf("item %d", i), 1, 1<<16)
		if err != nil {
			return e, err
		}
		e.Items = append(e.Items, append([]byte(nil), it...))
	}
	if len(b) != 0 {
		return e, fmt.Errorf("evidence: %d trailing bytes", len(b))
	}
	return e, nil
}
