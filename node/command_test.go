package node

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestCommandRoundTrip(t *testing.T) {
	tests := []command{
		{op: opAppend, origin: "creditx.330000/ledger", entries: [][]byte{[]byte("a")}},
		{op: opAppend, origin: "o", entries: [][]byte{bytes.Repeat([]byte{7}, maxEntryLen), []byte("{}"), []byte("x")}},
	}
	for _, c := range tests {
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeCommand(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.origin != c.origin || len(got.entries) != len(c.entries) {
			t.Fatalf("got %q/%d, want %q/%d", got.origin, len(got.entries), c.origin, len(c.entries))
		}
		for i := range c.entries {
			if !bytes.Equal(got.entries[i], c.entries[i]) {
				t.Fatalf("entry %d differs", i)
			}
		}
	}
}

func TestCommandRejects(t *testing.T) {
	good, _ := encodeCommand(command{op: opAppend, origin: "o", entries: [][]byte{[]byte("abc")}})
	bad := map[string][]byte{
		"empty":      nil,
		"version":    append([]byte{9}, good[1:]...),
		"op":         append([]byte{good[0], 9}, good[2:]...),
		"truncated":  good[:len(good)-1],
		"trailing":   append(append([]byte{}, good...), 0),
		"zero count": {commandVersion, opAppend, 1, 'o', 0},
	}
	for name, b := range bad {
		if _, err := decodeCommand(b); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
	if _, err := encodeCommand(command{op: opAppend, origin: "o", entries: [][]byte{{}}}); err == nil {
		t.Error("empty entry encoded")
	}
}

func FuzzDecodeCommand(f *testing.F) {
	good, _ := encodeCommand(command{op: opAppend, origin: "creditx.330000/ledger", entries: [][]byte{[]byte("abc"), []byte("de")}})
	f.Add(good)
	f.Add([]byte{1, 1, 0})
	for _, c := range []command{
		{op: opMirrorAppend, origin: "creditx.310000/ledger", checkpoint: []byte("cp\n"), first: 3, proof: []tlog.Hash{{1}}, entries: [][]byte{[]byte("e")}},
		{op: opWitness, origin: "creditx.310000/ledger", oldSize: 2, proof: []tlog.Hash{{2}}, checkpoint: []byte("cp\n")},
		{op: opCosigned, origin: "creditx.330000/ledger", checkpoint: []byte("cp\n")},
		{op: opAlert, origin: "creditx.310000/ledger", evidence: []byte{1, 2}},
	} {
		b, _ := encodeCommand(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCommand(b)
		if err != nil {
			return
		}
		re, err := encodeCommand(c)
		if err != nil {
			t.Fatalf("decoded command does not re-encode: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs: %x vs %x", re, b)
		}
	})
}
