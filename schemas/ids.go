package schemas

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// IDKind names the kind of identifier an IDError is about.
type IDKind string

const (
	IDKindUnknown   IDKind = "unknown"
	IDKindUSCC      IDKind = "uscc"       // unified social credit code, GB 32100-2015
	IDKindCitizenID IDKind = "citizen_id" // resident identity number, GB 11643
	IDKindDivision  IDKind = "division"   // administrative division code, GB/T 2260
)

// IDError reports why an identifier is invalid. Reason is written for a
// clerk: it names the position or character at fault and what was expected.
type IDError struct {
	Kind   IDKind
	Value  string
	Reason string
}

func (e *IDError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Kind, e.Value, e.Reason)
}

func idErr(kind IDKind, value, format string, args ...any) *IDError {
	return &IDError{Kind: kind, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// usccAlphabet is the GB 32100-2015 character set; a character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// CheckUSCC reports whether code is a well-formed unified social credit code
// (GB 32100-2015): 18 characters from 0-9 and A-Y without I, O, Z, S, V;
// positions 3-8 digits (the division code); positions 9-17 a GB 11714
// organisation code with a valid check character; position 18 the GB 32100
// check character. It returns nil or an *IDError.
func CheckUSCC(code string) error {
	const kind = IDKindUSCC
	if err := checkLen(kind, code, code, 18, "a USCC"); err != nil {
		return err
	}
	var vals [18]int
	for i := 0; i < 18; i++ {
		c := code[i]
		v := strings.IndexByte(usccAlphabet, c)
		if v < 0 {
			if c >= 'a' && c <= 'z' {
				return idErr(kind, code, "character '%c' at position %d must be upper case", c, i+1)
			}
			return idErr(kind, code, "character '%c' is not allowed in a USCC", c)
		}
		if i >= 2 && i <= 7 && v > 9 {
			return idErr(kind, code, "position %d must be a digit (division code)", i+1)
		}
		vals[i] = v
	}
	// Nested GB 11714 organisation code: positions 9-16, check at 17.
	sum := 0
	for i := 0; i < 8; i++ {
		c := code[8+i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		default:
			v = int(c-'A') + 10
		}
		sum += v * orgCodeWeights[i]
	}
	var want byte
	switch c := 11 - sum%11; c {
	case 10:
		want = 'X'
	case 11:
		want = '0'
	default:
		want = byte('0' + c)
	}
	if code[16] != want {
		return idErr(kind, code, "organisation code check character (position 17) is %c, expected %c", code[16], want)
	}
	sum = 0
	for i := 0; i < 17; i++ {
		sum += vals[i] * usccWeights[i]
	}
	want = usccAlphabet[(31-sum%31)%31]
	if code[17] != want {
		return idErr(kind, code, "check character is %c, expected %c", code[17], want)
	}
	return nil
}

// checkLen reports a wrong length in characters, or the first non-ASCII
// character when the character count is right but the byte count is not.
func checkLen(kind IDKind, orig, s string, want int, what string) *IDError {
	if len(s) == want {
		return nil
	}
	if n := utf8.RuneCountInString(s); n != want {
		return idErr(kind, orig, "length %d, want %d", n, want)
	}
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return idErr(kind, orig, "character '%c' is not allowed in %s", r, what)
		}
	}
	return idErr(kind, orig, "length %d, want %d", utf8.RuneCountInString(s), want)
}

// USCCAllowList holds codes that fail CheckUSCC but were legally issued
// (early pilot codes). It maps a code to the reason it is allowed.
type USCCAllowList map[string]string

// DefaultUSCCAllowList returns a fresh copy of the built-in allow-list; the
// caller may change it freely.
func DefaultUSCCAllowList() USCCAllowList {
	return USCCAllowList{
		"91350100M0001TGQXM": "Fujian pilot code issued before GB 32100-2015 check rules (DOMAIN.md section 5)",
	}
}

// CheckUSCCAllowing is CheckUSCC, except that a code listed in allow is
// accepted even if its check characters are wrong. Codes on the list must
// still have the right length and alphabet.
func CheckUSCCAllowing(code string, allow USCCAllowList) error {
	err := CheckUSCC(code)
	if err == nil {
		return nil
	}
	if _, ok := allow[code]; ok {
		if len(code) == 18 && strings.Trim(code, usccAlphabet) == "" {
			return nil
		}
	}
	return err
}

// provinces are the province-level prefixes of GB/T 2260 division codes,
// plus 71 (Taiwan), 81 (Hong Kong), 82 (Macau) and 83 (residence permits of
// Taiwan residents).
var provinces = map[string]string{
	"11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
	"21": "Liaoning", "22": "Jilin", "23": "Heilongjiang",
	"31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
	"41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi", "46": "Hainan",
	"50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Tibet",
	"61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang",
	"71": "Taiwan", "81": "Hong Kong", "82": "Macau", "83": "Taiwan (residence permit)",
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckDivision reports whether code is a 6-digit GB/T 2260 administrative
// division code whose first two digits name a real province-level unit.
// It does not check that the prefecture and county parts exist.
func CheckDivision(code string) error {
	const kind = IDKindDivision
	if len(code) != 6 {
		return idErr(kind, code, "length %d, want 6 digits", utf8.RuneCountInString(code))
	}
	for i := 0; i < 6; i++ {
		if code[i] < '0' || code[i] > '9' {
			return idErr(kind, code, "position %d must be a digit", i+1)
		}
	}
	if _, ok := provinces[code[:2]]; !ok {
		return idErr(kind, code, "province prefix %s is not a province-level division", code[:2])
	}
	return nil
}

// ProvinceOf returns the 6-digit province-level code (e.g. "330000") of a
// division code, or "" if code is not a valid division code.
func ProvinceOf(code string) string {
	if CheckDivision(code) != nil {
		return ""
	}
	return code[:2] + "0000"
}

// NormalizeCitizenID trims surrounding spaces and upper-cases a trailing
// check character x, the only normalisation GB 11643 numbers need.
func NormalizeCitizenID(id string) string {
	id = strings.TrimSpace(id)
	if strings.HasSuffix(id, "x") {
		id = id[:len(id)-1] + "X"
	}
	return id
}

var citizenWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckCitizenID reports whether id (after NormalizeCitizenID) is a valid
// 18-character GB 11643 citizen identity number: a real province-level
// address prefix, a real birth date between 1900-01-01 and today (UTC+8),
// and the right check character. It returns nil or an *IDError.
func CheckCitizenID(id string) error {
	return checkCitizenIDAt(id, time.Now())
}

// chinaZone is UTC+8, the zone in which birth dates are written.
var chinaZone = time.FixedZone("CST", 8*3600)

func checkCitizenIDAt(id string, now time.Time) error {
	const kind = IDKindCitizenID
	orig := id
	id = NormalizeCitizenID(id)
	if err := checkLen(kind, orig, id, 18, "a citizen ID"); err != nil {
		return err
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return idErr(kind, orig, "position %d must be a digit", i+1)
		}
	}
	if c := id[17]; (c < '0' || c > '9') && c != 'X' {
		return idErr(kind, orig, "position 18 must be a digit or X")
	}
	if _, ok := provinces[id[:2]]; !ok {
		return idErr(kind, orig, "address code %s: province prefix %s does not exist", id[:6], id[:2])
	}
	birth, err := time.ParseInLocation("20060102", id[6:14], chinaZone)
	if err != nil || birth.Format("20060102") != id[6:14] {
		return idErr(kind, orig, "birth date %s (positions 7-14) is not a calendar date", id[6:14])
	}
	if birth.Year() < 1900 {
		return idErr(kind, orig, "birth date %s is before 1900", id[6:14])
	}
	if birth.After(now.In(chinaZone)) {
		return idErr(kind, orig, "birth date %s is in the future", id[6:14])
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(id[i]-'0') * citizenWeights[i]
	}
	if want := "10X98765432"[sum%11]; id[17] != want {
		return idErr(kind, orig, "check character is %c, expected %c", id[17], want)
	}
	return nil
}

// DetectIDKind guesses the kind of identifier by its shape only (no check
// digits): 18 characters, 17 digits and a final digit or X/x, with a
// province prefix and a plausible birth date, is a citizen ID; 18 characters from the USCC alphabet with digits at positions 3-8 is a
// USCC. Anything else is IDKindUnknown.
func DetectIDKind(s string) IDKind {
	if len(s) != 18 {
		return IDKindUnknown
	}
	if allDigits(s[:17]) {
		if c := s[17]; (c >= '0' && c <= '9') || c == 'X' || c == 'x' {
			_, ok := provinces[s[:2]]
			b, err := time.Parse("20060102", s[6:14])
			if ok && err == nil && b.Year() >= 1900 {
				return IDKindCitizenID
			}
		}
	}
	if strings.Trim(s, usccAlphabet) == "" && allDigits(s[2:8]) {
		return IDKindUSCC
	}
	if allDigits(s[:17]) {
		return IDKindCitizenID
	}
	return IDKindUnknown
}

// MaskCitizenID returns the display form of a citizen ID: the 2-digit
// province, fifteen asterisks and the check character
// ("11***************X"). Input that is not 18 bytes is masked entirely.
//
// The earlier form kept ten digits ("110105********002X": county, sequence,
// check), which left only the birth date to guess (about 36,500 candidates)
// for anyone who could test a guess; this one leaves about 10^10 per
// province (docs/PRIVACY.md). Validate still accepts the earlier form in
// records already in a ledger; admission (CheckPlaintext) refuses it.
func MaskCitizenID(id string) string {
	id = NormalizeCitizenID(id)
	if len(id) != 18 {
		return strings.Repeat("*", utf8.RuneCountInString(id))
	}
	return id[:2] + strings.Repeat("*", 15) + id[17:]
}

// MaskName keeps the first rune of a name and replaces every other rune with
// an asterisk ("张三丰" -> "张**"). A one-rune name is masked entirely.
func MaskName(name string) string {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n <= 1 {
		return strings.Repeat("*", n)
	}
	r, size := utf8.DecodeRuneInString(name)
	if r == utf8.RuneError && size <= 1 {
		return strings.Repeat("*", n)
	}
	return name[:size] + strings.Repeat("*", n-1)
}
