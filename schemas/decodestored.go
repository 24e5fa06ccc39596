package schemas

import (
	"bytes"
	"strings"
)

// DecodeStored decodes a record that this program encoded with Encode and
// stored itself (a derived index's copy, never bytes received or signed):
// it skips the re-encoding by which Decode proves the bytes canonical, which
// costs more than the decoding. Bytes the fast decoder cannot read go
// through Decode.
func DecodeStored(b []byte) (Record, error) {
	const key = `"schema":"`
	if at := bytes.Index(b, []byte(key)); at >= 0 && len(b) <= MaxRecordSize {
		s := string(b)
		at += len(key)
		if end := strings.IndexByte(s[at:], '"'); end >= 0 {
			r := newRecord(s[at : at+end])
			if p, v := planFor(r); p != nil {
				d := &decoder{b: b, s: s}
				if d.object(p, v, r.SchemaID(), 0) && d.i == len(b) {
					return r, nil
				}
			}
		}
	}
	return Decode(b)
}
