package schemas

// The implementation of Encode, Decode and ParseSigned before the fast
// paths (plan.go, fastcodec.go, scan.go), kept verbatim as the reference the
// differential fuzz targets in fast_test.go compare against. Only the names
// changed (refEncode, refDecode, refDecodeFast, refParseSigned) and each
// calls the reference versions of the others.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

func refEncode(r Record) ([]byte, error) {
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

func refDecode(b []byte) (Record, error) {
	if len(b) <= MaxRecordSize {
		if r := refDecodeFast(b); r != nil {
			return r, nil
		}
	}
	// Slow path: find out exactly what is wrong.
	r, v, err := decodeLenient(b)
	if err != nil {
		return nil, err
	}
	if canon := v.appendTo(nil); !bytes.Equal(canon, b) {
		return nil, &DecodeError{Reason: "not canonical JSON (" + firstDiff(b, canon) + ")"}
	}
	re, err := refEncode(r)
	if err != nil {
		return nil, &DecodeError{Reason: err.Error(), Err: err}
	}
	if !bytes.Equal(re, b) {
		return nil, &DecodeError{Reason: "not canonical: empty values must be omitted and required forms used (" + firstDiff(b, re) + ")"}
	}
	return r, nil
}

func refDecodeFast(b []byte) Record {
	const key = `"schema":"`
	first, last := bytes.Index(b, []byte(key)), bytes.LastIndex(b, []byte(key))
	if first < 0 {
		return nil
	}
	for _, at := range []int{first, last} {
		rest := b[at+len(key):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return nil
		}
		r := newRecord(string(rest[:end]))
		if r == nil {
			continue
		}
		if json.Unmarshal(b, r) != nil {
			continue
		}
		if re, err := refEncode(r); err == nil && bytes.Equal(re, b) {
			return r
		}
		if first == last {
			break
		}
	}
	return nil
}

func refParseSigned(entry []byte) (*Signed, error) {
	if len(entry) > MaxEntrySize {
		return nil, &DecodeError{Reason: fmt.Sprintf("entry is %d bytes, more than the maximum %d", len(entry), MaxEntrySize)}
	}
	if !utf8.Valid(entry) {
		return nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	fixed := len(entryPrefix) + 16 + len(entryMiddle) + len(entrySigPart) + sigB64Len + len(entrySuffix)
	if len(entry) < fixed+2 {
		return nil, &DecodeError{Reason: "too short for a signed entry"}
	}
	rest, ok := bytes.CutPrefix(entry, []byte(entryPrefix))
	if !ok {
		return nil, &DecodeError{Reason: `a signed entry starts with {"key":"`}
	}
	id := string(rest[:16])
	if !isLowerHex(id) {
		return nil, &DecodeError{Field: "key", Reason: "must be 16 lower-case hex characters"}
	}
	rest, ok = bytes.CutPrefix(rest[16:], []byte(entryMiddle))
	if !ok {
		return nil, &DecodeError{Field: "key", Reason: `must be followed by ,"record":`}
	}
	tail := len(entrySigPart) + sigB64Len + len(entrySuffix)
	rec, sigPart := rest[:len(rest)-tail], rest[len(rest)-tail:]
	b64, ok := bytes.CutPrefix(sigPart, []byte(entrySigPart))
	if !ok || !bytes.HasSuffix(b64, []byte(entrySuffix)) {
		return nil, &DecodeError{Field: "sig", Reason: `an entry ends with ,"sig":"<88 base64 characters>"}`}
	}
	b64 = b64[:sigB64Len]
	sig, err := base64.StdEncoding.Strict().DecodeString(string(b64))
	if err != nil || len(sig) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(sig) != string(b64) {
		return nil, &DecodeError{Field: "sig", Reason: "must be std base64 of a 64-byte Ed25519 signature"}
	}
	v, err := parseJSON(rec)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = joinPath("record", de.Field)
		}
		return nil, err
	}
	if v.kind != '{' {
		return nil, &DecodeError{Field: "record", Reason: "must be a JSON object"}
	}
	if sv := v.member("schema"); sv == nil || sv.kind != '"' {
		return nil, &DecodeError{Field: "record.schema", Reason: "required string"}
	}
	if !bytes.Equal(v.appendTo(nil), rec) {
		return nil, &DecodeError{Field: "record", Reason: "not canonical JSON"}
	}
	return &Signed{Record: bytes.Clone(rec), KeyID: id, Sig: sig}, nil
}
