package node

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Strict query parameters (issue 11 item 8): every enumerated parameter is
// checked against its values and anything else answers 400 naming the
// parameter and what it accepts, instead of being ignored (state=bogus
// answered 200 []) or recorded as given (any free-text purpose went into the
// access log).

// purposes is the catalogue of purposes for which personal data may be read
// (?purpose= on every read that is recorded in the access log). The code is
// what the access log records; the description is for the caller.
var purposes = map[string]string{
	"approval":         "deciding an administrative approval, licence or qualification (行政审批)",
	"procurement":      "public procurement, bidding or funding eligibility (政府采购、招投标)",
	"supervision":      "supervision and inspection of the subject (事中事后监管)",
	"enforcement":      "executing a joint sanction measure (联合惩戒)",
	"objection":        "handling an objection, correction or credit repair (异议处理、信用修复)",
	"audit":            "auditing the register and its use (审计)",
	"judicial":         "a court or prosecutor's request (司法协助)",
	"sanction_notices": "reading the sanction notices addressed to one's own agency (default of GET /v1/notices)",
	"legal_erasure":    "a legal erasure of personal data (set by DELETE /v1/vault)",
	"key_rotation":     "the credit office rotating the region's vault key (set by POST /v1/vault/rotate)",
	"listing":          "filing a listing that names a person: hashing the ID (POST /v1/persons/hash, default of creditx sample listing)",
	"subject_access":   "a subject reading its own records with a subject token (本人查询, GET /v1/subject and /subject)",
	"ledger_read":      "reading entry bundles of the ledger that hold restricted or personal content (default of /ledger/.../tile/entries)",
}

// Purposes returns the catalogue of access purposes, code -> description.
func Purposes() map[string]string { return maps.Clone(purposes) }

// checkPurpose answers nil for a purpose from the catalogue, else a 400
// naming the parameter and listing the codes. An empty purpose is refused
// with the reason given (required: reading personal data).
func checkPurpose(p, why string) *apiError {
	if p == "" {
		return errorf(http.StatusBadRequest, "purpose: %s requires a purpose code (?purpose= on a GET, the \"purpose\" field of a JSON body), one of %s", why, purposeCodes())
	}
	if _, ok := purposes[p]; !ok {
		return errorf(http.StatusBadRequest, "purpose: %q is not a purpose of the catalogue; use one of %s", clip(p), purposeCodes())
	}
	return nil
}

func purposeCodes() string {
	return strings.Join(slices.Sorted(maps.Keys(purposes)), ", ")
}

// parseCount parses an optional non-negative decimal parameter name, at
// most max (def if absent).
func parseCount(name, s string, def, max uint64) (uint64, *apiError) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > max {
		return 0, errorf(http.StatusBadRequest, "%s: %q is not a whole number from 0 to %d", name, clip(s), max)
	}
	return v, nil
}

// clip shortens a caller's value quoted back in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
