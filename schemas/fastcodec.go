package schemas

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// encodeFast appends the canonical encoding of r to b following its plan. It
// reports false, leaving the work and the error message to the general path,
// for a record without a plan, a value the general path rejects (sub-second
// Time, Date with a time of day, json.RawMessage that is not canonical JSON),
// a nil pointer or slice that is written as null, and output over
// MaxRecordSize. Otherwise the bytes equal those of the general path
// (FuzzEncodeDifferential).
func encodeFast(b []byte, r Record) ([]byte, bool) {
	p, v := planFor(r)
	if p == nil {
		return b, false
	}
	start := len(b)
	b, ok := appendObject(b, p, v, r.SchemaID(), 0)
	return b, ok && len(b)-start <= MaxRecordSize
}

// bufPool holds scratch buffers for encodeFast, so that Encode allocates
// only its result and Decode nothing for its re-encoding check. It holds no
// state that changes behaviour.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// withBuffer calls f with an empty scratch buffer and recycles the buffer f
// returns.
func withBuffer(f func([]byte) []byte) {
	bp := bufPool.Get().(*[]byte)
	b := f((*bp)[:0])
	if cap(b) <= 2*MaxRecordSize {
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

func appendObject(b []byte, p *objPlan, v reflect.Value, schema string, depth int) ([]byte, bool) {
	b = append(b, '{')
	n := 0
	for i := range p.fields {
		f := &p.fields[i]
		var fv reflect.Value
		if f.kind != kindSchema {
			fv = v.FieldByIndex(f.index)
		}
		if f.omitted(fv) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, f.key...)
		var ok bool
		if b, ok = appendField(b, f, fv, schema, depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendField(b []byte, f *fieldPlan, v reflect.Value, schema string, depth int) ([]byte, bool) {
	switch f.kind {
	case kindSchema:
		return appendJSONString(b, schema), true
	case kindString:
		return appendJSONString(b, v.String()), true
	case kindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case kindUint:
		return strconv.AppendUint(b, v.Uint(), 10), true
	case kindTime:
		t := v.Addr().Interface().(*Time)
		if t.Nanosecond() != 0 {
			return b, false // MarshalJSON fails
		}
		b = append(b, '"')
		if !t.IsZero() {
			b = appendTimeText(b, t.UTC(), true)
		}
		return append(b, '"'), true
	case kindDate:
		d := v.Addr().Interface().(*Date)
		if h, m, s := d.Clock(); h != 0 || m != 0 || s != 0 || d.Nanosecond() != 0 {
			return b, false // MarshalJSON fails
		}
		b = append(b, '"')
		if !d.IsZero() {
			b = appendTimeText(b, d.Time, false)
		}
		return append(b, '"'), true
	case kindRaw:
		raw := v.Bytes()
		if len(raw) == 0 || !isCanonical(raw, depth) {
			return b, false
		}
		return append(b, raw...), true
	case kindStruct:
		return appendObject(b, f.obj, v, "", depth)
	case kindPtr:
		if v.IsNil() {
			return b, false
		}
		return appendObject(b, f.obj, v.Elem(), "", depth)
	case kindStructs, kindStrings:
		if v.IsNil() {
			return b, false
		}
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			if f.kind == kindStrings {
				b = appendJSONString(b, v.Index(i).String())
				continue
			}
			var ok bool
			if b, ok = appendObject(b, f.obj, v.Index(i), "", depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	panic("schemas: field kind without an encoder")
}

// appendJSONString appends s as the general path writes it: encoding/json
// turns each byte that is not valid UTF-8 into U+FFFD, and appendString
// escapes the result. So this is appendString, except that such a byte
// becomes a literal U+FFFD rather than \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decoder fills a record from canonical bytes following its plan. It is
// strict only as far as it needs to be: decodeFast accepts its result only
// if re-encoding it gives back the input, so whatever it lets through that
// is not canonical (keys out of order, duplicates, false, empty strings,
// invalid UTF-8) is caught there. On anything unexpected it reports false
// and the general path produces the error.
type decoder struct {
	b []byte
	s string // string(b): unescaped strings are substrings of s, one allocation per record
	i int
}

func (d *decoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) object(p *objPlan, v reflect.Value, schema string, depth int) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	j := 0 // keys come in plan order, so one pass over the plan finds them
	for {
		key, ok := d.str()
		if !ok || !d.next(':') {
			return false
		}
		for j < len(p.fields) && p.fields[j].name < key {
			j++
		}
		if j == len(p.fields) || p.fields[j].name != key {
			return false // unknown, out of order or duplicate
		}
		f := &p.fields[j]
		j++
		var fv reflect.Value
		if f.kind != kindSchema {
			fv = v.FieldByIndex(f.index)
		}
		if !d.field(f, fv, schema, depth+1) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// str reads a canonical string.
func (d *decoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	s := canonScanner{b: d.b, i: d.i}
	escaped, ok := s.str()
	if !ok {
		return "", false
	}
	start, end := d.i+1, s.i-1
	d.i = s.i
	if escaped {
		return string(unescapeCanonical(d.b[start:end])), true
	}
	return d.s[start:end], true
}

func (d *decoder) field(f *fieldPlan, v reflect.Value, schema string, depth int) bool {
	switch f.kind {
	case kindSchema:
		s, ok := d.str()
		return ok && s == schema
	case kindString:
		s, ok := d.str()
		v.SetString(s)
		return ok
	case kindBool:
		switch {
		case bytes.HasPrefix(d.b[d.i:], []byte("true")):
			d.i += 4
			v.SetBool(true)
		case bytes.HasPrefix(d.b[d.i:], []byte("false")):
			d.i += 5
		default:
			return false
		}
		return true
	case kindUint:
		start := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		n, err := strconv.ParseUint(d.s[start:d.i], 10, 64)
		v.SetUint(n)
		return err == nil
	case kindTime:
		s, ok := d.str()
		if !ok {
			return false
		}
		t, ok := parseTimeText(s, true)
		if !ok {
			tt, err := ParseTime(s)
			if err != nil {
				return false
			}
			t = tt.Time
		}
		*v.Addr().Interface().(*Time) = Time{t}
		return true
	case kindDate:
		s, ok := d.str()
		if !ok {
			return false
		}
		t, ok := parseTimeText(s, false)
		if !ok {
			dd, err := ParseDate(s)
			if err != nil {
				return false
			}
			t = dd.Time
		}
		*v.Addr().Interface().(*Date) = Date{t}
		return true
	case kindRaw:
		n := canonicalLen(d.b[d.i:], depth)
		if n == 0 {
			return false
		}
		v.SetBytes(bytes.Clone(d.b[d.i : d.i+n]))
		d.i += n
		return true
	case kindStruct:
		return d.object(f.obj, v, "", depth)
	case kindPtr:
		pv := reflect.New(v.Type().Elem())
		v.Set(pv)
		return d.object(f.obj, pv.Elem(), "", depth)
	case kindStructs, kindStrings:
		if !d.next('[') {
			return false
		}
		if d.next(']') {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return true
		}
		for n := 0; ; n++ {
			v.Grow(1)
			v.SetLen(n + 1)
			if f.kind == kindStrings {
				s, ok := d.str()
				if !ok {
					return false
				}
				v.Index(n).SetString(s)
			} else if !d.object(f.obj, v.Index(n), "", depth+1) {
				return false
			}
			if d.next(']') {
				return true
			}
			if !d.next(',') {
				return false
			}
		}
	}
	panic("schemas: field kind without a decoder")
}

// decodeFast returns the record b encodes if b is exactly its canonical
// encoding, or nil. It is sound because it accepts only when encodeFast of
// the decoded record reproduces b, and Encode's output is canonical by
// construction: duplicate keys, unknown or case-folded fields, invalid UTF-8
// and floats all make the re-encoding differ. The schema id is guessed from
// the first "schema":" in b, then the last (a nested json.RawMessage sorted
// before the top-level member may hold one too); a wrong guess only fails.
func decodeFast(b []byte) Record {
	const key = `"schema":"`
	first := bytes.Index(b, []byte(key))
	if first < 0 {
		return nil
	}
	s := string(b)
	if r := decodeAs(b, s, first+len(key)); r != nil {
		return r
	}
	if last := bytes.LastIndex(b, []byte(key)); last != first {
		return decodeAs(b, s, last+len(key))
	}
	return nil
}

// decodeAs is decodeFast with the schema id read from b[at:] up to the next
// quote. s is string(b).
func decodeAs(b []byte, s string, at int) Record {
	end := strings.IndexByte(s[at:], '"')
	if end < 0 {
		return nil
	}
	r := newRecord(s[at : at+end])
	p, v := planFor(r)
	if p == nil {
		return nil
	}
	d := &decoder{b: b, s: s}
	if !d.object(p, v, r.SchemaID(), 0) || d.i != len(b) {
		return nil
	}
	same := false
	withBuffer(func(buf []byte) []byte {
		buf, ok := encodeFast(buf, r)
		same = ok && bytes.Equal(buf, b)
		return buf
	})
	if !same {
		return nil
	}
	return r
}
