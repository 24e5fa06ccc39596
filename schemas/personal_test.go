package schemas

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func testMatchKey() MatchKey {
	var k MatchKey
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func TestMatchKey(t *testing.T) {
	k := testMatchKey()
	// Vector computed with Python's hmac module, independently of this code.
	const want = "h1:7f96ac12c253a79620359399f8cd1d4b166ddd6e0e2799b60fea2a7140e4fafd"
	if got := k.HashID("11010519491231002X"); got != want {
		t.Errorf("HashID = %s, want %s", got, want)
	}
	if got := k.HashID(" 11010519491231002x"); got != want {
		t.Errorf("HashID does not normalize: %s", got)
	}
	if !IsIDHash(want) || IsIDHash(strings.ToUpper(want)) || IsIDHash(want[:60]) || IsIDHash("h2:"+want[3:]) {
		t.Error("IsIDHash wrong")
	}
	k2, err := ParseMatchKey(k.String())
	if err != nil || k2 != k {
		t.Fatalf("ParseMatchKey(String()) = %v, %v", k2, err)
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 64), strings.Repeat("0", 66)} {
		if _, err := ParseMatchKey(bad); err == nil {
			t.Errorf("ParseMatchKey(%q) accepted", bad)
		}
	}
}

func TestSealPerson(t *testing.T) {
	k := testMatchKey()
	p, dk, err := SealPerson(k, "11010519491231002x", "张三丰", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if p.IDHash != k.HashID("11010519491231002X") || p.IDMasked != "11***************X" || p.NameMasked != "张**" {
		t.Errorf("person = %+v", p)
	}
	if strings.Contains(p.Sealed, "11010519491231002X") || strings.Contains(p.Sealed, "张三丰") {
		t.Error("plaintext in sealed payload")
	}
	id, name, err := OpenPerson(p, dk)
	if err != nil || id != "11010519491231002X" || name != "张三丰" {
		t.Fatalf("OpenPerson = %q %q %v", id, name, err)
	}
	// A destroyed (replaced) key opens nothing.
	var other DataKey
	if _, _, err := OpenPerson(p, other); !errors.Is(err, ErrSealed) {
		t.Errorf("wrong key: %v, want ErrSealed", err)
	}
	// The sealed blob is bound to its id hash.
	moved := p
	moved.IDHash = testHash
	if _, _, err := OpenPerson(moved, dk); !errors.Is(err, ErrSealed) {
		t.Errorf("moved blob: %v, want ErrSealed", err)
	}
	// Two seals of the same person use different keys and ciphertexts.
	p2, dk2, _ := SealPerson(k, "11010519491231002X", "张三丰", rand.Reader)
	if p2.Sealed == p.Sealed || dk2 == dk || p2.IDHash != p.IDHash {
		t.Error("seal not fresh per record, or hash not stable")
	}
	if err := NewValidator(nil).v.Struct(p); err != nil {
		t.Errorf("sealed person fails its own validation: %v", err)
	}
}

func TestSealPersonRejects(t *testing.T) {
	k := testMatchKey()
	tests := []struct{ id, name string }{
		{"110105194912310021", "张三"}, {"", "张三"}, {"11010519491231002X", ""}, {"11010519491231002X", "\xff"},
	}
	for _, tt := range tests {
		if _, _, err := SealPerson(k, tt.id, tt.name, rand.Reader); err == nil {
			t.Errorf("SealPerson(%q, %q) accepted", tt.id, tt.name)
		}
	}
	if _, _, err := SealPerson(k, "11010519491231002X", "张三", bytes.NewReader(nil)); err == nil {
		t.Error("SealPerson with an empty random source succeeded")
	}
}
