package node

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestExchangeCommandRoundTrip(t *testing.T) {
	cp := []byte("creditx.330000/ledger\n3\nroot\n\n— sig\n")
	tests := []command{
		{op: opMirrorAppend, origin: "creditx.310000/ledger", checkpoint: cp, first: 5, entries: [][]byte{[]byte("a"), []byte("b")}},
		{op: opMirrorAppend, origin: "creditx.310000/ledger", checkpoint: cp, first: 0, proof: []tlog.Hash{{1}, {2}}, entries: [][]byte{[]byte("a")}},
		{op: opMirrorAppend, origin: "creditx.310000/ledger", checkpoint: cp, first: 7},
		{op: opWitness, origin: "creditx.310000/ledger", oldSize: 9, proof: []tlog.Hash{{3}}, checkpoint: cp},
		{op: opWitness, origin: "creditx.310000/ledger", checkpoint: cp},
		{op: opCosigned, origin: "creditx.330000/ledger", checkpoint: cp},
		{op: opAlert, origin: "creditx.310000/ledger", evidence: []byte{1, 2, 3}},
	}
	for i, c := range tests {
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if b[0] != commandVersion {
			t.Errorf("%d: version %d, want %d", i, b[0], commandVersion)
		}
		got, err := decodeCommand(b)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got.op != c.op || got.origin != c.origin || got.first != c.first || got.oldSize != c.oldSize ||
			!bytes.Equal(got.checkpoint, c.checkpoint) || !bytes.Equal(got.evidence, c.evidence) ||
			len(got.entries) != len(c.entries) || len(got.proof) != len(c.proof) {
			t.Fatalf("%d: got %+v, want %+v", i, got, c)
		}
		for j := range c.proof {
			if got.proof[j] != c.proof[j] {
				t.Fatalf("%d: proof hash %d differs", i, j)
			}
		}
	}
	// Op 1 is still written as version 1, byte for byte as before.
	b, _ := encodeCommand(command{op: opAppend, origin: "o", entries: [][]byte{[]byte("x")}})
	if want := []byte{1, 1, 1, 'o', 1, 1, 'x'}; !bytes.Equal(b, want) {
		t.Fatalf("op 1 = %x, want %x", b, want)
	}
}

func TestExchangeCommandRejects(t *testing.T) {
	good, _ := encodeCommand(command{op: opWitness, origin: "o", oldSize: 1, proof: []tlog.Hash{{1}}, checkpoint: []byte("cp")})
	bad := map[string][]byte{
		"op 1 as version 2":  {commandVersion, opAppend, 1, 'o', 1, 1, 'x'},
		"op 2 as version 1":  {commandVersion1, opMirrorAppend, 1, 'o', 1, 'c', 0, 0, 0},
		"unknown op":         {commandVersion, 9, 1, 'o'},
		"truncated":          good[:len(good)-1],
		"trailing":           append(append([]byte{}, good...), 0),
		"proof too long":     {commandVersion, opWitness, 1, 'o', 0, 64},
		"empty checkpoint":   {commandVersion, opCosigned, 1, 'o', 0},
		"empty evidence":     {commandVersion, opAlert, 1, 'o', 0},
		"non-minimal varint": {commandVersion, opWitness, 1, 'o', 0x81, 0x00, 0, 2, 'c', 'p'},
	}
	for name, b := range bad {
		if _, err := decodeCommand(b); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
	if _, err := encodeCommand(command{op: opCosigned, origin: "o"}); err == nil {
		t.Error("cosigned command without a checkpoint encoded")
	}
}
