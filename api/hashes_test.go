package api

import (
	"encoding/base64"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestEncodeHashes: each hash in standard base64 with padding, in order,
// in two allocations however many hashes (issue 20).
func TestEncodeHashes(t *testing.T) {
	var p []tlog.Hash
	for i := range 20 {
		p = append(p, tlog.Hash{byte(i), 0xff, byte(3 * i)})
	}
	got := EncodeHashes(p)
	if len(got) != len(p) {
		t.Fatalf("%d strings for %d hashes", len(got), len(p))
	}
	for i, h := range p {
		if want := base64.StdEncoding.EncodeToString(h[:]); got[i] != want {
			t.Errorf("hash %d = %q, want %q", i, got[i], want)
		}
	}
	if got := EncodeHashes(nil); got == nil || len(got) != 0 {
		t.Errorf("EncodeHashes(nil) = %#v, want an empty list", got)
	}
	if n := testing.AllocsPerRun(20, func() { EncodeHashes(p) }); n > 2 {
		t.Errorf("EncodeHashes of %d hashes: %.0f allocations, want at most 2", len(p), n)
	}
}
