package main

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// TestBenchIngestAcks runs "creditx bench ingest --acks" on a kept local
// region, with receipts of both kinds, and checks every acknowledgement line
// against the ledger afterwards: one line per record, distinct indices, and
// the entry at each index has the acknowledged leaf hash.
func TestBenchIngestAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	for _, tc := range []struct {
		proofs string
		n      int
	}{{"each", 103}, {"batch", 97}} {
		t.Run(tc.proofs, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "region")
			acks := filepath.Join(t.TempDir(), "acks")
			out, err := run(t, "bench", "ingest", "--local", "1", "--local-dir", dir, "--acks", acks, "--proofs", tc.proofs,
				"--n", strconv.Itoa(tc.n), "--concurrency", "4", "--batch", "10")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "records: "+strconv.Itoa(tc.n)+" in "+strconv.Itoa((tc.n+9)/10)+" requests") {
				t.Errorf("summary: %s", out)
			}
			f, err := os.Open(acks)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			seen := map[uint64]bool{}
			err = st.View(func(tx *ledger.ReadTx) error {
				lr := tx.Log(schemas.LedgerOrigin("330000"))
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					idx, lh, ok := strings.Cut(sc.Text(), " ")
					i, err := strconv.ParseUint(idx, 10, 64)
					if !ok || err != nil || len(lh) != 64 {
						t.Fatalf("ack line %q: want \"<index> <64 hex>\"", sc.Text())
					}
					if seen[i] {
						t.Errorf("index %d acknowledged twice", i)
					}
					seen[i] = true
					e, err := lr.Entry(i)
					if err != nil {
						t.Errorf("acknowledged index %d: %v", i, err)
						continue
					}
					if h := tlog.RecordHash(e); hex.EncodeToString(h[:]) != lh {
						t.Errorf("index %d: ledger leaf hash %x, acknowledged %s", i, h[:], lh)
					}
				}
				return sc.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != tc.n {
				t.Errorf("%d acknowledged records, want %d", len(seen), tc.n)
			}
		})
	}
}
