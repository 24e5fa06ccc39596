package vaultops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/creditx/creditx/schemas"
)

// Reasons written to the access log (issue 14; docs/PRIVACY.md). The
// access log is append-only and replicated: personal data written into it
// can never be erased. So what a caller may write there is constrained:
//
//   - a purpose (?purpose=, "purpose" of POST /v1/check and
//     POST /v1/persons/hash) is a code of the catalogue in node's params.go
//     (Config.CheckPurpose), never free text;
//   - an erasure reason is "<code>" or "<code>: <free text>", the code from
//     EraseReasons, the free text at most 200 characters and scanned by
//     schemas.ScanPersonalText (no citizen ID, no mobile number). A name in
//     free text cannot be recognised by pattern; the catalogue code carries
//     the legal ground and the text is meant for a case reference.

// EraseReasons is the catalogue of legal grounds for erasing a record's data
// keys (DOMAIN.md section 3-4 deletion duties; PIPL art. 47).
var EraseReasons = []string{
	"decision_revoked", // the underlying decision was revoked (withdraw within 3 working days)
	"objection_upheld", // an objection about the person's data was upheld
	"repair_erase",     // a repair decision with effect "erase payload"
	"error_correction", // the data was wrong
	"court_order",      // a court ordered the deletion
	"subject_request",  // the person's own request (PIPL art. 47)
	"retention_ended",  // the retention period ended
}

// ParseEraseReason checks an erasure reason and returns it normalised
// ("code" or "code: text").
func ParseEraseReason(s string) (string, error) {
	code, text, _ := strings.Cut(strings.TrimSpace(s), ":")
	code, text = strings.TrimSpace(code), strings.TrimSpace(text)
	if !slices.Contains(EraseReasons, code) {
		return "", fmt.Errorf("reason: %q is not a legal ground for erasure; give ?reason=<code>[: case reference] with a code from %v", code, EraseReasons)
	}
	if text == "" {
		return code, nil
	}
	if n := len([]rune(text)); n > 200 {
		return "", fmt.Errorf("reason: the free text is %d characters, at most 200", n)
	}
	for _, r := range text {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("reason: the free text holds a control character")
		}
	}
	if msg := schemas.ScanPersonalText(text); msg != "" {
		return "", fmt.Errorf("reason: the free text %s; the access log is append-only, so personal data is never written to it: give a case reference", msg)
	}
	return code + ": " + text, nil
}
