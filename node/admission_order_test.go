package node

import (
	"log/slog"
	"testing"

	"github.com/creditx/creditx/schemas"
)

// TestAdmitterBuiltAfterIndexer: admission hands every accepted parse to
// the indexer (the FSM takes it instead of parsing again), so New builds
// the checker after the indexer. Built without one it panics at once, and
// a node whose checker was never built panics on first use rather than
// building one then without the indexer (what the lazy build did if New's
// order changed: silently, every entry parsed twice).
func TestAdmitterBuiltAfterIndexer(t *testing.T) {
	mustPanic := func(what string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		fn()
	}
	n := &Node{origin: schemas.LedgerOrigin("330000"), access: schemas.AccessOrigin("330000"), logger: slog.New(slog.DiscardHandler)}
	mustPanic("newAdmitter without an indexer", func() { newAdmitter(n, nil) })
	mustPanic("admitter before New built it", func() { n.admitter() })
	n.index = newIndexer(n)
	n.admit = newAdmitter(n, n.index)
	if n.admitter() != n.admit {
		t.Error("admitter is not the checker New built")
	}
}
