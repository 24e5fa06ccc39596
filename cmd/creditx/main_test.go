package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain runs the package's tests independent of the caller's shell: the
// FABRIC_* variables of anchor/README.md would make every in-process audit
// cross-check its fixtures against a live Fabric channel.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FABRIC_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}
