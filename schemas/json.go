package schemas

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jvalue is a parsed JSON value that keeps numbers as text, so that
// canonicality can be checked exactly. Object members are sorted by key.
type jvalue struct {
	kind byte // '{', '[', '"', '0' (number), 't', 'f', 'n'
	str  string
	arr  []*jvalue
	obj  []member
}

type member struct {
	key string
	val *jvalue
}

func (v *jvalue) member(key string) *jvalue {
	for _, m := range v.obj {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

const maxDepth = 32

// parseJSON parses exactly one JSON value (RFC 8259; surrounding whitespace
// allowed), sorting object members and rejecting duplicate keys, numbers
// that are not integers, invalid UTF-8, nesting deeper than maxDepth and
// trailing data. Errors are *DecodeError naming the JSON path.
func parseJSON(b []byte) (*jvalue, error) {
	if !utf8.Valid(b) {
		return nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	p := &parser{b: b}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(b) {
		return nil, &DecodeError{Reason: fmt.Sprintf("trailing data after the record at byte %d", p.i)}
	}
	return v, nil
}

type parser struct {
	b    []byte
	i    int
	path []string // segments: keys, or "[n]" for array elements
}

func (p *parser) fail(format string, args ...any) *DecodeError {
	var sb strings.Builder
	for _, s := range p.path {
		if sb.Len() > 0 && !strings.HasPrefix(s, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(s)
	}
	return &DecodeError{Field: sb.String(), Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*jvalue, error) {
	if depth > maxDepth {
		return nil, p.fail("nested deeper than %d levels", maxDepth)
	}
	if p.i >= len(p.b) {
		return nil, p.fail("invalid JSON: unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jvalue{kind: '"', str: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range [...]struct {
			text string
			kind byte
		}{{"true", 't'}, {"false", 'f'}, {"null", 'n'}} {
			if strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+5)]), lit.text) {
				p.i += len(lit.text)
				return &jvalue{kind: lit.kind}, nil
			}
		}
		return nil, p.fail("invalid JSON: unexpected character %q at byte %d", c, p.i)
	}
}

func (p *parser) object(depth int) (*jvalue, error) {
	p.i++ // '{'
	v := &jvalue{kind: '{'}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("invalid JSON: object key expected at byte %d", p.i)
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("invalid JSON: ':' expected at byte %d", p.i)
		}
		p.i++
		p.ws()
		p.path = append(p.path, key)
		mv, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.obj = append(v.obj, member{key, mv})
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.fail("invalid JSON: unexpected end of input in object")
		}
		if p.b[p.i] == '}' {
			p.i++
			break
		}
		if p.b[p.i] != ',' {
			return nil, p.fail("invalid JSON: ',' or '}' expected at byte %d", p.i)
		}
		p.i++
	}
	if !slices.IsSortedFunc(v.obj, cmpMember) {
		slices.SortStableFunc(v.obj, cmpMember)
	}
	for i := 1; i < len(v.obj); i++ {
		if v.obj[i].key == v.obj[i-1].key {
			p.path = append(p.path, v.obj[i].key)
			return nil, p.fail("duplicate key")
		}
	}
	return v, nil
}

func cmpMember(a, b member) int { return strings.Compare(a.key, b.key) }

func (p *parser) array(depth int) (*jvalue, error) {
	p.i++ // '['
	v := &jvalue{kind: '['}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v, nil
	}
	for n := 0; ; n++ {
		p.ws()
		p.path = append(p.path, "["+strconv.Itoa(n)+"]")
		ev, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.arr = append(v.arr, ev)
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.fail("invalid JSON: unexpected end of input in array")
		}
		if p.b[p.i] == ']' {
			p.i++
			return v, nil
		}
		if p.b[p.i] != ',' {
			return nil, p.fail("invalid JSON: ',' or ']' expected at byte %d", p.i)
		}
		p.i++
	}
}

// str parses a string starting at the opening quote. Invalid \u surrogates
// become U+FFFD, as in encoding/json.
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' {
			return p.strSlow(start)
		}
		if c < 0x20 {
			return "", p.fail("invalid JSON: control character in string at byte %d", p.i)
		}
		p.i++
	}
	return "", p.fail("invalid JSON: unterminated string")
}

func (p *parser) strSlow(start int) (string, error) {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("invalid JSON: control character in string at byte %d", p.i)
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("invalid JSON: bad \\u escape at byte %d", p.i)
			}
			if utf16.IsSurrogate(r) {
				save := p.i
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					if r2, ok := p.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
					}
				}
				p.i = save
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("invalid JSON: bad escape \\%c at byte %d", e, p.i-1)
		}
	}
	return "", p.fail("invalid JSON: unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// number parses a JSON number and accepts only integers in canonical form.
func (p *parser) number() (*jvalue, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	intPart := p.b[digits:p.i]
	switch {
	case len(intPart) == 0:
		return nil, p.fail("invalid JSON: digit expected at byte %d", p.i)
	case len(intPart) > 1 && intPart[0] == '0':
		return nil, p.fail("invalid JSON: number %s has a leading zero", p.b[start:p.i])
	}
	isInt := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		isInt = false
		p.i++
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		isInt = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
	}
	text := string(p.b[start:p.i])
	if !isInt || text == "-0" {
		return nil, p.fail("number %s is not an integer in canonical form (no fraction, exponent or -0)", text)
	}
	return &jvalue{kind: '0', str: text}, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// appendTo appends the canonical encoding of v (members already sorted).
func (v *jvalue) appendTo(b []byte) []byte {
	switch v.kind {
	case '{':
		b = append(b, '{')
		for i, m := range v.obj {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.key)
			b = append(b, ':')
			b = m.val.appendTo(b)
		}
		return append(b, '}')
	case '[':
		b = append(b, '[')
		for i, e := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendTo(b)
		}
		return append(b, ']')
	case '"':
		return appendString(b, v.str)
	case '0':
		return append(b, v.str...)
	case 't':
		return append(b, "true"...)
	case 'f':
		return append(b, "false"...)
	default:
		return append(b, "null"...)
	}
}

// appendString escapes s as encoding/json does with SetEscapeHTML(false).
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
