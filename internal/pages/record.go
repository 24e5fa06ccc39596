package pages

import (
	"bytes"
	"encoding/json"

	"github.com/creditx/creditx/schemas"
)

// RecordJSON is what the record page (/records/{code}/{index}) shows of a
// record as the caller may see it (api.RecordView.Record, shaped or as
// signed): the JSON indented for the folded-away part, and, for a listing
// l, the listing to show. Where the record was shaped for the caller or
// names a natural person, that is the listing decoded from the JSON shown
// (masked forms only), never l itself.
func RecordJSON(record json.RawMessage, shaped bool, l *schemas.Listing) (string, *schemas.Listing) {
	var b bytes.Buffer
	json.Indent(&b, record, "", "  ")
	if l != nil && (shaped || l.Subject.Person != nil) {
		var m schemas.Listing
		if json.Unmarshal(record, &m) == nil {
			l = &m
		}
	}
	return b.String(), l
}
