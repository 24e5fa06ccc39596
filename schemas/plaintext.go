package schemas

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Plaintext personal data where it does not belong (issue 14; docs/PRIVACY.md).
//
// CheckPlaintext is an admission rule, not part of Validate: it refuses new
// records, while entries already in a ledger (a member's mirror, an export
// under audit) keep verifying with Validate alone, whichever version of these
// rules admitted them. It reports, per field:
//
//   - plaintext_id: a citizen ID (GB 11643: 17 digits and a check character
//     that is right, a real province and birth date) in any free-text field
//     (reason, subject.name, doc_no, legal basis, ...). Digits may be ASCII
//     or full-width and separated by spaces or hyphens ("330106 19900101
//     1234"); a run of such characters is compacted and tested when it has
//     exactly 18 characters. Fields that carry an identifier by design are
//     exempt (uscc, key material, hashes: see plaintextExempt).
//   - plaintext_phone: a mainland mobile number (11 digits, 1[3-9]...) in a
//     free-text field: contact data is personal data too.
//   - masked_name: a name_masked that is not a masked name (one leading
//     rune, then only '*'; or only '*').
//   - masked_id: an id_masked in the form that reveals ten digits
//     (110105********002X); new records give the form of MaskCitizenID.
//   - sealed_format: a sealed value that is not the sealing format of
//     SealPerson: std base64 of a 12-byte nonce and an AES-256-GCM
//     ciphertext of at least the smallest payload ({"id":"<18>","name":"<1>"},
//     38 bytes) plus its 16-byte tag, which is not valid UTF-8 text (a
//     ciphertext is, with probability about 2^-60 at that length).
//
// Free text can name a person in ways no pattern finds (a name in a sentence);
// the rules above catch what is certain, and reasons outside records are
// chosen from catalogues (node: erase reasons, purposes) with free text scanned
// by ScanPersonalText.

// plaintextExempt lists the JSON keys whose string values are identifiers,
// keys or hashes by design and are validated by their own rules.
var plaintextExempt = map[string]bool{
	"uscc": true, "id_hash": true, "id_masked": true, "sealed": true, "name_masked": true,
	"hash": true, "sha256": true, "public_key": true, "log_vkey": true, "witness_vkey": true, "key_id": true,
}

// minSealedBytes is the smallest decoded sealed value: nonce(12) +
// len(`{"id":"`+18 characters+`","name":"`+1 byte+`"}`) (38) + GCM tag(16).
const minSealedBytes = 12 + 38 + 16

// CheckPlaintext returns every place where r holds personal data in a form
// it must not have (see the rules above), or nil.
func CheckPlaintext(r Record) ValidationErrors {
	if plaintextClean(reflect.ValueOf(r), "") { // the common case: no JSON paths built
		return nil
	}
	var out ValidationErrors
	walkStrings(reflect.ValueOf(r), "", "", func(path, key, s string) {
		if rule, msg := plaintextProblem(key, s); rule != "" {
			out = append(out, FieldError{path, rule, msg})
		}
	})
	return out
}

// plaintextProblem is CheckPlaintext's verdict on string s under JSON key
// key: the rule it breaks and why, or "", "".
func plaintextProblem(key, s string) (rule, msg string) {
	switch key {
	case "name_masked":
		if !IsMaskedName(s) {
			return "masked_name", "must be a masked name: its first character then '*' for every other one (like 张**), as MaskName gives; the full name goes only into sealed"
		}
		return "", ""
	case "id_masked":
		if s != "" && !isMaskedIDv2(s) {
			return "masked_id", "must be masked as MaskCitizenID gives (like 11***************X): the form keeping ten digits reveals too much"
		}
		return "", ""
	case "sealed":
		if s != "" {
			if msg := checkSealedFormat(s); msg != "" {
				return "sealed_format", msg
			}
		}
		return "", ""
	}
	if plaintextExempt[key] {
		return "", ""
	}
	if msg := ScanPersonalText(s); msg != "" {
		rule := "plaintext_id"
		if strings.Contains(msg, "mobile") {
			rule = "plaintext_phone"
		}
		return rule, msg + "; personal data is never stored in plaintext: name the person in a person object (id_hash, id_masked, sealed)"
	}
	return "", ""
}

// plaintextClean reports whether plaintextProblem finds nothing in any
// string walkStrings would visit in v (the same values, with the same JSON
// keys), without building their paths. key is v's JSON key.
func plaintextClean(v reflect.Value, key string) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || plaintextClean(v.Elem(), key)
	case reflect.Struct:
		for _, sf := range walkFieldsOf(v.Type()) {
			k := key
			if sf.name != "" {
				k = sf.name
			}
			if !plaintextClean(v.Field(sf.index), k) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true
		}
		for i := 0; i < v.Len(); i++ {
			if !plaintextClean(v.Index(i), key) {
				return false
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if k := fmt.Sprint(it.Key().Interface()); k != "" {
				if rule, _ := plaintextProblem("(key)", k); rule != "" {
					return false
				}
			}
			if !plaintextClean(it.Value(), key) {
				return false
			}
		}
	case reflect.String:
		if s := v.String(); s != "" {
			rule, _ := plaintextProblem(key, s)
			return rule == ""
		}
	}
	return true
}

// walkStrings calls f for every non-empty string inside v (in structs,
// slices, maps and map keys), with its JSON path
// ("subject.responsible_persons[0].person.name_masked") and JSON key; a map
// key is reported at "<path>.(key)" with key "(key)". CheckPlaintext and
// textErrors (text.go) both walk records with it.
func walkStrings(v reflect.Value, path, key string, f func(path, key, s string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, key, f)
		}
	case reflect.Struct:
		for _, sf := range walkFieldsOf(v.Type()) {
			p, k := path, key
			if sf.name != "" { // an embedded struct without a name is inlined
				p, k = joinPath(path, sf.name), sf.name
			}
			walkStrings(v.Field(sf.index), p, k, f)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes (keys, hashes), not text
		}
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), path+"["+strconv.Itoa(i)+"]", key, f)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if k != "" {
				f(joinPath(path, "(key)"), "(key)", k)
			}
			walkStrings(it.Value(), joinPath(path, k), key, f)
		}
	case reflect.String:
		if s := v.String(); s != "" {
			f(path, key, s)
		}
	}
}

// walkField is a struct field walkStrings descends into: exported, not
// json:"-"; name is its JSON name ("" for an embedded struct, inlined).
type walkField struct {
	index int
	name  string
}

// walkFields caches walkFieldsOf by type (reflect.Type -> []walkField).
var walkFields sync.Map

// walkFieldsOf lists the fields of struct type t that walkStrings visits,
// in order, read from the tags once per type.
func walkFieldsOf(t reflect.Type) []walkField {
	if fs, ok := walkFields.Load(t); ok {
		return fs.([]walkField)
	}
	var fs []walkField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		fs = append(fs, walkField{index: i, name: name})
	}
	walkFields.Store(t, fs)
	return fs
}

// ScanPersonalText reports why free text s holds personal data (a citizen
// ID or a mobile number, see CheckPlaintext), or "" if it finds none. It
// never returns the data itself, only its position.
func ScanPersonalText(s string) string {
	if countDigits(s) < 11 {
		return ""
	}
	runes := []rune(s)
	for i := 0; i < len(runes); {
		if !idRune(runes[i]) || isSep(runes[i]) {
			i++
			continue
		}
		j := i
		var compact []byte
		for j < len(runes) && idRune(runes[j]) {
			if !isSep(runes[j]) {
				compact = append(compact, asciiOf(runes[j]))
			}
			j++
		}
		// The run must stand alone: no ASCII letter or digit glued to it.
		alone := (i == 0 || !asciiAlnum(runes[i-1])) && (j == len(runes) || !asciiAlnum(runes[j]))
		if alone {
			c := string(compact)
			switch {
			case len(c) == 18 && CheckCitizenID(c) == nil:
				return fmt.Sprintf("holds a citizen ID (characters %d-%d)", i+1, j)
			case len(c) == 11 && c[0] == '1' && c[1] >= '3' && c[1] <= '9' && allDigits(c):
				return fmt.Sprintf("holds a mobile phone number (characters %d-%d)", i+1, j)
			}
		}
		i = j
	}
	return ""
}

// countDigits counts the ASCII and full-width digits of s. It scans bytes,
// not runes: an ASCII digit byte is always the character (UTF-8
// continuation bytes are >= 0x80), and a full-width digit U+FF10-U+FF19 is
// always the bytes EF BC 90-99 (EF is a lead byte, never inside another
// character), so it counts what a loop over the runes of s counts, valid
// UTF-8 or not (TestCountDigitsAgrees, FuzzCountDigits).
func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99:
			n++
			i += 2
		}
	}
	return n
}

// idRune: a character that can be part of a written citizen ID or phone
// number: digits (ASCII or full-width), X, and the separators ' ' and '-'.
func idRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= '０' && r <= '９' || r == 'X' || r == 'x' || r == 'Ｘ' || isSep(r)
}

func isSep(r rune) bool { return r == ' ' || r == '-' || r == '\u3000' }

func asciiOf(r rune) byte {
	switch {
	case r >= '０' && r <= '９':
		return byte('0' + r - '０')
	case r == 'x' || r == 'Ｘ':
		return 'X'
	}
	return byte(r)
}

func asciiAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// IsMaskedName reports whether s has the form MaskName gives: one character
// and then only asterisks (at least one), or only asterisks.
func IsMaskedName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	_, size := utf8.DecodeRuneInString(s)
	rest := s[size:]
	if s[0] == '*' {
		rest = s
	}
	return rest != "" && strings.Trim(rest, "*") == ""
}

// isMaskedIDv2 reports whether s is a citizen ID masked as MaskCitizenID
// does: two digits (the province), 15 asterisks, the check character.
func isMaskedIDv2(s string) bool {
	return len(s) == 18 && allDigits(s[:2]) && s[2:17] == "***************" &&
		(s[17] == 'X' || s[17] >= '0' && s[17] <= '9')
}

func checkSealedFormat(s string) string {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "must be std base64 of the sealed payload (SealPerson)"
	}
	if len(raw) < minSealedBytes {
		return fmt.Sprintf("is %d bytes, shorter than any sealed payload (%d: 12-byte nonce, ciphertext, 16-byte tag): not the sealing format", len(raw), minSealedBytes)
	}
	if utf8.Valid(raw) || ScanPersonalText(string(raw)) != "" {
		return "decodes to text, not to AES-256-GCM ciphertext: plaintext is never accepted as sealed data"
	}
	return ""
}
