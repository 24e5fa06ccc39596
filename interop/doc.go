// Package interop checks creditx's witness side against implementations
// nobody here wrote, fetched as modules: Tessera (transparency-dev/tessera
// v1.0.4, a POSIX log whose own witness client asks a creditx node to cosign)
// and torchwood's litewitness (filippo.io/torchwood v0.6.1, an external
// witness named in the consortium's tlog-policy that a creditx member pushes
// its checkpoints to and counts toward its quorum).
//
// It is a separate module (replace => ..) so that these dependencies stay
// out of creditx's go.mod. Run: cd interop && go test -count=1 -timeout 10m ./...
package interop
