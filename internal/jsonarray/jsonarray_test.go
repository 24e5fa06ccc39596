package jsonarray

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	good := map[string][]string{
		`[{"a":1}]`: {`{"a":1}`},
		" [ {\"a\":\"}\\\"]\"} ,\n{\"b\":[{}]} ] ": {`{"a":"}\"]"}`, `{"b":[{}]}`},
		`[]`: nil,
	}
	for in, want := range good {
		got, err := Split([]byte(in), math.MaxInt)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%q: %q, %v; want %q", in, got, err, want)
		}
		for i := range want {
			if string(got[i]) != want[i] {
				t.Errorf("%q: element %d = %q, want %q", in, i, got[i], want[i])
			}
		}
	}
	for _, in := range []string{``, `{}`, `[{}`, `[{},]`, `[{}]x`, `[1]`, `[{"a":"}]`, `[{]}]`, `[{} {}]`} {
		if _, err := Split([]byte(in), math.MaxInt); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q accepted (err %v)", in, err)
		}
	}
}

// TestSplitLimit: the splitter stops at the first object over its
// limit, whatever follows.
func TestSplitLimit(t *testing.T) {
	if got, err := Split([]byte(`[{},{},{}]`), 3); err != nil || len(got) != 3 {
		t.Fatalf("3 objects, limit 3: %d, %v", len(got), err)
	}
	for _, in := range []string{`[{},{},{},{}]`, `[{},{},{},{}`, "[" + strings.Repeat("{},", 1<<20) + "garbage"} {
		if _, err := Split([]byte(in), 3); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%.20q, limit 3: err %v, want ErrTooLarge", in, err)
		}
	}
	// The result slice stays bounded for a body of millions of objects.
	body := []byte("[" + strings.TrimSuffix(strings.Repeat("{},", 2_000_000), ",") + "]")
	if n := testing.AllocsPerRun(3, func() { Split(body, 1000) }); n > 20 {
		t.Errorf("%v allocations splitting 2 million objects with limit 1000", n)
	}
}

// FuzzSplit: whenever encoding/json reads the body as an array of
// objects, the splitter returns exactly the same elements.
func FuzzSplit(f *testing.F) {
	f.Add([]byte(`[{"key":"k","record":{"a":"x\"y"},"sig":"s"}, {"b":[1,{"c":"]"}]}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Split(b, math.MaxInt)
		var raw []json.RawMessage
		if json.Unmarshal(b, &raw) != nil {
			return
		}
		for _, r := range raw {
			if len(r) == 0 || r[0] != '{' {
				return // not an array of objects: the splitter may refuse
			}
		}
		if err != nil {
			t.Fatalf("valid array of objects refused: %v", err)
		}
		if len(got) != len(raw) {
			t.Fatalf("%d elements, encoding/json found %d", len(got), len(raw))
		}
		for i := range raw {
			if !bytes.Equal(got[i], raw[i]) {
				t.Fatalf("element %d: %q vs %q", i, got[i], raw[i])
			}
		}
	})
}
