package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"slices"
	"strings"
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
//     \u2028 and \u2029; everything else literal (a byte of a Go string that
//     is not valid UTF-8 is written as U+FFFD);
//   - numbers are integers without sign "+", leading zeros, fraction or
//     exponent (records contain no floating-point values);
//   - empty optional values (empty strings, false, empty arrays, zero times
//     and dates, absent objects) are omitted; Ref.index is always present;
//   - at most MaxRecordSize bytes.
//
// Versioning: a change to a record's fields is a new schema id ("listing/v2");
// the canonical rules above apply to every version and never change.
func Encode(r Record) ([]byte, error) {
	var out []byte
	withBuffer(func(buf []byte) []byte {
		if buf, ok := encodeFast(buf, r); ok {
			out = bytes.Clone(buf)
		}
		return buf
	})
	if out != nil {
		return out, nil
	}
	return encodeGeneral(r)
}

// AppendEncode appends Encode(r) to dst and returns the extended slice, for
// a caller that stores the encoding behind a header of its own: it saves
// Encode's copy of the result. On error it returns dst as it was (bytes
// past its length may have been overwritten) and Encode's error.
func AppendEncode(dst []byte, r Record) ([]byte, error) {
	if b, ok := encodeFast(dst, r); ok {
		return b, nil
	}
	rec, err := encodeGeneral(r)
	if err != nil {
		return dst, err
	}
	return append(dst, rec...), nil
}

// encodeGeneral is Encode by way of encoding/json: marshal, parse, add
// "schema", sort, write canonically. It is the reference for encodeFast and
// produces Encode's errors.
func encodeGeneral(r Record) ([]byte, error) {
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
	if len(b) <= MaxRecordSize {
		if r := decodeFast(b); r != nil {
			return r, nil
		}
	}
	// General path: decide what decodeFast did not accept, and say what is
	// wrong.
	r, v, err := decodeLenient(b)
	if err != nil {
		return nil, err
	}
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
		de := jsonDecodeError(err)
		var fe *formatError
		if errors.As(err, &fe) {
			de.Field = findString(v, fe.value, "")
		}
		return nil, nil, de
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

// findString returns the path of the first string value equal to s in v.
func findString(v *jvalue, s, path string) string {
	switch v.kind {
	case '"':
		if v.str == s {
			return path
		}
	case '{':
		for _, m := range v.obj {
			if p := findString(m.val, s, joinPath(path, m.key)); p != "" {
				return p
			}
		}
	case '[':
		for i, e := range v.arr {
			if p := findString(e, s, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func firstDiff(a, b []byte) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return fmt.Sprintf("first difference at byte %d", n)
}
