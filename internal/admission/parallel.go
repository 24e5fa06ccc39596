package admission

import (
	"runtime"
	"sync"

	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// parallelMin is the smallest batch whose records parallel spreads over
// several goroutines: below it the goroutines cost more than they save.
const parallelMin = 8

// parallel runs admit on every entry of a batch and returns each entry's
// problems, in order (nil where it passed). Records are independent at
// admission (each reads the ledger under its own read transaction and the
// keyring snapshot kr), so the batch is split into one contiguous chunk
// per CPU: a large request is verified on all cores instead of one, which
// shortens its latency when fewer requests than cores are in flight.
//
// Each signature is still checked strictly, as crypto/ed25519 does
// (schemas.Keyring.VerifyKey: Signed.Verify's check with the key decoded
// and a table of its multiples built once per keyring key, ~40% of
// Signed.Verify's cost; RFC 8032, cofactorless), not with Ed25519 batch verification
// (schemas.VerifyBatch, ZIP-215): a batch verifier accepts signatures that
// a signer deliberately built with a small-order component, which strict
// verifiers (ours offline, mirrors, third-party auditors) refuse, and
// admission at the origin is what keeps such an entry out of the ledger
// (see schemas.VerifyBatch). Proving a batch torsion-free costs a scalar
// multiplication per signature, about what it would save.
func (c *Checker) parallel(id pki.Identity, kr *schemas.Keyring, at []uint64, entries [][]byte) [][]Problem {
	out := make([][]Problem, len(entries))
	workers := min(runtime.GOMAXPROCS(0), len(entries)/parallelMin)
	if workers <= 1 {
		for i, e := range entries {
			out[i] = c.admit(id, kr, at[i], i, e)
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(entries) + workers - 1) / workers
	for lo := 0; lo < len(entries); lo += chunk {
		hi := min(len(entries), lo+chunk)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i] = c.admit(id, kr, at[i], i, entries[i])
			}
		})
	}
	wg.Wait()
	return out
}
