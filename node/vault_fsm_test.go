package node

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
	"github.com/hashicorp/raft"
)

// TestFSMVault: vault commands through the FSM are refused for an entry that does not exist,
// idempotent for the same key, refused whole (409) for a different key at a
// stored path, erase destroys every key of the entry and leaves a tombstone
// that refuses later puts; and two FSMs applying the same raft log end with
// byte-identical vault buckets and checkpoints.
func TestFSMVault(t *testing.T) {
	dir := t.TempDir()
	const origin = "creditx.330000/ledger"
	vk := make([]byte, vault.KeyLen)
	rand.Read(vk)
	v1, err := vault.NewState(vk, 0) // the sealer's own tests: package vault
	if err != nil {
		t.Fatal(err)
	}
	var dk, dk2 schemas.DataKey
	rand.Read(dk[:])
	rand.Read(dk2[:])
	const p0, p1 = "subject.responsible_persons[0].person", "subject.responsible_persons[1].person"
	w0 := v1.Wrap(origin, 1, p0, dk)

	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	cmd := func(i uint64, c command) *raft.Log {
		c.origin = origin
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		return &raft.Log{Index: i, Type: raft.LogCommand, Data: b, AppendedAt: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	put := func(i, index uint64, items ...vaultItem) *raft.Log {
		return cmd(i, command{op: opVaultPut, index: index, keys: items})
	}
	logs := []*raft.Log{
		put(1, 1, vaultItem{p0, w0}), // no entry 1 yet
		appendLog(t, 2, t0, "a", "b", "c"),
		put(3, 1, vaultItem{p0, w0}, vaultItem{p1, v1.Wrap(origin, 1, p1, dk2)}),
		put(4, 1, vaultItem{p0, w0}),                                                          // retry
		put(5, 1, vaultItem{p1, v1.Wrap(origin, 1, p1, dk)}, vaultItem{"subject.person", w0}), // conflict at p1: nothing stored
		put(6, 2, vaultItem{p0, v1.Wrap(origin, 2, p0, dk)}),
		cmd(7, command{op: opVaultErase, index: 1}),
		cmd(8, command{op: opVaultErase, index: 1}),
		put(9, 1, vaultItem{p0, w0}),
		cmd(10, command{op: opVaultErase, index: 9}),
	}
	f1, _ := testFSM(t, filepath.Join(dir, "a.db"))
	out := f1.ApplyBatch(logs)
	res := func(i int) *applyResult { return out[i].(*applyResult) }
	var conflict *VaultConflictError
	checks := []struct {
		i    int
		ok   bool
		want string
	}{
		{0, errors.Is(res(0).Err, vault.ErrNoEntry), "put before the entry exists: vault.ErrNoEntry"},
		{2, res(2).Err == nil && res(2).Vault == 2, "put: 2 stored"},
		{3, res(3).Err == nil && res(3).Vault == 0, "retry: 0 stored"},
		{4, errors.As(res(4).Err, &conflict) && conflict.Path == p1, "different key: conflict at p1"},
		{5, res(5).Err == nil && res(5).Vault == 1, "other entry: 1 stored"},
		{6, res(6).Err == nil && res(6).Vault == 2, "erase: 2 destroyed"},
		{7, res(7).Err == nil && res(7).Vault == 0, "erase again: 0 destroyed"},
		{8, errors.Is(res(8).Err, vault.ErrErased), "put after erasure: vault.ErrErased"},
		{9, errors.Is(res(9).Err, vault.ErrNoEntry), "erase of a missing entry: vault.ErrNoEntry"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("command %d: got %+v, want %s", c.i+1, res(c.i), c.want)
		}
	}
	var ve1, ve2 vault.Entry
	f1.view(func(tx *ledger.ReadTx) error {
		ve1, ve2 = readVault(tx, origin, 1), readVault(tx, origin, 2)
		return nil
	})
	if !ve1.Erased || len(ve1.Wrapped) != 0 || ve2.Erased || len(ve2.Wrapped) != 1 {
		t.Errorf("after erasure: entry 1 %+v, entry 2 %+v", ve1, ve2)
	}

	// Another replica applying the same log in other batch boundaries.
	f2, _ := testFSM(t, filepath.Join(dir, "b.db"))
	f2.logs = f1.logs
	for _, l := range logs {
		f2.ApplyBatch([]*raft.Log{l})
	}
	dump := func(f *fsm) string {
		var b bytes.Buffer
		f.view(func(tx *ledger.ReadTx) error {
			tx.Bucket(vault.Bucket).ForEach(func(k, v []byte) error { fmt.Fprintf(&b, "%x=%x\n", k, v); return nil })
			cp, _ := tx.Log(origin).Checkpoint()
			b.Write(cp)
			return nil
		})
		return b.String()
	}
	if d1, d2 := dump(f1), dump(f2); d1 != d2 {
		t.Errorf("replicas differ:\n%s\n%s", d1, d2)
	}
}
