package node

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/creditx/creditx/vault"
)

// NextVaultKeyForTest is the vault key (hex) of the epoch after keyHex's:
// the ratchet step of package vault.
func NextVaultKeyForTest(keyHex string) string {
	k, err := hex.DecodeString(strings.Fields(keyHex)[0])
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(vault.NextKey(k))
}

// ApplyVaultRotateForTest proposes op 8 rotating from epoch, as a retry of
// POST /v1/vault/rotate whose answer was lost would.
func ApplyVaultRotateForTest(n *Node, epoch uint64) error {
	_, err := n.propose(context.Background(), command{op: opVaultRotate, origin: n.origin, index: epoch})
	return err
}
