package exchange

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

func TestWrapMatchKey(t *testing.T) {
	var mk schemas.MatchKey
	rand.Read(mk[:])
	priv, req, err := NewMatchKeyRequest("330100")
	if err != nil {
		t.Fatal(err)
	}
	w, err := WrapMatchKey(req, mk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapMatchKey(priv, "330100", w)
	if err != nil || got != mk {
		t.Fatalf("unwrap: %v (same key %v)", err, got == mk)
	}
	// The city hashes a person exactly as the founder does.
	const id = "11010519491231002X"
	if got.HashID(id) != mk.HashID(id) {
		t.Fatal("person hashes differ")
	}
	// The private key round-trips through its file form.
	p2, err := ParseMatchRequestKey(MatchRequestKeyText(priv))
	if err != nil || !p2.Equal(priv) {
		t.Fatalf("request key file form: %v", err)
	}
	var we *MatchWrapError
	// Bound to the code: relabelling the wrapped key for another code fails
	// to open (the code is the HPKE info), asking for another code is refused.
	relabelled := strings.Replace(w, " 330100 ", " 320500 ", 1)
	if _, err := UnwrapMatchKey(priv, "320500", relabelled); !errors.As(err, &we) || we.Field != "wrapped" {
		t.Errorf("relabelled for another code: %v", err)
	}
	if _, err := UnwrapMatchKey(priv, "320500", w); !errors.As(err, &we) || we.Field != "code" {
		t.Errorf("asked for another code: %v", err)
	}
	// Another member's request key does not open it.
	other, _, _ := NewMatchKeyRequest("330100")
	if _, err := UnwrapMatchKey(other, "330100", w); !errors.As(err, &we) {
		t.Errorf("other key: %v", err)
	}
	// Two wraps of the same key differ (fresh encapsulation) and both open.
	w2, _ := WrapMatchKey(req, mk)
	if w2 == w {
		t.Error("two wraps are identical")
	}
	if _, _, err := ParseMatchKeyRequest("creditx-match-request/v1 330100 AAAA"); !errors.As(err, &we) {
		t.Errorf("short request key: %v", err)
	}
	if _, _, err := NewMatchKeyRequest("33010"); !errors.As(err, &we) || we.Field != "code" {
		t.Errorf("bad code: %v", err)
	}
}

// FuzzUnwrapMatchKey opens arbitrary wrapped texts: no panic, every failure
// is a *MatchWrapError, and only the genuine wrap yields the key.
func FuzzUnwrapMatchKey(f *testing.F) {
	var mk schemas.MatchKey
	rand.Read(mk[:])
	priv, req, err := NewMatchKeyRequest("330100")
	if err != nil {
		f.Fatal(err)
	}
	w, err := WrapMatchKey(req, mk)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add(strings.Replace(w, "A", "B", 1))
	f.Add("creditx-match-key/v1 330100 ")
	f.Add("creditx-match-key/v1 330100 AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := UnwrapMatchKey(priv, "330100", s)
		if err != nil {
			var we *MatchWrapError
			if !errors.As(err, &we) {
				t.Fatalf("error %T is not a *MatchWrapError", err)
			}
			return
		}
		if got != mk {
			t.Fatal("a text opened to a key that is not the wrapped one")
		}
	})
}
