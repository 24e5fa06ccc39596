package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestSplitObjects(t *testing.T) {
	good := map[string][]string{
		`[{"a":1}]`: {`{"a":1}`},
		" [ {\"a\":\"}\\\"]\"} ,\n{\"b\":[{}]} ] ": {`{"a":"}\"]"}`, `{"b":[{}]}`},
		`[]`: nil,
	}
	for in, want := range good {
		got, err := splitObjects([]byte(in))
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
		if _, err := splitObjects([]byte(in)); !errors.Is(err, errBatchSyntax) {
			t.Errorf("%q accepted (err %v)", in, err)
		}
	}
}

// FuzzSplitObjects: whenever encoding/json reads the body as an array of
// objects, the splitter returns exactly the same elements.
func FuzzSplitObjects(f *testing.F) {
	f.Add([]byte(`[{"key":"k","record":{"a":"x\"y"},"sig":"s"}, {"b":[1,{"c":"]"}]}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := splitObjects(b)
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
