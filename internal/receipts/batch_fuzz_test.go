package receipts

import (
	"bytes"
	"testing"
)

// FuzzSplitNDJSON: SplitNDJSON never panics; what it returns are the
// non-empty lines of the body, in order, none containing LF, at most max.
func FuzzSplitNDJSON(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"), 3)
	f.Add([]byte("\n\n{}\n\n"), 1)
	f.Add([]byte(""), 0)
	f.Add([]byte("x\r\ny"), 2)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		max = max%8 + 1
		if max < 1 {
			max += 8
		}
		out, aerr := SplitNDJSON(body, max)
		var want [][]byte
		for _, l := range bytes.Split(body, []byte{'\n'}) {
			if len(l) > 0 {
				want = append(want, l)
			}
		}
		switch {
		case len(want) == 0:
			if aerr == nil || aerr.Status != 400 {
				t.Fatalf("no lines: %v, want 400", aerr)
			}
		case len(want) > max:
			if aerr == nil || aerr.Status != 413 {
				t.Fatalf("%d lines > %d: %v, want 413", len(want), max, aerr)
			}
		default:
			if aerr != nil || len(out) != len(want) {
				t.Fatalf("%d lines: got %d, %v", len(want), len(out), aerr)
			}
			for i := range out {
				if !bytes.Equal(out[i], want[i]) || bytes.IndexByte(out[i], '\n') >= 0 {
					t.Fatalf("line %d: %q, want %q", i, out[i], want[i])
				}
			}
		}
	})
}
