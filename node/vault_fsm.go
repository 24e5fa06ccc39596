package node

import (
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/vault"
)

// The FSM side of the data-key vault (package vault owns the keys, the
// wrapping, the ratchet and the bucket; this is ops 6-8 of command.go).

// VaultConflictError is the FSM's answer to a vault-put that would replace a
// stored key at Path with a different one; nothing of the command is stored.
type VaultConflictError = vault.ConflictError

// applyVault applies ops 6-7. It depends only on the command and ledger.db
// (and the raft time for the tombstone), so every replica writes the same
// bytes. A returned error is a storage failure; a refused command is
// reported in the result with nothing written.
func (f *fsm) applyVault(tx *ledger.Tx, c command) (*applyResult, error) {
	r := &applyResult{Origin: c.origin, Indices: []uint64{c.index}}
	if c.index >= tx.Log(c.origin).Size() {
		r.Err = vault.ErrNoEntry
		return r, nil
	}
	b, err := tx.Bucket(vault.Bucket)
	if err != nil {
		return nil, err
	}
	switch c.op {
	case opVaultPut:
		items := make([]vault.Item, len(c.keys))
		for i, k := range c.keys {
			items[i] = vault.Item{Path: k.path, Wrapped: k.wrapped}
		}
		if r.Vault, r.Err, err = vault.Put(b, c.origin, c.index, items); err != nil {
			return nil, err
		}
	case opVaultErase:
		var epoch uint64
		if r.Vault, epoch, err = vault.Erase(b, c.origin, c.index, f.vault, f.now, f.logger); err != nil {
			return nil, err
		}
		if epoch != 0 {
			f.vaultEpoch = epoch // ApplyBatch advances the key file after the commit
		}
	}
	return r, nil
}

// readVault returns the vault's state for entry index of origin.
func readVault(tx *ledger.ReadTx, origin string, index uint64) vault.Entry {
	return vault.Read(tx.Bucket(vault.Bucket), origin, index)
}

// syncVaultEpoch brings keys/vault.key to the epoch stored in ledger.db (on
// start, after a snapshot install, and after each erasure's commit).
func (n *Node) syncVaultEpoch() error {
	if n.vault == nil {
		return nil
	}
	var epoch uint64
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		epoch = vault.StoredEpoch(tx.Bucket(vault.Bucket))
		return nil
	}); err != nil {
		// Ratcheting to a guessed epoch could destroy a key still needed,
		// or keep one that must go: refuse (New does not start).
		return fmt.Errorf("vault: reading the erasure epoch: %w", err)
	}
	return n.vault.AdvanceTo(epoch)
}

// applyVaultRotate is the FSM side of op 8 (POST /v1/vault/rotate, package
// vaultops): from the epoch c.index, ratchet the vault key once
// (vault.Rotate re-wraps every live key in this transaction; ApplyBatch
// replaces the key file after the commit).
func (f *fsm) applyVaultRotate(tx *ledger.Tx, c command) (*applyResult, error) {
	r := &applyResult{Origin: c.origin}
	b, err := tx.Bucket(vault.Bucket)
	if err != nil {
		return nil, err
	}
	epoch, n, moved, refusal, err := vault.Rotate(b, c.index, f.vault, f.logger)
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		r.Err = refusal
		return r, nil
	}
	r.Epoch, r.Vault = epoch, n
	if moved {
		f.vaultEpoch = epoch
	}
	return r, nil
}
