package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/creditx/creditx/exchange"
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
		{op: opVaultPut, origin: "creditx.330000/ledger", index: 12, keys: []vaultItem{{path: "subject.person", wrapped: bytes.Repeat([]byte{9}, 60)}}},
		{op: opVaultErase, origin: "creditx.330000/ledger", index: 300},
		{op: opVaultRotate, origin: "creditx.330000/ledger", index: 2},
		{op: opTokenRevoke, origin: "creditx.330000/ledger", serial: "0123456789abcdef", reason: "lost"},
		{op: opFollow, origin: "creditx.310000/loop", oldSize: 2, proof: []tlog.Hash{{3}}, checkpoint: []byte("cp\n")},
		{op: opFollow, origin: "creditx.310000/loop", oldSize: 2, proof: []tlog.Hash{{3}}, checkpoint: []byte("cp\n"),
			follows: []exchange.Follow{{Origin: "creditx.320000/loop", OldSize: 1, Proof: tlog.TreeProof{{4}}, Checkpoint: []byte("cq\n")}}},
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

// TestVaultCommand: ops 6-7 round-trip as version 3 and are refused in any
// other version, with empty or oversized fields, or trailing bytes.
func TestVaultCommand(t *testing.T) {
	put := command{op: opVaultPut, origin: "creditx.330000/ledger", index: 1 << 40, keys: []vaultItem{
		{path: "subject.person", wrapped: bytes.Repeat([]byte{1}, 60)},
		{path: "subject.responsible_persons[0].person", wrapped: []byte{2}},
	}}
	erase := command{op: opVaultErase, origin: "creditx.330000/ledger", index: 7}
	for _, c := range []command{put, erase} {
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != commandVersion3 || b[1] != c.op {
			t.Errorf("op %d written as version %d", c.op, b[0])
		}
		got, err := decodeCommand(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.op != c.op || got.origin != c.origin || got.index != c.index || len(got.keys) != len(c.keys) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
		for i := range c.keys {
			if got.keys[i].path != c.keys[i].path || !bytes.Equal(got.keys[i].wrapped, c.keys[i].wrapped) {
				t.Errorf("key %d differs", i)
			}
		}
	}
	good, _ := encodeCommand(put)
	bad := map[string][]byte{
		"put as version 2":   append([]byte{commandVersion}, good[1:]...),
		"append as version3": {commandVersion3, opAppend, 1, 'o', 1, 1, 'x'},
		"no keys":            {commandVersion3, opVaultPut, 1, 'o', 0, 0},
		"empty path":         {commandVersion3, opVaultPut, 1, 'o', 0, 1, 0, 1, 'w'},
		"empty wrapped":      {commandVersion3, opVaultPut, 1, 'o', 0, 1, 1, 'p', 0},
		"erase trailing":     {commandVersion3, opVaultErase, 1, 'o', 0, 0},
		"erase no index":     {commandVersion3, opVaultErase, 1, 'o'},
		"too many keys":      {commandVersion3, opVaultPut, 1, 'o', 0, maxVaultKeys + 1},
		"truncated":          good[:len(good)-1],
	}
	for name, b := range bad {
		if _, err := decodeCommand(b); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
	if _, err := encodeCommand(command{op: opVaultPut, origin: "o", keys: nil}); err == nil {
		t.Error("vault-put without keys encoded")
	}
}

// TestFollowCommand: op 10 (followed loop checkpoints) is written as
// version 6: its first item in op 3's layout, then the count of further
// items, each origin and op 3's layout; it reads back field for field; a
// version 6 byte with another op, op 10 under another version, a count
// past the bound, a truncated item or trailing bytes are refused.
func TestFollowCommand(t *testing.T) {
	c := command{op: opFollow, origin: "creditx.310000/loop", oldSize: 5, proof: []tlog.Hash{{1}, {2}}, checkpoint: []byte("creditx.310000/loop\n9\nAA==\n\n— x y\n")}
	b, err := encodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != commandVersion6 || b[1] != opFollow {
		t.Fatalf("follow command starts %v, want version 6 op 10", b[:2])
	}
	w, _ := encodeCommand(command{op: opWitness, origin: c.origin, oldSize: c.oldSize, proof: c.proof, checkpoint: c.checkpoint})
	if !bytes.Equal(b[2:len(b)-1], w[2:]) || b[len(b)-1] != 0 {
		t.Fatalf("single follow is not op 3's layout and a zero count:\n%x\n%x", b[2:], w[2:])
	}
	got, err := decodeCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.op != opFollow || got.origin != c.origin || got.oldSize != 5 || len(got.proof) != 2 || got.proof[1] != c.proof[1] || !bytes.Equal(got.checkpoint, c.checkpoint) || len(got.follows) != 0 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{append([]byte{commandVersion, opFollow}, b[2:]...), append([]byte{commandVersion6, opWitness}, b[2:]...)} {
		if _, err := decodeCommand(bad); !errors.Is(err, errBadCommand) {
			t.Errorf("decode %x: %v, want errBadCommand", bad[:2], err)
		}
	}

	// Several items.
	c.follows = []exchange.Follow{
		{Origin: "creditx.320000/loop", OldSize: 0, Checkpoint: []byte("creditx.320000/loop\n3\nAA==\n\n— x y\n")},
		{Origin: "creditx.340000/loop", OldSize: 7, Proof: tlog.TreeProof{{9}}, Checkpoint: []byte("creditx.340000/loop\n8\nAA==\n\n— x y\n")},
	}
	mb, err := encodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err = decodeCommand(mb)
	if err != nil {
		t.Fatal(err)
	}
	if got.origin != c.origin || len(got.follows) != 2 {
		t.Fatalf("round trip of 3 items: %+v", got)
	}
	for i, f := range got.follows {
		want := c.follows[i]
		if f.Origin != want.Origin || f.OldSize != want.OldSize || len(f.Proof) != len(want.Proof) || !bytes.Equal(f.Checkpoint, want.Checkpoint) {
			t.Errorf("item %d: %+v, want %+v", i+1, f, want)
		}
	}
	if got.follows[1].Proof[0] != c.follows[1].Proof[0] {
		t.Error("item 2's proof hash changed")
	}
	over := append(append([]byte(nil), b[:len(b)-1]...), binary.AppendUvarint(nil, maxMoreFollows+1)...)
	for name, bad := range map[string][]byte{
		"truncated item": mb[:len(mb)-3],
		"trailing byte":  append(append([]byte(nil), mb...), 0),
		"count too big":  over,
		"missing count":  b[:len(b)-1],
	} {
		if _, err := decodeCommand(bad); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: %v, want errBadCommand", name, err)
		}
	}
	if _, err := encodeCommand(command{op: opFollow, origin: c.origin, checkpoint: c.checkpoint, follows: []exchange.Follow{{Origin: "", Checkpoint: []byte("x")}}}); !errors.Is(err, errBadCommand) {
		t.Errorf("encode with an empty item origin: %v, want errBadCommand", err)
	}
}
