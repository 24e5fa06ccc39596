package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/spf13/cobra"
)

// writeReceipts saves each receipt's tlog-proof as DIR/<code>-<index>.tlog-proof
// and returns the paths.
func writeReceipts(dir string, rs []node.Receipt) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		p := filepath.Join(dir, node.ReceiptFileName(r))
		if err := os.WriteFile(p, []byte(r.Proof), 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func newVerifyReceiptCmd() *cobra.Command {
	var manifestPath, recordPath string
	cmd := &cobra.Command{
		Use:   "verify-receipt FILE --manifest M [--record R]",
		Short: "Check a receipt (C2SP tlog-proof) against the consortium manifest's witness policy",
		Long: `Check a receipt written by "creditx submit --proof DIR" (or GET /v1/proof/{code}/{index}) offline:
the leaf hash, the checkpoint's origin and log signature, every cosignature by a witness the manifest knows,
the witness quorum (witness_policy, or witness_quorum other members) and the inclusion proof. With --record
the leaf hash is computed from the signed record; without, the receipt's own (extra line) is used. Prints OK
and what was proved, or FAILED and the step that failed (exit 1).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := exchange.LoadManifest(manifestPath)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var v *exchange.VerifiedReceipt
			if recordPath != "" {
				rec, rerr := os.ReadFile(recordPath)
				if rerr != nil {
					return rerr
				}
				v, err = m.VerifyReceiptFor(b, trimRecord(rec))
			} else {
				v, err = m.VerifyReceipt(b)
			}
			out := cmd.OutOrStdout()
			var re *exchange.ReceiptError
			if errors.As(err, &re) {
				fmt.Fprintf(out, "FAILED at step %q: %v\n", re.Step, re.Err)
				return &exitError{code: 1, msg: "receipt does not verify"}
			}
			if err != nil {
				return err
			}
			fmt.Fprint(out, v.Summary())
			if recordPath == "" {
				fmt.Fprintln(out, "  (leaf hash taken from the receipt; give --record to bind the record itself)")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "consortium manifest (the independent trust: log keys, witness keys and policy)")
	cmd.Flags().StringVar(&recordPath, "record", "", "the signed record the receipt is for (its leaf hash is checked)")
	cmd.MarkFlagRequired("manifest")
	return cmd
}

// trimRecord drops the trailing newline a saved signed record file may have.
func trimRecord(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
