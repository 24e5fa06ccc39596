package schemas

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// textClean reports whether every string textErrors would check passes
// CheckText. It walks the same values as walkStrings (text.go,
// plaintext.go) without building JSON paths, so that the common case (a
// clean record, as every record of a verified ledger is) costs a walk, not
// a path string per field; textErrors runs the full walk only when it
// finds a problem.
func textClean(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || textClean(v.Elem())
	case reflect.Struct:
		for _, i := range textFields(v.Type()) {
			if !textClean(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true
		}
		for i := 0; i < v.Len(); i++ {
			if !textClean(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if k := fmt.Sprint(it.Key().Interface()); k != "" && !textOK(k) {
				return false
			}
			if !textClean(it.Value()) {
				return false
			}
		}
	case reflect.String:
		return textOK(v.String())
	}
	return true
}

// textOK is CheckText(s) == "" as a byte loop. In valid UTF-8 each
// forbidden character has one encoding whose first byte is a lead byte, so
// finding those byte sequences finds the characters: C0 controls and DEL
// are single bytes, C1 controls U+0080-U+009F are C2 80-9F, the overrides
// U+202A-U+202E are E2 80 AA-AE and the isolates U+2066-U+2069 E2 81 A6-A9
// (TestTextOKAgrees, FuzzTextOK).
func textOK(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			if forbiddenRune(rune(c)) {
				return false
			}
			continue
		}
		if !utf8.ValidString(s[i:]) {
			return false
		}
		for ; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x80:
				if forbiddenRune(rune(c)) {
					return false
				}
			case c == 0xC2:
				if s[i+1] <= 0x9F {
					return false // U+0080-U+009F (s is valid: s[i+1] is 80-BF)
				}
			case c == 0xE2:
				if s[i+1] == 0x80 && s[i+2] >= 0xAA && s[i+2] <= 0xAE || s[i+1] == 0x81 && s[i+2] >= 0xA6 && s[i+2] <= 0xA9 {
					return false
				}
			}
		}
		return true
	}
	return true
}

// textFieldCache holds, by struct type, the fields walkStrings descends
// into: exported, and not tagged json:"-". Derived from the types alone.
var textFieldCache sync.Map // reflect.Type -> []int

func textFields(t reflect.Type) []int {
	if f, ok := textFieldCache.Load(t); ok {
		return f.([]int)
	}
	var out []int
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		if name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); name == "-" {
			continue
		}
		out = append(out, i)
	}
	textFieldCache.Store(t, out)
	return out
}
