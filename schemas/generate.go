package schemas

import (
	"fmt"
	"strings"
)

// CompleteUSCC appends the two check characters to the first 16 characters
// of a unified social credit code (registration authority, organisation type,
// division code, and the 8-character GB 11714 organisation code body), so
// that the result passes CheckUSCC. It is for building test and sample data.
func CompleteUSCC(prefix string) (string, error) {
	if len(prefix) != 16 {
		return "", fmt.Errorf("USCC prefix %q: length %d, want 16", prefix, len(prefix))
	}
	sum := 0
	for i := 0; i < 8; i++ {
		c := prefix[8+i]
		switch {
		case c >= '0' && c <= '9':
			sum += int(c-'0') * orgCodeWeights[i]
		case c >= 'A' && c <= 'Z':
			sum += (int(c-'A') + 10) * orgCodeWeights[i]
		default:
			return "", fmt.Errorf("USCC prefix %q: organisation code character %q", prefix, c)
		}
	}
	var org byte
	switch c := 11 - sum%11; c {
	case 10:
		org = 'X'
	case 11:
		org = '0'
	default:
		org = byte('0' + c)
	}
	code := prefix + string(org)
	sum = 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccAlphabet, code[i])
		if v < 0 {
			return "", fmt.Errorf("USCC prefix %q: character %q is not allowed", prefix, code[i])
		}
		sum += v * usccWeights[i]
	}
	code += string(usccAlphabet[(31-sum%31)%31])
	if err := CheckUSCC(code); err != nil {
		return "", err
	}
	return code, nil
}

// CompleteCitizenID appends the check character to the first 17 digits of a
// citizen ID (address code, birth date, sequence), so that the result passes
// CheckCitizenID if the address and date are real. For test and sample data.
func CompleteCitizenID(prefix string) (string, error) {
	if len(prefix) != 17 || !allDigits(prefix) {
		return "", fmt.Errorf("citizen ID prefix %q: want 17 digits", prefix)
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(prefix[i]-'0') * weights[i]
	}
	id := prefix + string("10X98765432"[sum%11])
	if err := CheckCitizenID(id); err != nil {
		return "", err
	}
	return id, nil
}

// HeaderOf returns the header every record carries.
func HeaderOf(r Record) Header {
	if h, ok := r.(interface{ header() Header }); ok {
		return h.header()
	}
	return Header{}
}

func (h Header) header() Header { return h }
