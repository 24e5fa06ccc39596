package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxRecordSize is the largest canonical record, in bytes.
const MaxRecordSize = 65535

// ErrUnknownSchema is returned (wrapped in a *DecodeError) when a record's
// "schema" is not one this package decodes. A mirroring node should keep the
// entry (its signature may still verify) and flag it for an upgrade.
var ErrUnknownSchema = errors.New("unknown schema")

// DecodeError reports why bytes are not a valid canonical record. Field is a
// JSON path ("subject.uscc", "legal_basis[0]") or "" for the whole input.
type DecodeError struct {
	Field  string
	Reason string
	Err    error // underlying cause, if any (ErrUnknownSchema, json errors)
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "decode record: " + e.Reason
	}
	return "decode record: " + e.Field + ": " + e.Reason
}

func (e *DecodeError) Unwrap() error { return e.Err }

// newRecord returns an empty record for a schema id, or nil.
func newRecord(schema string) Record {
	switch schema {
	case SchemaListing:
		return new(Listing)
	case SchemaSanctionNotice:
		return new(SanctionNotice)
	case SchemaFeedback:
		return new(Feedback)
	case SchemaObjection:
		return new(Objection)
	case SchemaObjectionDecision:
		return new(ObjectionDecision)
	case SchemaRepair:
		return new(Repair)
	case SchemaCorrection:
		return new(Correction)
	case SchemaGovernance:
		return new(Governance)
	}
	return nil
}

// KnownSchemas returns the schema ids this package decodes.
func KnownSchemas() []string {
	return []string{SchemaListing, SchemaSanctionNotice, SchemaFeedback, SchemaObjection,
		SchemaObjectionDecision, SchemaRepair, SchemaCorrection, SchemaGovernance}
}

// Encode returns the canonical JSON encoding of r, the bytes that are signed
// and stored in the ledger:
//
//   - one JSON object, the record's fields plus "schema": r.SchemaID();
//   - object members sorted by key in byte order, at every depth; no
//     whitespace outside strings; no duplicate keys;
//   - strings UTF-8, escaped exactly as encoding/json does with HTML
//     escaping off: \" \\ \n \r \t, \u00XX for other control characters,
//     \u2028 and \u2029; everything else literal;
//   - numbers are integers without sign "+", leading zeros, fraction or
//     exponent (records contain no floating-point values);
//   - empty optional values (empty strings, false, empty arrays, zero times
//     and dates, absent objects) are omitted; Ref.index is always present;
//   - at most MaxRecordSize bytes.
//
// Versioning: a change to a record's fields is a new schema id ("listing/v2");
// the canonical rules above apply to every version and never change.
func Encode(r Record) ([]byte, error) {
	if r == nil {
		return nil, errors.New("encode record: nil record")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.SchemaID(), err)
	}
	v, err := parseJSON(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.SchemaID(), err)
	}
	if v.kind != '{' {
		return nil, fmt.Errorf("encode %s: not a JSON object", r.SchemaID())
	}
	if v.member("schema") != nil {
		return nil, fmt.Errorf("encode %s: record type has a member named schema", r.SchemaID())
	}
	v.obj = append(v.obj, member{key: "schema", val: &jvalue{kind: '"', str: r.SchemaID()}})
	slices.SortFunc(v.obj, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out := v.appendTo(make([]byte, 0, buf.Len()+32))
	if len(out) > MaxRecordSize {
		return nil, fmt.Errorf("encode %s: %d bytes, more than the maximum %d", r.SchemaID(), len(out), MaxRecordSize)
	}
	return out, nil
}

// Decode parses a canonical record (see Encode) and returns it as its Go
// type (*Listing, *SanctionNotice, ...). It rejects input over
// MaxRecordSize, invalid UTF-8, invalid JSON, duplicate keys, trailing data,
// non-integer numbers, unknown schema ids (ErrUnknownSchema), unknown fields,
// values of the wrong type, and any input that is not byte-for-byte the
// canonical encoding of the record it denotes. Errors are *DecodeError.
// Decode does not check field values: call Validate for that.
func Decode(b []byte) (Record, error) {
	r, v, err := decodeLenient(b)
	if err != nil {
		return nil, err
	}
	// The tree is canonical iff its emission equals the input.
	if canon := v.appendTo(nil); !bytes.Equal(canon, b) {
		return nil, &DecodeError{Reason: "not canonical JSON (" + firstDiff(b, canon) + ")"}
	}
	re, err := Encode(r)
	if err != nil {
		return nil, &DecodeError{Reason: err.Error(), Err: err}
	}
	if !bytes.Equal(re, b) {
		return nil, &DecodeError{Reason: "not canonical: empty values must be omitted and required forms used (" + firstDiff(b, re) + ")"}
	}
	return r, nil
}

// Canonicalize accepts any JSON encoding of a known record (whitespace, any
// member order, empty values present) and returns its canonical encoding.
// It applies the same checks as Decode except byte-for-byte canonicality.
// Use it for hand-written files; never for bytes that are signed.
func Canonicalize(b []byte) ([]byte, error) {
	r, _, err := decodeLenient(b)
	if err != nil {
		return nil, err
	}
	out, err := Encode(r)
	if err != nil {
		return nil, &DecodeError{Reason: err.Error(), Err: err}
	}
	return out, nil
}

func decodeLenient(b []byte) (Record, *jvalue, error) {
	if len(b) > MaxRecordSize {
		return nil, nil, &DecodeError{Reason: fmt.Sprintf("%d bytes, more than the maximum %d", len(b), MaxRecordSize)}
	}
	v, err := parseJSON(b)
	if err != nil {
		return nil, nil, err
	}
	if v.kind != '{' {
		return nil, nil, &DecodeError{Reason: "a record must be a JSON object"}
	}
	sv := v.member("schema")
	if sv == nil {
		return nil, nil, &DecodeError{Field: "schema", Reason: "required"}
	}
	if sv.kind != '"' {
		return nil, nil, &DecodeError{Field: "schema", Reason: "must be a string like \"listing/v1\""}
	}
	r := newRecord(sv.str)
	if r == nil {
		return nil, nil, &DecodeError{Field: "schema", Reason: fmt.Sprintf("%q is not a known schema", sv.str), Err: ErrUnknownSchema}
	}
	body := &jvalue{kind: '{'}
	for _, m := range v.obj {
		if m.key != "schema" {
			body.obj = append(body.obj, m)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body.appendTo(nil)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return nil, nil, jsonDecodeError(err)
	}
	return r, v, nil
}

// jsonDecodeError turns an encoding/json error into a *DecodeError naming
// the field.
func jsonDecodeError(err error) *DecodeError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &DecodeError{Field: te.Field, Reason: fmt.Sprintf("a JSON %s cannot be a %s", te.Value, te.Type), Err: err}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &DecodeError{Field: strings.Trim(f, `"`), Reason: "unknown field", Err: err}
	}
	msg = strings.TrimPrefix(msg, "json: ")
	return &DecodeError{Reason: msg, Err: err}
}

func firstDiff(a, b []byte) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return fmt.Sprintf("first difference at byte %d", n)
}

// jvalue is a parsed JSON value that keeps members in input order and
// numbers as text, so canonicality can be checked exactly.
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

// parseJSON parses exactly one JSON value (surrounding whitespace allowed)
// and sorts object members, rejecting duplicates, floats and invalid UTF-8.
func parseJSON(b []byte) (*jvalue, error) {
	if !utf8.Valid(b) {
		return nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &DecodeError{Reason: "trailing data after the record"}
	}
	return v, nil
}

func parseValue(dec *json.Decoder, path string, depth int) (*jvalue, error) {
	if depth > maxDepth {
		return nil, &DecodeError{Field: path, Reason: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &DecodeError{Field: path, Reason: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: "), Err: err}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jvalue{kind: '{'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, &DecodeError{Field: path, Reason: "invalid JSON: " + err.Error(), Err: err}
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &DecodeError{Field: path, Reason: "invalid JSON object key"}
				}
				mv, err := parseValue(dec, joinPath(path, key), depth+1)
				if err != nil {
					return nil, err
				}
				v.obj = append(v.obj, member{key, mv})
			}
			if _, err := dec.Token(); err != nil {
				return nil, &DecodeError{Field: path, Reason: "invalid JSON: " + err.Error(), Err: err}
			}
			slices.SortStableFunc(v.obj, func(a, b member) int { return strings.Compare(a.key, b.key) })
			for i := 1; i < len(v.obj); i++ {
				if v.obj[i].key == v.obj[i-1].key {
					return nil, &DecodeError{Field: joinPath(path, v.obj[i].key), Reason: "duplicate key"}
				}
			}
			return v, nil
		case '[':
			v := &jvalue{kind: '['}
			for i := 0; dec.More(); i++ {
				ev, err := parseValue(dec, fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, ev)
			}
			if _, err := dec.Token(); err != nil {
				return nil, &DecodeError{Field: path, Reason: "invalid JSON: " + err.Error(), Err: err}
			}
			return v, nil
		}
	case string:
		return &jvalue{kind: '"', str: t}, nil
	case json.Number:
		if !isCanonicalInt(string(t)) {
			return nil, &DecodeError{Field: path, Reason: fmt.Sprintf("number %s is not an integer in canonical form (no fraction, exponent or leading zeros)", t)}
		}
		return &jvalue{kind: '0', str: string(t)}, nil
	case bool:
		if t {
			return &jvalue{kind: 't'}, nil
		}
		return &jvalue{kind: 'f'}, nil
	case nil:
		return &jvalue{kind: 'n'}, nil
	}
	return nil, &DecodeError{Field: path, Reason: "invalid JSON"}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isCanonicalInt(s string) bool {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '0' && (len(s) > 1 || neg) {
		return false
	}
	return allDigits(s)
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
