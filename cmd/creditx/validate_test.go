package main

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

const schemasTestdata = "../../schemas/testdata"

func TestValidateCmdSamples(t *testing.T) {
	valid, _ := filepath.Glob(filepath.Join(schemasTestdata, "listing_*.json"))
	if len(valid) < 4 {
		t.Fatalf("sample listings missing: %v", valid)
	}
	out, code := runSchemaCmd(t, newValidateCmd(), valid...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, f := range valid {
		if !strings.Contains(out, f+": ok\n") {
			t.Errorf("no ok line for %s in:\n%s", f, out)
		}
	}

	tests := map[string]string{
		"invalid_uscc_check.json":               "subject.uscc: check character is Y, expected K",
		"invalid_no_legal_basis.json":           "legal_basis: required",
		"invalid_publicity_before_listing.json": "publicity_end: 2026-02-01 must be on or after listed_on 2026-02-25",
		"invalid_unknown_domain.json":           `domain: unknown domain "fishing"`,
		"invalid_person_with_uscc.json":         "subject.uscc: a natural person has no USCC",
		"invalid_duplicate_key.json":            "domain: duplicate key",
		"invalid_float.json":                    "index: number 1.5 is not an integer",
	}
	for file, want := range tests {
		path := filepath.Join(schemasTestdata, file)
		out, code := runSchemaCmd(t, newValidateCmd(), valid[0], path)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", file, code)
		}
		if !strings.Contains(out, path+": "+want) {
			t.Errorf("%s: output lacks %q:\n%s", file, want, out)
		}
		if !strings.Contains(out, valid[0]+": ok\n") {
			t.Errorf("%s: the valid file was not reported ok:\n%s", file, out)
		}
	}
}

func TestValidateCmdSigned(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(schemasTestdata, "listing_tourism.json"))
	if err != nil {
		t.Fatal(err)
	}
	canon, err := schemas.Canonicalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := schemas.Decode(canon)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	entry, err := schemas.Sign(r, priv)
	if err != nil {
		t.Fatal(err)
	}
	var pretty map[string]any
	if err := json.Unmarshal(entry, &pretty); err != nil {
		t.Fatal(err)
	}
	prettyEntry, _ := json.MarshalIndent(pretty, "", "  ")

	bad := r.(*schemas.Listing)
	bad.Domain = "fishing"
	badEntry, err := schemas.Sign(bad, priv)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	files := map[string][]byte{"entry.json": entry, "pretty-entry.json": prettyEntry, "bad-entry.json": badEntry,
		"garbage.json": []byte("not json")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	out, code := runSchemaCmd(t, newValidateCmd(), p("entry.json"), p("pretty-entry.json"))
	if code != 0 || !strings.Contains(out, p("entry.json")+": ok\n") || !strings.Contains(out, p("pretty-entry.json")+": ok\n") {
		t.Errorf("signed entries: exit %d\n%s", code, out)
	}
	out, code = runSchemaCmd(t, newValidateCmd(), p("bad-entry.json"), p("garbage.json"), p("missing.json"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		p("bad-entry.json") + `: domain: unknown domain "fishing"`,
		p("garbage.json") + ": invalid JSON",
		p("missing.json") + ": open ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
