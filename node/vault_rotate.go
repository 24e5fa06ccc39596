package node

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/vault"
)

// Wire types of this file's endpoints (package api).
type (
	VaultRotateResponse = api.VaultRotateResponse
)

// Vault-key rotation on request (issue 14, "vault-key rotation";
// docs/PRIVACY.md "Erasure").
//
//	POST /v1/vault/rotate          (role admin of this region; no body)
//	-> 200 {"region", "from_epoch", "epoch", "rewrapped"}
//
// The credit office moves the region's vault key one epoch on, the same way
// an erasure does (package vault), without erasing anything: raft op 8
// (vault-rotate, command.go) carries the epoch rotated from; every replica's
// FSM re-wraps every live wrapped key under K(e+1) = HMAC(K(e), label) in one
// transaction and stores the epoch, then replaces keys/vault.key (temporary
// file, fsync, rename, directory fsync). K(e) is then on no replica's disk,
// and it cannot be derived from K(e+1): a copy of the old key file (a backup,
// a departed operator's) opens nothing in ledger.db any more, nor any key
// stored after the rotation.
//
// Idempotent: a command whose epoch is behind the stored one (a retry after
// the answer was lost, or a concurrent rotation or erasure moved the key
// first) changes nothing and answers the current epoch, which is past the
// one the caller wanted retired. A crash between the commit and the
// rename is finished at the next start (syncVaultEpoch), as for erasures.
//
// What rotation does not reach: wrapped keys in raft.db's log entries and in
// freed pages (stored before the rotation, under K(e)); they open only with
// K(e), which is gone unless someone copied it. Rotation is for retiring a
// key that may have been copied only together with a later compaction of
// the raft log (snapshot_threshold, trailing_logs).

// handleVaultRotate is POST /v1/vault/rotate.
func (n *Node) handleVaultRotate(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "only the credit office of region %s may rotate its vault key", n.cfg.Region))
		return
	}
	var from uint64
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		from = vault.StoredEpoch(tx.Bucket(vault.Bucket))
		return nil
	}); err != nil {
		n.readError(w, "the vault epoch", err)
		return
	}
	if err := n.logAccess(r.Context(), id, fmt.Sprintf("vault rotate key of region %s from epoch %d", n.cfg.Region, from), "key_rotation"); err != nil {
		writeErr(w, errorf(http.StatusServiceUnavailable, "the rotation could not be recorded, so it was not done; retry: %v", err))
		return
	}
	// Once raft commits the command every replica re-wraps and replaces its
	// key file; if this process dies before answering, the retry reads the
	// new epoch and rotates once more (harmless: one more step forward).
	p, err := n.propose(r.Context(), command{op: opVaultRotate, origin: n.origin, index: from})
	if n.writeProposeErr(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, VaultRotateResponse{Region: n.cfg.Region, From: from, Epoch: p.region.Epoch, Rewrapped: p.region.Count})
}

// applyVaultRotate is the FSM side of op 8: from the epoch c.index, ratchet
// the vault key once (vault.Rotate re-wraps every live key in this
// transaction; ApplyBatch replaces the key file after the commit).
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
