package node

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/internal/tileserve"
	"github.com/creditx/creditx/pki"
)

// Privacy of the tlog-tiles read API (docs/PRIVACY.md, "Entry bundles"):
// package disclose decides which bundles are public (disclose.Bundle,
// scanned once per bundle by tileserve.BundleCache); this file serves the others
// only to a consortium credential and logs every such read:
//
//   - agency and office roles (publish, execute, audit, admin): one access-log
//     entry per request, committed before the bundle is sent, naming the
//     bundle and the keyed hashes of the persons its entries name; the purpose
//     is ?purpose= or "ledger_read" (the tlog-tiles clients of creditx audit
//     send none). If the entry cannot be committed the answer is 503.
//   - replicas and members (raft catch-up, mirroring): a structured log line
//     and the metric creditx_restricted_bundle_reads_total. Their reads are
//     the exchange itself (every member must hold every ledger to witness and
//     mirror it), so they are not written to the replicated access log, which
//     mirroring would otherwise grow by one entry per fetched bundle.

// gateBundle decides whether r may receive bundle (entry bundle path of
// origin). It writes the refusal and returns ok false, or logs the read as
// the package doc above says and returns ok true; public says whether the
// bundle holds only public entries (disclose.Bundle), for its caching headers.
func (n *Node) gateBundle(w http.ResponseWriter, r *http.Request, origin, path string, bundle []byte) (public, ok bool) {
	_, bi := n.bundles.Scan(bundle) // scanned once per bundle (package tileserve)
	if bi.Public {
		return true, true
	}
	return false, n.gateRestricted(w, r, origin, path, bi.Persons)
}

// gateRestricted is gateBundle for a bundle that holds non-public entries;
// persons are the natural persons they name (maybe none).
func (n *Node) gateRestricted(w http.ResponseWriter, r *http.Request, origin, path string, persons []string) bool {
	id := pki.IdentityFromRequest(r)
	switch id.Role {
	case pki.RolePublic:
		writeErr(w, errorf(http.StatusUnauthorized, "entry bundle %s of %s holds non-public records: a consortium client certificate is required (checkpoints and hash tiles are public)", path, origin))
		return false
	case pki.RoleReplica, pki.RoleMember:
		n.metrics.restrictedBundles.WithLabelValues(string(id.Role)).Inc()
		n.logger.Info("restricted entry bundle read", "origin", origin, "path", path, "role", id.Role, "who", id.ID, "region", id.Region, "serial", id.Serial)
		return true
	}
	n.metrics.restrictedBundles.WithLabelValues(string(id.Role)).Inc()
	purpose := r.URL.Query().Get("purpose")
	if purpose == "" {
		purpose = "ledger_read"
	}
	what := fmt.Sprintf("entry bundle %s/%s", origin, path)
	if len(persons) > 0 {
		return n.logPersonsOrFail(w, r, id, what, persons, purpose)
	}
	return n.accessLog().PurposeOrFail(w, r, id, what, purpose, "reading entry bundles")
}

// bundleCache is the cache of entry bundles' privacy scan and gzip
// encoding (Node.bundles).
type bundleCache = tileserve.BundleCache
