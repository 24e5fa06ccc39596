package schemas

import (
	"errors"
	"strings"
	"testing"
)

// TestValidateControlCharacters: issue 11 item 8 found "\u0000" in a
// listing's reason accepted; every text field now refuses control and
// bidirectional-override characters, naming the field and the character.
func TestValidateControlCharacters(t *testing.T) {
	l := func(f func(*Listing)) func() Record {
		return func() Record { r := sampleListing(); f(r); return r }
	}
	runValidateCases(t, NewValidator(nil), []validateCase{
		{"NUL in reason", l(func(r *Listing) { r.Reason = "违法排污\x00" }), "reason", "control_char", "U+0000 at character 4"},
		{"escape in subject name", l(func(r *Listing) { r.Subject.Name += "\x1b[2J" }), "subject.name", "control_char", "U+001B"},
		{"CR in law", l(func(r *Listing) { r.LegalBasis[0].Law += "\r" }), "legal_basis[0].law", "control_char", "U+000D"},
		{"DEL in authority", l(func(r *Listing) { r.Authority.Name += "\x7f" }), "authority.name", "control_char", "U+007F"},
		{"C1 in reason", l(func(r *Listing) { r.Reason += "\u0085" }), "reason", "control_char", "U+0085"},
		{"bidi override in name", l(func(r *Listing) { r.Subject.Name = "\u202e" + r.Subject.Name }), "subject.name", "control_char", "U+202E at character 0"},
		{"invalid UTF-8", l(func(r *Listing) { r.Reason += "\xff" }), "reason", "control_char", "not valid UTF-8"},
	})
	ok := sampleListing()
	ok.Reason = "第一行\n\t第二行"
	if err := NewValidator(nil).Validate(ok); err != nil {
		t.Fatalf("tab and line feed in a reason: %v", err)
	}
	bad := sampleListing()
	bad.Reason += "\x00"
	var ve ValidationErrors
	if err := Validate(bad, nil); !errors.As(err, &ve) || !strings.Contains(err.Error(), "reason: contains the control character U+0000") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidateSamplesHaveCleanText(t *testing.T) {
	for _, r := range allSamples() {
		if errs := textErrors(r); len(errs) > 0 {
			t.Errorf("%s: %v", r.SchemaID(), errs)
		}
	}
}
