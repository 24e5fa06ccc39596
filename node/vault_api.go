package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/vaultops"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// The vault endpoints (PUT/GET/DELETE /v1/vault/{code}/{index}, POST
// /v1/vault/rotate) are package vaultops; the FSM side (ops 6-8) is
// vault_fsm.go. This file is the glue: the node as vaultops.Node.

// EraseReasons is the catalogue of legal grounds for erasing a record's
// data keys (vaultops.EraseReasons).
var EraseReasons = vaultops.EraseReasons

func (n *Node) vaultOps() *vaultops.Handlers {
	return vaultops.New(vaultops.Config{
		Region: n.cfg.Region, Origin: n.origin, VaultKey: n.cfg.VaultKey, Ring: n.vault, MaxKeys: maxVaultKeys,
		CheckPurpose: checkPurpose, ReadError: n.publicReadError,
	}, vaultNode{n})
}

func (n *Node) handleVaultPut(w http.ResponseWriter, r *http.Request)    { n.vaultOps().Put(w, r) }
func (n *Node) handleVaultGet(w http.ResponseWriter, r *http.Request)    { n.vaultOps().Get(w, r) }
func (n *Node) handleVaultErase(w http.ResponseWriter, r *http.Request)  { n.vaultOps().Erase(w, r) }
func (n *Node) handleVaultRotate(w http.ResponseWriter, r *http.Request) { n.vaultOps().Rotate(w, r) }

// vaultNode is the node as vaultops.Node.
type vaultNode struct{ n *Node }

func (v vaultNode) Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	return v.n.require(w, r, roles...)
}

func (v vaultNode) View(fn func(tx *ledger.ReadTx) error) error { return v.n.fsm.view(fn) }

func (v vaultNode) LogAccess(ctx context.Context, id pki.Identity, what, purpose string) error {
	return v.n.logAccess(ctx, id, what, purpose)
}

func (v vaultNode) Propose(ctx context.Context, op vaultops.Op) (vaultops.Result, *api.ErrorBody) {
	c := command{origin: v.n.origin, index: op.Index}
	switch op.Kind {
	case vaultops.Put:
		c.op = opVaultPut
		for _, k := range op.Keys {
			c.keys = append(c.keys, vaultItem{path: k.Path, wrapped: k.Wrapped})
		}
	case vaultops.Erase:
		c.op = opVaultErase
	case vaultops.Rotate:
		c.op = opVaultRotate
	}
	p, err := v.n.propose(ctx, c)
	if err != nil {
		return vaultops.Result{}, v.n.proposeErr(err)
	}
	return vaultops.Result{Count: p.region.Count, Epoch: p.region.Epoch}, nil
}

// writeProposeErr writes the answer for an error of propose of a
// region-state command (proposeErr); false if err is nil.
func (n *Node) writeProposeErr(w http.ResponseWriter, err error) bool {
	if err == nil {
		return false
	}
	writeErr(w, n.proposeErr(err))
	return true
}

// proposeErr is the answer for a non-nil error of propose of a
// region-state command: the FSM's refusal, or 503 (not committed, safe to
// retry).
func (n *Node) proposeErr(err error) *apiError {
	var refused *refusedError
	if errors.As(err, &refused) {
		return refused.ae
	}
	n.logger.Error("command not committed", "err", err)
	return errorf(http.StatusServiceUnavailable, "not committed, safe to retry: %v", err)
}

// vaultRefusal maps a vault command the FSM refused to its API answer
// (vaultops.Refusal); any other error as it is.
func vaultRefusal(err error) error {
	if ae := vaultops.Refusal(err); ae != nil {
		return &refusedError{ae}
	}
	return err
}
