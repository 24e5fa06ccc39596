package main

import (
	"fmt"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/spf13/cobra"
)

// newVaultRotateCmd is "creditx vault rotate": the credit office moves the
// region's vault key one epoch on (POST /v1/vault/rotate, internal/vaultops).
func newVaultRotateCmd(nodeURL, credsDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the region's vault key (credit office): every stored key re-wrapped, the old key file replaced on every replica",
		Long: `Every replica re-wraps every stored data key under the next vault key, derived one way from the
current one, and replaces keys/vault.key: a copy of the old key file opens nothing stored in ledger.db
any more. The rotation is a raft command and is written to the access log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client.LoadCredentials(*credsDir)
			if err != nil {
				return err
			}
			var r api.VaultRotateResponse
			if err := c.Post(cmd.Context(), strings.TrimSuffix(*nodeURL, "/")+"/v1/vault/rotate", nil, &r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "region %s: vault key rotated from epoch %d to %d; %d stored key(s) re-wrapped; each replica replaces keys/vault.key as it applies the rotation\n",
				r.Region, r.From, r.Epoch, r.Rewrapped)
			return nil
		},
	}
}
