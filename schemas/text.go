package schemas

import (
	"fmt"
	"reflect"
	"unicode/utf8"
)

// Text hygiene (issue 11 item 8). No string field of any record may contain:
//
//   - C0 control characters U+0000-U+001F other than tab (U+0009) and line
//     feed (U+000A), which free text (a decision's reason) may need;
//     carriage return is refused too (line ends are "\n");
//   - DEL U+007F and the C1 controls U+0080-U+009F;
//   - the Unicode bidirectional overrides and isolates U+202A-U+202E and
//     U+2066-U+2069, which make a name or reason display as something else
//     than it is ("Trojan Source");
//   - invalid UTF-8 (encoding/json would silently turn it into U+FFFD).
//
// A record holding one is refused at validation (rule "control_char") naming
// the field, the character and its position, and nothing is written: a
// NUL in a reason was accepted and signed into the ledger before. The check
// is structural (every string reachable from the record, by its JSON path),
// so fields added later are covered without listing them.

// forbiddenRune reports whether r may not appear in a text field.
func forbiddenRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CheckText returns "" if s is acceptable in a record's text field, or why
// not (for a clerk: which character, at which character position).
func CheckText(s string) string {
	pos := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Sprintf("is not valid UTF-8 (byte %d)", i)
			}
		}
		if forbiddenRune(r) {
			return fmt.Sprintf("contains the control character U+%04X at character %d; text may not contain control or bidirectional-override characters (tab and line feed excepted)", r, pos)
		}
		pos++
	}
	return ""
}

// textErrors walks every string reachable from v (walkStrings, map keys
// included) and reports each that fails CheckText, by JSON path.
func textErrors(v any) ValidationErrors {
	if textClean(reflect.ValueOf(v)) { // textfast.go: no paths built for a clean record
		return nil
	}
	var errs ValidationErrors
	walkStrings(reflect.ValueOf(v), "", "", func(path, _, s string) {
		if msg := CheckText(s); msg != "" {
			errs = append(errs, FieldError{Field: path, Rule: "control_char", Message: msg})
		}
	})
	return errs
}
