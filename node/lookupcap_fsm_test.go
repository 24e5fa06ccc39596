package node

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/ledger"
	"github.com/hashicorp/raft"
)

// TestFSMLookupCap: the FSM charges lookups carried by access-log entries in
// the append's transaction; a command that would pass an identity's cap is
// refused whole (nothing appended, nothing charged), also when the spending
// commands arrive in one batch (two replicas' requests at once); other
// identities and days have their own counts; the count is in ledger.db.
func TestFSMLookupCap(t *testing.T) {
	const origin = "creditx.330000/ledger"
	path := filepath.Join(t.TempDir(), "l.db")
	f, _ := testFSM(t, path)
	f.lookupOrigin = origin // testFSM builds a bare FSM; this test charges the ledger as if it were the access log
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	entry := func(key, day string, n int, nonce string) string {
		b, _ := json.Marshal(AccessRecord{At: t0.Format(time.RFC3339Nano), Role: "execute", Who: "x", What: "check", Purpose: "approval",
			Nonce: nonce, Lookup: &LookupCharge{Key: key, Day: day, N: n, Cap: 1000}})
		return string(b)
	}
	idx := uint64(0)
	apply := func(entries ...string) *applyResult {
		idx++
		return f.ApplyBatch([]*raft.Log{appendLog(t, idx, t0, entries...)})[0].(*applyResult)
	}
	size := func() uint64 {
		var n uint64
		f.view(func(tx *ledger.ReadTx) error { n = tx.Log(origin).Size(); return nil })
		return n
	}
	used := func(key, day string) int {
		var n int
		f.view(func(tx *ledger.ReadTx) error {
			n = limits.LookupsUsed(tx.Bucket(limits.BucketLookups), key, day)
			return nil
		})
		return n
	}
	const a, b, d1, d2 = "execute|330000|A", "audit|330000|B", "2026-03-01", "2026-03-02"
	if r := apply(entry(a, d1, 600, "0000000000000001")); r.Err != nil {
		t.Fatal(r.Err)
	}
	// Two requests of 300 and 200 in one batch: both fit (1100 > 1000 would not).
	idx++
	logs := []*raft.Log{appendLog(t, idx, t0, entry(a, d1, 300, "0000000000000002"))}
	idx++
	logs = append(logs, appendLog(t, idx, t0, entry(a, d1, 200, "0000000000000003")))
	out := f.ApplyBatch(logs)
	var lc *LookupCapError
	if out[0].(*applyResult).Err != nil || !errors.As(out[1].(*applyResult).Err, &lc) || lc.Used != 900 || lc.Asked != 200 {
		t.Fatalf("batch of 300 then 200 after 600: %v, %v; want the second refused at 900 used", out[0].(*applyResult).Err, out[1].(*applyResult).Err)
	}
	if used(a, d1) != 900 || size() != 2 {
		t.Fatalf("after the refusal: used %d, size %d; want 900 and 2 (the refused entry not appended)", used(a, d1), size())
	}
	// One command with two entries passing the cap together: refused whole.
	if r := apply(entry(a, d1, 50, "0000000000000004"), entry(a, d1, 51, "0000000000000005")); !errors.As(r.Err, &lc) || size() != 2 || used(a, d1) != 900 {
		t.Fatalf("two entries of 50 + 51 at 900: %v, size %d, used %d", r.Err, size(), used(a, d1))
	}
	if r := apply(entry(a, d1, 100, "0000000000000006")); r.Err != nil || used(a, d1) != 1000 {
		t.Fatalf("exactly to the cap: %v, used %d", r.Err, used(a, d1))
	}
	if r := apply(entry(a, d1, 1, "0000000000000007")); !errors.As(r.Err, &lc) || lc.Reset() != time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC) {
		t.Fatalf("one past the cap: %v (reset %v), want refused until 16:00 UTC", r.Err, lc.Reset())
	}
	if r := apply(entry(b, d1, 1000, "0000000000000008"), entry(a, d2, 1, "0000000000000009")); r.Err != nil {
		t.Fatalf("another identity, another day: %v", r.Err)
	}
	// Entries without a charge (every other read) are not charged.
	plain, _ := json.Marshal(AccessRecord{At: t0.Format(time.RFC3339Nano), Role: "audit", Who: "y", What: "record", Purpose: "audit", Nonce: "000000000000000a"})
	if r := apply(string(plain)); r.Err != nil {
		t.Fatal(r.Err)
	}
	// Durable: reopen ledger.db.
	f.close()
	f2, err := newFSM(path, ledger.Options{}, fsmConfig{logs: f.logs, lookupOrigin: origin, logger: f.logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f2.close() })
	f = f2
	if used(a, d1) != 1000 || used(b, d1) != 1000 || used(a, d2) != 1 || size() != 6 {
		t.Errorf("after reopening: used %d, %d, %d, size %d; want 1000, 1000, 1, 6", used(a, d1), used(b, d1), used(a, d2), size())
	}
}
