package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// signedRecords returns n 1 KiB entries, each a 64-byte Ed25519 signature
// followed by 960 bytes of message, as admission would store them.
func signedRecords(b *testing.B, n int) ([][]byte, ed25519.PublicKey) {
	b.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	out := make([][]byte, n)
	for i := range out {
		msg := make([]byte, 960)
		copy(msg, fmt.Sprintf("record %d ", i))
		rand.Read(msg[40:])
		out[i] = append(ed25519.Sign(priv, msg), msg...)
	}
	return out, pub
}

func checkSigned(pub ed25519.PublicKey) func(uint64, []byte) error {
	return func(i uint64, e []byte) error {
		if len(e) < 64 || !ed25519.Verify(pub, e[64:], e[:64]) {
			return fmt.Errorf("entry %d: bad signature", i)
		}
		return nil
	}
}

// BenchmarkAppendDurable: fsync'd appends of 1 KiB records, one Ed25519
// verification per record (admission), at several batch sizes.
func BenchmarkAppendDurable(b *testing.B) {
	recs, pub := signedRecords(b, 4096)
	check := checkSigned(pub)
	for _, bc := range []struct {
		batch    int
		parallel bool // verify the batch's signatures on all cores, as admission can
	}{{1, false}, {100, false}, {1000, false}, {1000, true}} {
		batch := bc.batch
		name := fmt.Sprintf("batch=%d", batch)
		if bc.parallel {
			name += "/parallel-verify"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "ledger.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			next := 0
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				entries := make([][]byte, n)
				for i := range entries {
					entries[i] = recs[(next+i)%len(recs)]
				}
				workers := 1
				if bc.parallel {
					workers = runtime.GOMAXPROCS(0)
				}
				var wg sync.WaitGroup
				var bad atomic.Int64
				for w := range workers {
					wg.Go(func() {
						for i := w; i < n; i += workers {
							if check(uint64(i), entries[i]) != nil {
								bad.Add(1)
							}
						}
					})
				}
				wg.Wait()
				if bad.Load() != 0 {
					b.Fatal("bad signature")
				}
				if err := s.Update(func(tx *Tx) error { _, err := tx.Append(testOrigin, entries); return err }); err != nil {
					b.Fatal(err)
				}
				next += n
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchLog builds a store of n 1 KiB signed entries with a checkpoint (NoSync).
func benchLog(b *testing.B, n int) (*Store, testKeys, ed25519.PublicKey) {
	b.Helper()
	recs, pub := signedRecords(b, 1024)
	s, err := Open(filepath.Join(b.TempDir(), "ledger.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for i := 0; i < n; i += 1000 {
		batch := make([][]byte, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			batch = append(batch, recs[j%len(recs)])
		}
		if err := s.Update(func(tx *Tx) error { _, err := tx.Append(testOrigin, batch); return err }); err != nil {
			b.Fatal(err)
		}
	}
	k := newKeys(b, testOrigin)
	checkpointNow(b, s, testOrigin, k)
	return s, k, pub
}

// BenchmarkProofs: proof generation from the store and verification
// including the checkpoint signature (P5), at 100,000 entries.
func BenchmarkProofs(b *testing.B) {
	const N = 100_000
	s, k, _ := benchLog(b, N)
	l := s.Log(testOrigin)
	signed, _ := l.Checkpoint()
	cp, _ := OpenCheckpoint(signed, testOrigin, k.verifier)
	leaf := func(i uint64) tlog.Hash {
		e, _ := l.Entry(i)
		return LeafHash(e)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/op")
	}
	b.Run("inclusion/prove", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := l.InclusionProof(uint64(i*7919)%N, N); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	p, _ := l.InclusionProof(12345, N)
	h := leaf(12345)
	b.Run("inclusion/verify+checkpoint", func(b *testing.B) {
		for b.Loop() {
			c, err := OpenCheckpoint(signed, testOrigin, k.verifier)
			if err != nil {
				b.Fatal(err)
			}
			if err := tlog.CheckRecord(p, int64(c.Size), c.Root, 12345, h); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
		b.ReportMetric(float64(len(p)*tlog.HashSize), "proof-bytes")
	})
	b.Run("consistency/prove", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := l.ConsistencyProof(1+uint64(i*7919)%(N-1), N); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	cp2, _ := l.ConsistencyProof(54321, N)
	old, _ := l.TreeHash(54321)
	b.Run("consistency/verify+checkpoint", func(b *testing.B) {
		for b.Loop() {
			c, err := OpenCheckpoint(signed, testOrigin, k.verifier)
			if err != nil {
				b.Fatal(err)
			}
			if err := tlog.CheckTree(cp2, int64(c.Size), c.Root, 54321, old); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	_ = cp
}

// BenchmarkVerify: full offline verification rate of 65,536 1 KiB entries
// from an export (DirSource) and from the store, Merkle only and with one
// Ed25519 verification per entry (P4).
func BenchmarkVerify(b *testing.B) {
	const N = 1 << 16
	s, k, pub := benchLog(b, N)
	dir := b.TempDir()
	if err := Export(context.Background(), s.Log(testOrigin), dir, k.vkey); err != nil {
		b.Fatal(err)
	}
	signed, _ := DirSource(dir).Checkpoint()
	for _, src := range []struct {
		name string
		ts   TileSource
	}{{"dir", DirSource(dir)}, {"store", s.Log(testOrigin)}} {
		for _, mode := range []struct {
			name  string
			check func(uint64, []byte) error
		}{{"merkle", nil}, {"ed25519", checkSigned(pub)}} {
			b.Run(src.name+"/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := Verify(context.Background(), src.ts, signed, testOrigin, k.verifier, mode.check, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(N)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
	b.Run("VerifyStore/merkle", func(b *testing.B) {
		for b.Loop() {
			if _, err := VerifyStore(context.Background(), s, testOrigin, k.verifier, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(N)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkStorage: bytes on disk per entry after 100,000 1 KiB entries
// (P6 target: <= 1.5 x 1024 + 64 = 1600 B/entry). Run with -benchtime=1x.
func BenchmarkStorage(b *testing.B) {
	const N = 100_000
	recs, _ := signedRecords(b, 1024)
	for _, batch := range []int{10, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "ledger.db")
				s, err := Open(path, Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < N; i += batch {
					entries := make([][]byte, 0, batch)
					for j := i; j < min(i+batch, N); j++ {
						entries = append(entries, recs[j%len(recs)])
					}
					if err := s.Update(func(tx *Tx) error { _, err := tx.Append(testOrigin, entries); return err }); err != nil {
						b.Fatal(err)
					}
				}
				var used int64
				s.db.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil })
				s.Close()
				fi, _ := os.Stat(path)
				b.ReportMetric(float64(fi.Size())/N, "file-B/entry")
				b.ReportMetric(float64(used)/N, "B/entry")
			}
		})
	}
}
