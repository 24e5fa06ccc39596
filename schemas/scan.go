package schemas

import (
	"bytes"
	"unicode/utf8"
)

// canonScanner checks in one pass, without building a tree, that bytes are
// canonical JSON: exactly what appendTo writes for the value parseJSON
// returns. It is the fast path of ParseSigned and of the json.RawMessage
// fields of records; where it says no, the caller falls back to parseJSON,
// which finds out what is wrong and reports it. So the scanner only has to be
// sound (never accept what parseJSON-then-appendTo would not reproduce); it is
// also complete, which keeps canonical input on the fast path
// (FuzzCanonicalScanner checks both directions).
//
// Canonical means, as Encode documents: no whitespace; object keys strictly
// increasing in byte order of their decoded text (so no duplicates); strings
// valid UTF-8 with exactly the escapes \" \\ \n \r \t, \u00xx (lower-case
// hex) for the other control characters, \u2028 and \u2029, and nothing
// else escaped; numbers -?(0|[1-9][0-9]*) except -0; true, false, null;
// nesting at most maxDepth.
type canonScanner struct {
	b         []byte
	i         int
	topSchema bool // the object at depth 0 has a member "schema" with a string value
}

// isCanonical reports whether b is exactly one canonical JSON value whose
// outermost level sits at nesting depth depth (0 for a whole record).
func isCanonical(b []byte, depth int) bool {
	s := canonScanner{b: b}
	return s.value(depth) && s.i == len(b)
}

// isCanonicalRecord reports whether b is a canonical JSON object with a
// member "schema" whose value is a string: what ParseSigned accepts as the
// record of an entry.
func isCanonicalRecord(b []byte) bool {
	s := canonScanner{b: b}
	return len(b) > 0 && b[0] == '{' && s.value(0) && s.i == len(b) && s.topSchema
}

// canonicalLen returns the length of the canonical JSON value at the start of
// b (nesting depth depth), or 0 if there is none.
func canonicalLen(b []byte, depth int) int {
	s := canonScanner{b: b}
	if !s.value(depth) {
		return 0
	}
	return s.i
}

func (s *canonScanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *canonScanner) value(depth int) bool {
	if depth > maxDepth || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object(depth)
	case '[':
		return s.array(depth)
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

func (s *canonScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *canonScanner) object(depth int) bool {
	s.i++ // '{'
	if s.next('}') {
		return true
	}
	var prev []byte
	for n := 0; ; n++ {
		start := s.i
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		escaped, ok := s.str()
		if !ok {
			return false
		}
		key := s.b[start+1 : s.i-1]
		if escaped {
			key = unescapeCanonical(key)
		}
		if n > 0 && bytes.Compare(prev, key) >= 0 {
			return false // out of order or duplicate
		}
		prev = key
		if !s.next(':') {
			return false
		}
		if depth == 0 && string(key) == "schema" && s.i < len(s.b) && s.b[s.i] == '"' {
			s.topSchema = true
		}
		if !s.value(depth + 1) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

func (s *canonScanner) array(depth int) bool {
	s.i++ // '['
	if s.next(']') {
		return true
	}
	for {
		if !s.value(depth + 1) {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// str checks the canonical string starting at the opening quote at s.i and
// moves past its closing quote. escaped reports whether it has escapes.
func (s *canonScanner) str() (escaped, ok bool) {
	s.i++ // opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			n := canonEscapeLen(s.b[s.i:])
			if n == 0 {
				return false, false
			}
			escaped = true
			s.i += n
		case c < 0x20:
			return false, false
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return false, false
			}
			s.i += size
		}
	}
	return false, false
}

// canonEscapeLen returns the length of the escape sequence at the start of b
// (b[0] == '\\') if it is one appendString writes, or 0.
func canonEscapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		if b[2] == '2' && b[3] == '0' && b[4] == '2' && (b[5] == '8' || b[5] == '9') {
			return 6
		}
		hi, lo := b[4], b[5]
		if b[2] != '0' || b[3] != '0' || (hi != '0' && hi != '1') || !(lo >= '0' && lo <= '9' || lo >= 'a' && lo <= 'f') {
			return 0
		}
		switch c := hexVal(hi)<<4 | hexVal(lo); c {
		case '\n', '\r', '\t':
			return 0 // written as \n, \r, \t
		}
		return 6
	}
	return 0
}

func hexVal(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// unescapeCanonical returns the text of a string body that passed str: only
// the escapes canonEscapeLen accepts occur in it.
func unescapeCanonical(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if b[i+2] == '2' {
				out = utf8.AppendRune(out, rune(0x2020+int(hexVal(b[i+5]))))
			} else {
				out = append(out, hexVal(b[i+4])<<4|hexVal(b[i+5]))
			}
			i += 6
			continue
		default: // '"' or '\\'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return out
}

// number checks a canonical integer: -?(0|[1-9][0-9]*), not -0. Whatever
// follows (a fraction, an exponent, another digit after 0) is left for the
// caller, which rejects it as it expects , } ] or the end.
func (s *canonScanner) number() bool {
	neg := s.next('-')
	if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
		return !neg
	}
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return true
}
