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

// textSamples are strings around every boundary of the text rules: each
// forbidden range's ends and neighbours, CJK text, invalid UTF-8.
func textSamples() []string {
	out := []string{"", "plain", "合成样例企业有限公司", "tab\tand\nline", "cr\r", "\x7f", "\xff", "a\xc2", "\xe2\x80",
		"\xef\xbc\x90", "\xef\xbc", "ok \xef\xbc\x99 １２", "\xed\xa0\x80"}
	for _, r := range []rune{0, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0x2029, 0x202a, 0x202e, 0x202f,
		0x2065, 0x2066, 0x2069, 0x206a, 0xff10, 0xff19, 0xff1a, 0xfffd, 0x10ffff} {
		out = append(out, string(r), "详"+string(r)+"x", "x"+string(r))
	}
	return out
}

// TestTextOKAgrees: textOK, a byte loop, judges like CheckText.
func TestTextOKAgrees(t *testing.T) {
	for _, s := range textSamples() {
		if got, want := textOK(s), CheckText(s) == ""; got != want {
			t.Errorf("textOK(%q) = %v, CheckText says %q", s, got, CheckText(s))
		}
	}
}

func FuzzTextOK(f *testing.F) {
	for _, s := range textSamples() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := textOK(s), CheckText(s) == ""; got != want {
			t.Fatalf("textOK(%q) = %v, CheckText says %q", s, got, CheckText(s))
		}
	})
}

// countDigitsRunes is countDigits over runes, as it was written first.
func countDigitsRunes(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
			n++
		}
	}
	return n
}

func TestCountDigitsAgrees(t *testing.T) {
	for _, s := range append(textSamples(), "身份证 110105 19491231 002X", "１１０１０５１９４９１２３１００２X", "\xef\xef\xbc\x90", "\xe0\xef\xbc\x99") {
		if got, want := countDigits(s), countDigitsRunes(s); got != want {
			t.Errorf("countDigits(%q) = %d, over runes %d", s, got, want)
		}
	}
}

func FuzzCountDigits(f *testing.F) {
	f.Add("１１０１０５１９４９１２３１００２X")
	f.Add("\xef\xef\xbc\x90")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := countDigits(s), countDigitsRunes(s); got != want {
			t.Fatalf("countDigits(%q) = %d, over runes %d", s, got, want)
		}
	})
}
