package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/exchange"
	"golang.org/x/mod/sumdb/tlog"
)

// TestFollowCommandErrorsNameTheItem: a bad field of an op 10 item after
// the first is refused naming the item's number and the field; a bad field
// of the first item is named as in op 3, with no number.
func TestFollowCommandErrorsNameTheItem(t *testing.T) {
	c := command{op: opFollow, origin: "creditx.310000/loop", oldSize: 5, proof: []tlog.Hash{{1}}, checkpoint: []byte("cp\n"),
		follows: []exchange.Follow{
			{Origin: "creditx.320000/loop", OldSize: 1, Proof: tlog.TreeProof{{2}}, Checkpoint: []byte("cq\n")},
			{Origin: "creditx.340000/loop", OldSize: 7, Proof: tlog.TreeProof{{9}}, Checkpoint: []byte("cr\n")},
		}}
	b, err := encodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	one := c
	one.follows = c.follows[:1]
	b1, err := encodeCommand(one)
	if err != nil {
		t.Fatal(err)
	}
	item2 := len(b1) // the counts 1 and 2 take one byte each
	if b[item2] != byte(len(c.follows[1].Origin)) {
		t.Fatalf("item 2 does not start at %d: %x", item2, b[item2:])
	}
	spoil := func(at int, v byte) []byte {
		s := append([]byte(nil), b...)
		s[at] = v
		return s
	}
	proof2 := item2 + 1 + len(c.follows[1].Origin) + 1 // origin, old size, then the proof count
	proof1 := 2 + 1 + len(c.origin) + 1
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"item 2 cut before its origin", "bad follow 2 origin length", b[:item2]},
		{"item 2 cut before its old size", "bad follow 2 old size", b[:item2+1+len(c.follows[1].Origin)]},
		{"item 2's proof too long", "bad follow 2 proof length 64", spoil(proof2, 64)},
		{"item 2 cut in its checkpoint", "bad follow 2 checkpoint length", b[:len(b)-1]},
		{"item 1's proof too long", "bad proof length 64", spoil(proof1, 64)},
	} {
		_, err := decodeCommand(tc.b)
		if !errors.Is(err, errBadCommand) || !strings.HasSuffix(err.Error(), ": "+tc.want) {
			t.Errorf("%s: %v, want errBadCommand ending %q", tc.name, err, tc.want)
		}
	}
}
