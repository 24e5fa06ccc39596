package schemas

import (
	"bytes"
	"strings"
	"testing"
)

// canonicalByParsing is the definition isCanonical implements: parseJSON
// accepts b and appendTo reproduces it.
func canonicalByParsing(b []byte) (v *jvalue, ok bool) {
	v, err := parseJSON(b)
	return v, err == nil && bytes.Equal(v.appendTo(nil), b)
}

func TestIsCanonical(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{`[]`, true},
		{`{"a":1,"b":[true,false,null,-7,0,"x"]}`, true},
		{`{"":1,"a":2}`, true},
		{`{"a":1,"a":2}`, false},           // duplicate
		{`{"b":1,"a":2}`, false},           // unsorted
		{`{"a":1, "b":2}`, false},          // whitespace
		{` {}`, false},                     // leading whitespace
		{`{}` + "\n", false},               // trailing newline
		{`{}{}`, false},                    // trailing data
		{`{"a":01}`, false},                // leading zero
		{`{"a":-0}`, false},                // -0
		{`{"a":1.0}`, false},               // fraction
		{`{"a":1e3}`, false},               // exponent
		{`{"a":-}`, false},                 // bare minus
		{`{"a":tru}`, false},               // short literal
		{`{"a":True}`, false},              // wrong literal
		{`"\"\\\n\r\t\u0000\u001f"`, true}, // every escape appendString writes
		{`"\u2028\u2029"`, true},
		{`"\/"`, false},     // escaped slash
		{`"\b"`, false},     // written as \u0008
		{`"\u0008"`, true},  // ...like this
		{`"\u000a"`, false}, // written as \n
		{`"\u001F"`, false}, // upper-case hex
		{`"\u0041"`, false}, // escaped ASCII
		{`"\u003c"`, false}, // HTML escape
		{`"\ufffd"`, false}, // written literally
		{"\"\ufffd\"", true},
		{"\"\u2028\"", false}, // written escaped
		{"\"\x7f<>&/\"", true},
		{"\"\xff\"", false},       // invalid UTF-8
		{"\"\xe4\xb8\"", false},   // truncated rune
		{"\"\x01\"", false},       // raw control character
		{`"abc`, false},           // unterminated
		{`"\u20`, false},          // short escape
		{`{"\n":1,"a":2}`, true},  // keys compare decoded: "\n" < "a"
		{`{"\\":1,"a":2}`, true},  // "\\" is 0x5c < "a"
		{`{"a":1,"\\":2}`, false}, // ...so this is out of order
		{`{"\"":1,"!":2}`, false}, // '"' (0x22) > '!' (0x21)
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), true},
		{strings.Repeat("[", 34) + strings.Repeat("]", 34), false}, // deeper than maxDepth
		{``, false},
	}
	for _, tt := range tests {
		got := isCanonical([]byte(tt.in), 0)
		if got != tt.want {
			t.Errorf("isCanonical(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if _, ref := canonicalByParsing([]byte(tt.in)); ref != tt.want {
			t.Errorf("test case %q is wrong: parseJSON and appendTo say %v", tt.in, ref)
		}
	}
}

func TestIsCanonicalRecord(t *testing.T) {
	for in, want := range map[string]bool{
		`{"schema":"x"}`:                  true,
		`{"a":{"schema":1},"schema":"x"}`: true,
		`{"schema":1}`:                    false,
		`{"a":{"schema":"x"}}`:            false, // not at the top level
		`["schema"]`:                      false,
		`"schema"`:                        false,
		`{"schema":"x","schema":"x"}`:     false,
	} {
		if got := isCanonicalRecord([]byte(in)); got != want {
			t.Errorf("isCanonicalRecord(%s) = %v, want %v", in, got, want)
		}
	}
}

// FuzzCanonicalScanner checks that the scanner accepts exactly the bytes
// that parseJSON accepts and appendTo reproduces, and that canonicalLen
// finds the end of a canonical value followed by more data.
func FuzzCanonicalScanner(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2,true,false,null,"\u2028\n"],"b":{}}`, `{"\n":1,"a":2}`, `"\u001f"`, `-0`, `[[[[]]]]`} {
		f.Add([]byte(s))
	}
	for _, r := range allSamples()[:3] {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, want := canonicalByParsing(b)
		if got := isCanonical(b, 0); got != want {
			t.Fatalf("isCanonical(%q) = %v, parseJSON and appendTo say %v", b, got, want)
		}
		wantRecord := want && v.kind == '{' && v.member("schema") != nil && v.member("schema").kind == '"'
		if got := isCanonicalRecord(b); got != wantRecord {
			t.Fatalf("isCanonicalRecord(%q) = %v, want %v", b, got, wantRecord)
		}
		if want {
			if n := canonicalLen(append(bytes.Clone(b), ",1"...), 0); n != len(b) {
				t.Fatalf("canonicalLen(%q + ,1) = %d, want %d", b, n, len(b))
			}
		}
	})
}
