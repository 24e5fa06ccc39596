package exchange

import (
	"crypto/ed25519"
	"testing"
)

// BenchmarkEntryVerifierCheck is the per-entry cost of mirror verification
// (envelope, key lookup, Ed25519 signature, decode, validation), the CPU
// bound of catch-up (P7: 10^6 entries in at most 2 minutes needs <= 120 µs
// per entry on one core).
func BenchmarkEntryVerifierCheck(b *testing.B) {
	fx := newEntryFixture(b)
	var entries [][]byte
	for i := 0; i < 256; i++ {
		entries = append(entries, fx.listing(b, uint64(i), fx.pub, "330000"))
	}
	v, _ := NewEntryVerifier(fx.m, fx.mb)
	if _, err := v.Check(0, fx.entries[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Check(v.Next(), entries[i%len(entries)]); err != nil {
			b.Fatal(err)
		}
	}
	_ = ed25519.PublicKeySize
}

// BenchmarkFrontierAppend is the Merkle part of mirror verification.
func BenchmarkFrontierAppend(b *testing.B) {
	f := NewFrontier()
	e := make([]byte, 1500)
	for i := 0; i < b.N; i++ {
		f.AppendEntry(e)
	}
	_ = f.Root()
}

// BenchmarkEntryVerifierCheckBatch is the same work in batches of 1024, as
// the mirror does it (signatures and validation on all CPUs).
func BenchmarkEntryVerifierCheckBatch(b *testing.B) {
	fx := newEntryFixture(b)
	var entries [][]byte
	for i := 0; i < 1024; i++ {
		entries = append(entries, fx.listing(b, uint64(i), fx.pub, "330000"))
	}
	v, _ := NewEntryVerifier(fx.m, fx.mb)
	if _, err := v.Check(0, fx.entries[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.CheckBatch(v.Next(), entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries))/1000, "µs/entry")
}
