package node

import (
	"net/http"

	"github.com/creditx/creditx/internal/tileserve"
	"github.com/creditx/creditx/pki"
)

// Privacy of the tlog-tiles read API (docs/PRIVACY.md, "Entry bundles"):
// access.Log.BundleOrFail serves bundles with non-public entries only to a
// consortium credential and logs every such read; this is the node's glue.

// gateRestricted decides whether r may receive entry bundle path of origin,
// which holds non-public entries; persons are the natural persons they
// name (maybe none). It writes the refusal and returns false.
func (n *Node) gateRestricted(w http.ResponseWriter, r *http.Request, origin, path string, persons []string) bool {
	return n.accessLog().BundleOrFail(w, r, origin, path, persons, func(id pki.Identity, exchange bool) {
		n.metrics.restrictedBundles.WithLabelValues(string(id.Role)).Inc()
		if exchange {
			n.logger.Info("restricted entry bundle read", "origin", origin, "path", path, "role", id.Role, "who", id.ID, "region", id.Region, "serial", id.Serial)
		}
	})
}

// bundleCache is the cache of entry bundles' privacy scan and gzip
// encoding (Node.bundles).
type bundleCache = tileserve.BundleCache
