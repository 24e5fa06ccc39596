package node

import (
	"errors"
	"testing"
)

// TestVaultRotateCommandFormat: op 8 round-trips as version 4 (its only
// form) and is refused in version 3, without its epoch, or with trailing
// bytes; ops 6-7 stay version 3.
func TestVaultRotateCommandFormat(t *testing.T) {
	c := command{op: opVaultRotate, origin: "creditx.330000/ledger", index: 1 << 33}
	b, err := encodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != commandVersion4 || b[1] != opVaultRotate {
		t.Fatalf("op 8 written as version %d op %d", b[0], b[1])
	}
	got, err := decodeCommand(b)
	if err != nil || got.op != c.op || got.origin != c.origin || got.index != c.index {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, c)
	}
	if e, _ := encodeCommand(command{op: opVaultErase, origin: "o", index: 1}); e[0] != commandVersion3 {
		t.Errorf("op 7 written as version %d, want 3", e[0])
	}
	for name, bad := range map[string][]byte{
		"rotate as version 3": append([]byte{commandVersion3}, b[1:]...),
		"erase as version 4":  {commandVersion4, opVaultErase, 1, 'o', 0},
		"no epoch":            {commandVersion4, opVaultRotate, 1, 'o'},
		"trailing":            append(append([]byte(nil), b...), 0),
		"version 6":           append([]byte{6}, b[1:]...),
	} {
		if _, err := decodeCommand(bad); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
}

// TestTokenRevokeCommandFormat: op 9 round-trips as version 5 (its only
// form); a bad serial, an empty reason, another version or trailing bytes
// are refused.
func TestTokenRevokeCommandFormat(t *testing.T) {
	c := command{op: opTokenRevoke, origin: "creditx.330000/ledger", serial: "0123456789abcdef", reason: "手机遗失"}
	b, err := encodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != commandVersion5 || b[1] != opTokenRevoke {
		t.Fatalf("op 9 written as version %d op %d", b[0], b[1])
	}
	got, err := decodeCommand(b)
	if err != nil || got.op != c.op || got.origin != c.origin || got.serial != c.serial || got.reason != c.reason {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, c)
	}
	for name, cc := range map[string]command{
		"short serial":   {op: opTokenRevoke, origin: "o", serial: "0123", reason: "x"},
		"upper-case hex": {op: opTokenRevoke, origin: "o", serial: "0123456789ABCDEF", reason: "x"},
		"empty reason":   {op: opTokenRevoke, origin: "o", serial: "0123456789abcdef"},
		"invalid utf-8":  {op: opTokenRevoke, origin: "o", serial: "0123456789abcdef", reason: "\xff"},
	} {
		if _, err := encodeCommand(cc); !errors.Is(err, errBadCommand) {
			t.Errorf("encode %s: err = %v, want errBadCommand", name, err)
		}
	}
	for name, bad := range map[string][]byte{
		"as version 4": append([]byte{commandVersion4}, b[1:]...),
		"trailing":     append(append([]byte(nil), b...), 0),
		"no reason":    b[:len(b)-len(c.reason)-1],
		"version 6":    append([]byte{6}, b[1:]...),
	} {
		if _, err := decodeCommand(bad); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
}
