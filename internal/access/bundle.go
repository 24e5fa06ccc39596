package access

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/pki"
)

// Privacy of the tlog-tiles read API (docs/PRIVACY.md, "Entry bundles"):
// package disclose decides which bundles are public (disclose.Bundle,
// scanned once per bundle by tileserve.BundleCache); BundleOrFail serves
// the others only to a consortium credential and logs every such read:
//
//   - agency and office roles (publish, execute, audit, admin): one access-log
//     entry per request, committed before the bundle is sent, naming the
//     bundle and the keyed hashes of the persons its entries name; the purpose
//     is ?purpose= or "ledger_read" (the tlog-tiles clients of creditx audit
//     send none). If the entry cannot be committed the answer is 503.
//   - replicas and members (raft catch-up, mirroring): reported to the
//     caller's read hook only (the node writes a structured log line and the
//     metric creditx_restricted_bundle_reads_total). Their reads are the
//     exchange itself (every member must hold every ledger to witness and
//     mirror it), so they are not written to the replicated access log, which
//     mirroring would otherwise grow by one entry per fetched bundle.

// BundleOrFail decides whether r may receive entry bundle path of origin,
// which holds non-public entries naming persons (keyed hashes; maybe
// none). It writes the refusal (401 without a consortium credential, 400
// or 503 from the access log) and returns false, or logs the read as the
// comment above says and returns true. read is called for every caller
// with a consortium credential, before anything is logged; exchange says
// it is a replica or member, whose read is not written to the access log.
func (l *Log) BundleOrFail(w http.ResponseWriter, r *http.Request, origin, path string, persons []string, read func(id pki.Identity, exchange bool)) bool {
	id := pki.IdentityFromRequest(r)
	switch id.Role {
	case pki.RolePublic:
		httpx.WriteErr(w, httpx.Errorf(http.StatusUnauthorized, "entry bundle %s of %s holds non-public records: a consortium client certificate is required (checkpoints and hash tiles are public)", path, origin))
		return false
	case pki.RoleReplica, pki.RoleMember:
		read(id, true)
		return true
	}
	read(id, false)
	purpose := r.URL.Query().Get("purpose")
	if purpose == "" {
		purpose = "ledger_read"
	}
	what := fmt.Sprintf("entry bundle %s/%s", origin, path)
	if len(persons) > 0 {
		return l.PersonsOrFail(w, r, id, what, persons, purpose)
	}
	return l.PurposeOrFail(w, r, id, what, purpose, "reading entry bundles")
}
