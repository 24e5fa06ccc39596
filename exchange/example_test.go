package exchange_test

import (
	"fmt"

	"github.com/creditx/creditx/exchange"
	"golang.org/x/mod/sumdb/tlog"
)

// The body a log sends to a witness: old size, consistency proof, checkpoint.
func ExampleAddCheckpoint_Encode() {
	body := exchange.AddCheckpoint{
		OldSize:    3,
		Proof:      tlog.TreeProof{{0x01}},
		Checkpoint: []byte("creditx.330000/ledger\n5\nAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n\n— creditx.330000/ledger AAAA\n"),
	}.Encode()
	a, err := exchange.ParseAddCheckpoint(body)
	fmt.Print(string(body))
	fmt.Println(a.OldSize, len(a.Proof), err)
	// Output:
	// old 3
	// AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	//
	// creditx.330000/ledger
	// 5
	// AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=
	//
	// — creditx.330000/ledger AAAA
	// 3 1 <nil>
}

// A mirror extends its frontier by fetched entries and compares the root
// with the verified checkpoint's.
func ExampleFrontier() {
	f := exchange.NewFrontier()
	var hashes []tlog.Hash
	for _, e := range []string{"a", "b", "c"} {
		f.AppendEntry([]byte(e))
		hashes = append(hashes, tlog.RecordHash([]byte(e)))
	}
	// The same root, computed independently by x/mod's tlog.
	want, _ := tlog.TreeHash(3, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		var st []tlog.Hash
		for i, h := range hashes {
			s, _ := tlog.StoredHashesForRecordHash(int64(i), h, tlog.HashReaderFunc(func(j []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(j))
				for k, x := range j {
					out[k] = st[x]
				}
				return out, nil
			}))
			st = append(st, s...)
		}
		out := make([]tlog.Hash, len(idx))
		for k, x := range idx {
			out[k] = st[x]
		}
		return out, nil
	}))
	fmt.Println(f.Size(), f.Root() == want)
	// Output: 3 true
}
