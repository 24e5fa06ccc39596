package disclose

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// TestShapeByRole: a public caller sees a public organisation's listing
// without keyed hashes or sealed data, never a natural person's listing or
// a suspended one; a consortium role sees the record as it is.
func TestShapeByRole(t *testing.T) {
	org := &schemas.Listing{Disclosure: "public", Subject: schemas.Subject{
		ResponsiblePersons: []schemas.ResponsiblePerson{{Role: "principal", Person: schemas.Person{IDHash: "h1:abc", NameMasked: "张*"}}}}}
	raw := []byte(`{"subject":{"responsible_persons":[{"person":{"id_hash":"h1:abc","name_masked":"张*","sealed":"x"}}]}}`)

	body, shaped, ok := Shape(pki.RolePublic, org, raw, true)
	if !ok || !shaped {
		t.Fatalf("public listing of an organisation: ok %v shaped %v", ok, shaped)
	}
	if strings.Contains(string(body), "id_hash") || strings.Contains(string(body), "sealed") || !strings.Contains(string(body), "张*") {
		t.Fatalf("shaped body %s: want the masked name only", body)
	}
	if _, _, ok := Shape(pki.RolePublic, org, raw, false); ok {
		t.Error("a suspended listing is shown to the public")
	}
	person := &schemas.Listing{Disclosure: "public", Subject: schemas.Subject{Person: &schemas.Person{IDHash: "h1:def"}}}
	if _, _, ok := Shape(pki.RolePublic, person, raw, true); ok {
		t.Error("a natural person's listing is shown to the public")
	}
	if body, shaped, ok := Shape(pki.RoleAudit, person, raw, true); !ok || shaped || string(body) != string(raw) {
		t.Errorf("auditor: %s, %v, %v; want the record unchanged", body, shaped, ok)
	}
	if got := Persons(org); !slices.Equal(got, []string{"h1:abc"}) || PublicRecord(org) {
		t.Errorf("Persons = %v, PublicRecord = %v; a listing naming a person is not public", got, PublicRecord(org))
	}
	if !Personal(person) || Personal(&schemas.Governance{}) || !PublicRecord(&schemas.Governance{}) {
		t.Error("Personal/PublicRecord disagree with the package doc")
	}
}

// TestStripPersonalNested removes the fields at every depth.
func TestStripPersonalNested(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"a":[{"b":{"id_hash":"x","sealed":"y","k":1}}],"id_hash":"z"}`), &v); err != nil {
		t.Fatal(err)
	}
	StripPersonal(v)
	b, _ := json.Marshal(v)
	if string(b) != `{"a":[{"b":{"k":1}}]}` {
		t.Fatalf("stripped = %s", b)
	}
}

// TestBundleFailsClosed: a bundle that does not parse is not public.
func TestBundleFailsClosed(t *testing.T) {
	if public, _ := Bundle([]byte{0xff, 0x01}); public {
		t.Fatal("an unparsable bundle is public")
	}
}
