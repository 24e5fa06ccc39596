package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain runs the package's tests independent of the caller's shell: the
// FABRIC_* variables of anchor/README.md would make every in-process audit
// cross-check its fixtures against a live Fabric channel.
//
// With CREDITX_TEST_MAIN=1 the test binary is the creditx command instead,
// with the arguments in CREDITX_TEST_ARGS (space-separated): tests that
// signal a real process use it (demo_clean_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("CREDITX_TEST_MAIN") == "1" {
		os.Args = append([]string{"creditx"}, strings.Fields(os.Getenv("CREDITX_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FABRIC_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}
