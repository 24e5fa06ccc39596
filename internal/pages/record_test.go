package pages

import (
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

func TestRecordJSON(t *testing.T) {
	signed := &schemas.Listing{Subject: schemas.Subject{Name: "plain", Person: &schemas.Person{}}}
	shown := []byte(`{"subject":{"name":"m***"}}`)
	text, l := RecordJSON(shown, false, signed)
	if l == signed || l.Subject.Name != "m***" || !strings.Contains(text, "\n  \"subject\"") {
		t.Fatalf("person listing: %q %+v", text, l)
	}
	org := &schemas.Listing{Subject: schemas.Subject{Name: "org"}}
	if _, l := RecordJSON(shown, false, org); l != org {
		t.Fatalf("organisation as signed: %+v", l)
	}
	if _, l := RecordJSON(shown, true, org); l.Subject.Name != "m***" {
		t.Fatalf("shaped: %+v", l)
	}
	if _, l := RecordJSON(shown, true, nil); l != nil {
		t.Fatalf("not a listing: %+v", l)
	}
}
