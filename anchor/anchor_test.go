package anchor_test

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/anchor"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tree is an RFC 6962 tree of n synthetic leaves, built with x/mod's tlog.
type tree struct{ hashes []tlog.Hash }

func newTree(t testing.TB, n int, salt string) *tree {
	tr := &tree{}
	for i := 0; i < n; i++ {
		hs, err := tlog.StoredHashes(int64(i), []byte(fmt.Sprintf("%s entry %d", salt, i)), tr)
		if err != nil {
			t.Fatal(err)
		}
		tr.hashes = append(tr.hashes, hs...)
	}
	return tr
}

func (tr *tree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = tr.hashes[x]
	}
	return out, nil
}

func (tr *tree) anchor(t testing.TB, n int64) anchor.Anchor {
	h, err := tlog.TreeHash(n, tr)
	if err != nil {
		t.Fatal(err)
	}
	return anchor.Anchor{Member: "330000", Size: uint64(n), Root: h}
}

func (tr *tree) proof(t testing.TB, n, old int64) tlog.TreeProof {
	p, err := tlog.ProveTree(n, old, tr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// flip returns p with bit of hash i inverted.
func flip(p tlog.TreeProof, i, bit int) tlog.TreeProof {
	q := slices.Clone(p)
	q[i][bit/8] ^= 1 << (bit % 8)
	return q
}

func TestPut(t *testing.T) {
	good := newTree(t, 40, "good")
	fork := newTree(t, 40, "fork") // another history
	st := anchor.MapState{}
	steps := []struct {
		name    string
		a       anchor.Anchor
		proof   tlog.TreeProof
		wrote   bool
		wantErr any // nil, *RollbackError, *ConflictError, *FieldError (with the field)
	}{
		{"first anchor needs no proof", good.anchor(t, 10), nil, true, nil},
		{"same again is a no-op", good.anchor(t, 10), nil, false, nil},
		{"same again with a needless proof is a no-op", good.anchor(t, 10), good.proof(t, 20, 10), false, nil},
		{"extension with proof", good.anchor(t, 20), good.proof(t, 20, 10), true, nil},
		{"extension without proof", good.anchor(t, 30), nil, false, &anchor.ConflictError{}},
		{"extension with a bit-flipped proof", good.anchor(t, 30), flip(good.proof(t, 30, 20), 0, 7), false, &anchor.ConflictError{}},
		{"extension with a proof from another old size", good.anchor(t, 30), good.proof(t, 30, 10), false, &anchor.ConflictError{}},
		{"extension with a truncated proof", good.anchor(t, 30), good.proof(t, 30, 20)[1:], false, &anchor.ConflictError{}},
		{"fork at a larger size, its own proof", fork.anchor(t, 30), fork.proof(t, 30, 20), false, &anchor.ConflictError{}},
		{"fork at the latest size", fork.anchor(t, 20), nil, false, &anchor.ConflictError{}},
		{"rollback below latest", good.anchor(t, 15), nil, false, &anchor.RollbackError{}},
		{"older anchored size again is a no-op", good.anchor(t, 10), nil, false, nil},
		{"fork at an older anchored size", fork.anchor(t, 10), nil, false, &anchor.ConflictError{}},
		{"bad member", anchor.Anchor{Member: "33000", Size: 40}, nil, false, &anchor.FieldError{Field: "member"}},
		{"member with a leading zero", anchor.Anchor{Member: "033000", Size: 40}, nil, false, &anchor.FieldError{Field: "member"}},
		{"empty tree", anchor.Anchor{Member: "330000", Size: 0}, nil, false, &anchor.FieldError{Field: "size"}},
		{"further extension", good.anchor(t, 40), good.proof(t, 40, 20), true, nil},
	}
	for _, s := range steps {
		snapshot := fmt.Sprint(st)
		wrote, err := anchor.Put(st, s.a, s.proof)
		if wrote != s.wrote {
			t.Errorf("%s: wrote = %v, want %v", s.name, wrote, s.wrote)
		}
		switch want := s.wantErr.(type) {
		case nil:
			if err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		case *anchor.RollbackError:
			if !errors.As(err, &want) || want.Offered != s.a {
				t.Errorf("%s: err = %v, want a RollbackError carrying the offered anchor", s.name, err)
			}
		case *anchor.ConflictError:
			if !errors.As(err, &want) || want.Offered != s.a || want.Existing.Member != s.a.Member {
				t.Errorf("%s: err = %v, want a ConflictError carrying both anchors", s.name, err)
			}
		case *anchor.FieldError:
			field := want.Field
			if !errors.As(err, &want) || want.Field != field {
				t.Errorf("%s: err = %v, want a FieldError on %s", s.name, err, field)
			}
		}
		if err != nil && fmt.Sprint(st) != snapshot {
			t.Errorf("%s: refused, but the state changed", s.name)
		}
	}
	l, err := anchor.Latest(st, "330000")
	if err != nil || l != good.anchor(t, 40) {
		t.Fatalf("Latest = %+v, %v; want the size-40 anchor", l, err)
	}
	for _, n := range []uint64{10, 20, 40} {
		if a, err := anchor.Get(st, "330000", n); err != nil || a != good.anchor(t, int64(n)) {
			t.Errorf("Get(%d) = %+v, %v", n, a, err)
		}
	}
	if _, err := anchor.Get(st, "330000", 30); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("Get(30) = %v, want ErrNotFound", err)
	}
	if _, err := anchor.Latest(st, "310000"); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("Latest(310000) = %v, want ErrNotFound", err)
	}
}

// TestPutEveryProofBitFlip: for small trees, every consistency proof
// tlog.ProveTree makes is accepted, and flipping any bit of any of its
// hashes makes Put refuse it.
func TestPutEveryProofBitFlip(t *testing.T) {
	tr := newTree(t, 12, "small")
	for old := int64(1); old < 12; old++ {
		for n := old + 1; n <= 12; n++ {
			p := tr.proof(t, n, old)
			for i := range p {
				for bit := 0; bit < 256; bit += 37 {
					st := anchor.MapState{}
					if _, err := anchor.Put(st, tr.anchor(t, old), nil); err != nil {
						t.Fatal(err)
					}
					var ce *anchor.ConflictError
					if _, err := anchor.Put(st, tr.anchor(t, n), flip(p, i, bit)); !errors.As(err, &ce) {
						t.Fatalf("%d->%d: hash %d bit %d flipped: err = %v, want a ConflictError", old, n, i, bit, err)
					}
				}
			}
			st := anchor.MapState{}
			anchor.Put(st, tr.anchor(t, old), nil)
			if wrote, err := anchor.Put(st, tr.anchor(t, n), p); err != nil || !wrote {
				t.Fatalf("%d->%d: valid proof: %v, %v", old, n, wrote, err)
			}
		}
	}
}

// failState fails every Put after the first n.
type failState struct {
	anchor.MapState
	n int
}

var errDisk = errors.New("disk on fire")

func (f *failState) Put(k string, v []byte) error {
	if f.n == 0 {
		return errDisk
	}
	f.n--
	return f.MapState.Put(k, v)
}

func TestPutStateError(t *testing.T) {
	tr := newTree(t, 4, "x")
	st := &failState{MapState: anchor.MapState{}}
	if _, err := anchor.Put(st, tr.anchor(t, 4), nil); !errors.Is(err, errDisk) {
		t.Fatalf("Put on a failing state: %v, want the state's error wrapped", err)
	}
}

func TestCosigHash(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "creditx.330000/ledger")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	var wkeys []note.Signer
	for _, w := range []string{"creditx.310000/witness", "creditx.320000/witness"} {
		k, _, _ := note.GenerateKey(rand.Reader, w)
		s, _ := note.NewSigner(k)
		wkeys = append(wkeys, s)
	}
	text := "creditx.330000/ledger\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	open := func(signers ...note.Signer) [32]byte {
		signed, err := note.Sign(&note.Note{Text: text}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(signed, note.VerifierList(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return anchor.CosigHash(n, verifier)
	}
	plain := open(signer)
	both := open(signer, wkeys[0], wkeys[1])
	reversed := open(signer, wkeys[1], wkeys[0])
	one := open(signer, wkeys[0])
	if both != reversed {
		t.Error("cosignature hash depends on the order of the lines")
	}
	if both == one || one == plain || both == plain {
		t.Error("cosignature hash does not change with the cosignatures")
	}
	if plain != sha256.Sum256([]byte(anchor.CosigDomain+"\n")) {
		t.Error("a checkpoint without cosignatures does not hash to the domain line alone")
	}
}

func TestParseRefuses(t *testing.T) {
	good := string(anchor.Anchor{Member: "330000", Size: 5, CosigHash: [32]byte{0xff}}.Encode())
	for _, tc := range []struct{ name, in, field string }{
		{"version", strings.Replace(good, "/v1", "/v2", 1), "version"},
		{"member", strings.Replace(good, "330000", "030000", 1), "member"},
		{"leading zero size", strings.Replace(good, "\n5\n", "\n05\n", 1), "size"},
		{"negative size", strings.Replace(good, "\n5\n", "\n-5\n", 1), "size"},
		{"short root", strings.Replace(good, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAA", 1), "root"},
		{"unpadded root", strings.Replace(good, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1), "root"},
		{"url-safe cosig", strings.Replace(good, "\n/w", "\n_w", 1), "cosig"},
		{"size over 64 bits", strings.Replace(good, "\n5\n", "\n18446744073709551616\n", 1), "size"},
		{"too long", good + strings.Repeat("x", 300), "anchor"},
		{"no final newline", strings.TrimSuffix(good, "\n"), "anchor"},
		{"extra line", good + "x\n", "anchor"},
		{"crlf", strings.ReplaceAll(good, "\n", "\r\n"), "version"},
	} {
		_, err := anchor.Parse([]byte(tc.in))
		var fe *anchor.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err = %v, want a FieldError on %q", tc.name, err, tc.field)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(anchor.Anchor{Member: "330000", Size: 5}.Encode())
	f.Add(anchor.Anchor{Member: "310000", Size: 1 << 40, Root: tlog.Hash{1, 2, 3}, CosigHash: [32]byte{9}}.Encode())
	f.Add([]byte("creditx-anchor/v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := anchor.Parse(b)
		if err != nil {
			var fe *anchor.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			return
		}
		if got := a.Encode(); string(got) != string(b) {
			t.Fatalf("Parse accepted %q, which encodes back as %q", b, got)
		}
	})
}

func ExamplePut() {
	st := anchor.MapState{}
	a := anchor.Anchor{Member: "330000", Size: 1, Root: tlog.RecordHash([]byte("first entry"))}
	wrote, err := anchor.Put(st, a, nil)
	fmt.Println(wrote, err)
	wrote, err = anchor.Put(st, a, nil)
	fmt.Println(wrote, err)
	_, err = anchor.Put(st, anchor.Anchor{Member: "330000", Size: 1, Root: tlog.RecordHash([]byte("another"))}, nil)
	fmt.Println(err)
	// Output:
	// true <nil>
	// false <nil>
	// anchor: member 330000: size 1 conflicts with the anchor at size 1: different root at the same size
}
