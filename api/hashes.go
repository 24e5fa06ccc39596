package api

import (
	"encoding/base64"

	"golang.org/x/mod/sumdb/tlog"
)

// EncodeHashes is the wire form of a proof's hashes (InclusionProof,
// RangeProof): each hash as standard base64 with padding, in proof order.
func EncodeHashes(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}
