package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/spf13/cobra"
)

// newVaultCmd is "creditx vault": the node's data-key vault for sealed
// personal data (docs/API.md, "Personal data vault").
func newVaultCmd() *cobra.Command {
	var nodeURL, credsDir string
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Store, open or erase the data keys of sealed personal data on a region node",
		Long: `The ledger holds a person's ID and name only sealed under a per-record data key. The node's
vault keeps those keys (wrapped under the region's vault key, replicated by raft):

  put    the agency that submitted the record stores its keys (the file "creditx sample --keys" writes)
  get    that agency or the region's credit office opens the record's persons; a purpose is required
         and every opening is written to the access log
  erase  the credit office destroys the keys for a legal deletion (final); append a correction
         withdrawing the record as well
  rotate the credit office moves the vault key one epoch on (every stored key re-wrapped; the old
         key file is useless)

RECORD is <region code>/<index> of the region's own ledger, as in a receipt.`,
	}
	cmd.PersistentFlags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "node URL")
	cmd.PersistentFlags().StringVar(&credsDir, "creds", "", "credentials directory (the submitting agency's, or the admin's)")
	cmd.MarkPersistentFlagRequired("creds")
	// target is the vault URL of RECORD and the caller's credentials.
	target := func(rec string) (*client.Credentials, string, error) {
		code, idx, ok := strings.Cut(rec, "/")
		if !ok || len(code) != 6 {
			return nil, "", fmt.Errorf("RECORD %q: want <region code>/<index>, e.g. 330000/12", rec)
		}
		if _, err := strconv.ParseUint(idx, 10, 64); err != nil {
			return nil, "", fmt.Errorf("RECORD %q: index %q is not a number", rec, idx)
		}
		c, err := client.LoadCredentials(credsDir)
		if err != nil {
			return nil, "", err
		}
		return c, strings.TrimSuffix(nodeURL, "/") + "/v1/vault/" + code + "/" + idx, nil
	}

	put := &cobra.Command{
		Use:   "put RECORD --keys FILE",
		Short: "Store the data keys of a record's sealed persons (the submitting agency)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keysFile, _ := cmd.Flags().GetString("keys")
			c, u, err := target(args[0])
			if err != nil {
				return err
			}
			body, err := os.ReadFile(keysFile)
			if err != nil {
				return err
			}
			var r api.VaultPutResponse
			if err := c.Put(cmd.Context(), u, body, &r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s #%d: %d key(s) stored\n", r.Origin, r.Index, r.Stored)
			return nil
		},
	}
	put.Flags().String("keys", "", `data keys file: {"keys":[{"person":"<path>","key":"<base64>"}]}`)
	put.MarkFlagRequired("keys")

	get := &cobra.Command{
		Use:   "get RECORD --purpose CODE",
		Short: "Open a record's sealed persons (logged in the access log with the purpose)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			purpose, _ := cmd.Flags().GetString("purpose")
			c, u, err := target(args[0])
			if err != nil {
				return err
			}
			var v api.VaultView
			if err := c.Get(cmd.Context(), u+"?purpose="+url.QueryEscape(purpose), &v); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s #%d (opened for %q; this reading is in the access log)\n", v.Origin, v.Index, purpose)
			for _, p := range v.Persons {
				fmt.Fprintf(w, "  %-40s %s  %s\n", p.Path, p.ID, p.Name)
			}
			return nil
		},
	}
	get.Flags().String("purpose", "", "why the data is read, e.g. approval, objection, audit (required)")
	get.MarkFlagRequired("purpose")

	erase := &cobra.Command{
		Use:   "erase RECORD --reason TEXT",
		Short: "Destroy a record's data keys for a legal deletion (credit office; final)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reason, _ := cmd.Flags().GetString("reason")
			c, u, err := target(args[0])
			if err != nil {
				return err
			}
			var r api.VaultEraseResponse
			if err := c.Delete(cmd.Context(), u+"?reason="+url.QueryEscape(reason), &r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s #%d: %d key(s) destroyed; the sealed data can no longer be opened\n", r.Origin, r.Index, r.Destroyed)
			return nil
		},
	}
	erase.Flags().String("reason", "", "legal ground of the deletion, \"CODE\" or \"CODE: case reference\" (CODE one of decision_revoked, objection_upheld, repair_erase, error_correction, court_order, subject_request, retention_ended; required, recorded in the access log, never personal data)")
	erase.MarkFlagRequired("reason")

	cmd.AddCommand(put, get, erase, newVaultRotateCmd(&nodeURL, &credsDir)) // vault_rotate.go
	return cmd
}
