package node

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
)

// SeedDev registers the sample agencies' signing keys (publisher, executor)
// through governance records signed by the dev admin key, if the ledger is
// still empty. In production a credit office does this with creditx submit.
func (n *Node) SeedDev(ctx context.Context, agenciesDir string) error {
	var size uint64
	if err := n.fsm.view(func(tx *ledger.ReadTx) error { size = tx.Log(n.origin).Size(); return nil }); err != nil {
		return fmt.Errorf("seeding dev agencies: %w", err)
	}
	if size > 0 {
		return nil
	}
	admin, err := client.LoadCredentials(filepath.Join(agenciesDir, "admin"))
	if err != nil {
		return err
	}
	var entries [][]byte
	for _, name := range []string{"publisher", "executor"} {
		c, err := client.LoadCredentials(filepath.Join(agenciesDir, name))
		if err != nil {
			return err
		}
		e, err := client.RegistrationRecord(n.cfg.Region, admin, c)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	_, err = n.commit(ctx, n.origin, entries)
	return err
}
