package access

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
)

// purposes is the catalogue of purposes for which personal data may be read
// (?purpose= on every read that is recorded in the access log). The code is
// what the access log records; the description is for the caller. A code
// removed from it makes old entries name a purpose no longer offered, never
// invalid.
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

// CheckPurpose answers nil for a purpose from the catalogue, else a 400
// naming the parameter and listing the codes. An empty purpose is refused
// with the reason given (why: "reading personal data" requires one).
func CheckPurpose(p, why string) *api.ErrorBody {
	if p == "" {
		return httpx.Errorf(http.StatusBadRequest, "purpose: %s requires a purpose code (?purpose= on a GET, the \"purpose\" field of a JSON body), one of %s", why, purposeCodes())
	}
	if _, ok := purposes[p]; !ok {
		return httpx.Errorf(http.StatusBadRequest, "purpose: %q is not a purpose of the catalogue; use one of %s", httpx.Clip(p), purposeCodes())
	}
	return nil
}

func purposeCodes() string {
	return strings.Join(slices.Sorted(maps.Keys(purposes)), ", ")
}
