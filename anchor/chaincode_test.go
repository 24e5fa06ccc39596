package anchor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/anchor"
)

func TestInvoke(t *testing.T) {
	good := newTree(t, 16, "good")
	fork := newTree(t, 16, "fork")
	st := anchor.MapState{}
	a8, a16 := good.anchor(t, 8), good.anchor(t, 16)
	b := func(s string) []byte { return []byte(s) }
	steps := []struct {
		name string
		fn   string
		args [][]byte
		want string // result, or "error: <substring>"
	}{
		{"latest before anything is empty", anchor.TxLatest, [][]byte{b("330000")}, ""},
		{"put first", anchor.TxPut, [][]byte{a8.Encode(), nil}, "written"},
		{"put again", anchor.TxPut, [][]byte{a8.Encode(), nil}, "unchanged"},
		{"extend", anchor.TxPut, [][]byte{a16.Encode(), anchor.EncodeProof(good.proof(t, 16, 8))}, "written"},
		{"get 8", anchor.TxGet, [][]byte{b("330000"), b("8")}, string(a8.Encode())},
		{"get 12 is empty", anchor.TxGet, [][]byte{b("330000"), b("12")}, ""},
		{"latest", anchor.TxLatest, [][]byte{b("330000")}, string(a16.Encode())},
		{"rollback", anchor.TxPut, [][]byte{good.anchor(t, 12).Encode(), nil}, "error: rollback refused"},
		{"conflicting root", anchor.TxPut, [][]byte{fork.anchor(t, 16).Encode(), nil}, "error: different root at the same size"},
		{"bad consistency proof", anchor.TxPut, [][]byte{fork.anchor(t, 12).Encode(), anchor.EncodeProof(fork.proof(t, 12, 8))}, "error: rollback refused"},
		{"proof not of whole hashes", anchor.TxPut, [][]byte{a16.Encode(), b("short")}, "error: anchor: proof: 5 bytes"},
		{"malformed anchor", anchor.TxPut, [][]byte{b("x\n"), nil}, "error: 1 lines, want 5"},
		{"malformed member in anchor", anchor.TxPut, [][]byte{[]byte(strings.Replace(string(a16.Encode()), "330000", "33000x", 1)), nil}, "error: anchor: member: \"33000x\""},
		{"missing args", anchor.TxPut, [][]byte{a16.Encode()}, "error: anchor: args: PutAnchor takes 2 arguments"},
		{"bad size", anchor.TxGet, [][]byte{b("330000"), b("eight")}, "error: anchor: size: \"eight\""},
		{"size with leading zero", anchor.TxGet, [][]byte{b("330000"), b("08")}, "error: anchor: size"},
		{"bad member in query", anchor.TxLatest, [][]byte{b("../x")}, "error: anchor: member"},
		{"latest with 2 args", anchor.TxLatest, [][]byte{b("330000"), b("1")}, "error: anchor: args"},
		{"unknown", "DeleteAnchor", nil, "error: anchor: function: unknown transaction"},
	}
	for _, s := range steps {
		res, err := anchor.Invoke(st, s.fn, s.args)
		if want, isErr := strings.CutPrefix(s.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %v, want one containing %q", s.name, err, want)
			}
			continue
		}
		if err != nil || string(res) != s.want {
			t.Errorf("%s: %q, %v; want %q", s.name, res, err, s.want)
		}
	}
}

func TestParseResults(t *testing.T) {
	a := anchor.Anchor{Member: "330000", Size: 9}
	if _, err := anchor.ParseQueryResult(nil, "330000", 9); !errors.Is(err, anchor.ErrNotFound) {
		t.Errorf("empty result: %v, want ErrNotFound", err)
	}
	if got, err := anchor.ParseQueryResult(a.Encode(), "330000", 9); err != nil || got != a {
		t.Errorf("matching result: %+v, %v", got, err)
	}
	var fe *anchor.FieldError
	if _, err := anchor.ParseQueryResult(a.Encode(), "310000", 0); !errors.As(err, &fe) || fe.Field != "member" {
		t.Errorf("another member's anchor accepted: %v", err)
	}
	if _, err := anchor.ParseQueryResult(a.Encode(), "330000", 8); !errors.As(err, &fe) {
		t.Errorf("an anchor of another size accepted: %v", err)
	}
	for in, want := range map[string]bool{"written": true, "unchanged": false} {
		if got, err := anchor.ParsePutResult([]byte(in)); err != nil || got != want {
			t.Errorf("ParsePutResult(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := anchor.ParsePutResult([]byte("ok")); !errors.As(err, &fe) || fe.Field != "result" {
		t.Errorf("ParsePutResult(ok): %v", err)
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	tr := newTree(t, 20, "m")
	m := anchor.NewMemory()
	if _, err := m.Latest(ctx, "330000"); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("Latest on empty: %v", err)
	}
	if w, err := m.Put(ctx, tr.anchor(t, 10), nil); err != nil || !w {
		t.Fatalf("Put: %v %v", w, err)
	}
	if w, err := m.Put(ctx, tr.anchor(t, 20), tr.proof(t, 20, 10)); err != nil || !w {
		t.Fatalf("Put extension: %v %v", w, err)
	}
	var re *anchor.RollbackError
	if _, err := m.Put(ctx, tr.anchor(t, 15), nil); !errors.As(err, &re) {
		t.Fatalf("rollback through Memory: %v", err)
	}
	if a, err := m.Get(ctx, "330000", 10); err != nil || a != tr.anchor(t, 10) {
		t.Fatalf("Get: %+v %v", a, err)
	}
	if _, err := m.Get(ctx, "330000", 11); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("Get(11): %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Latest(cctx, "330000"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Latest: %v", err)
	}
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := anchor.ParseProof(b)
		if err != nil {
			var fe *anchor.FieldError
			if !errors.As(err, &fe) || fe.Field != "proof" {
				t.Fatalf("error %v is not a FieldError on proof", err)
			}
			return
		}
		if got := anchor.EncodeProof(p); string(got) != string(b) {
			t.Fatalf("round trip changed %x into %x", b, got)
		}
	})
}
