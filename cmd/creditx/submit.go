package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
)

// signedOrSign returns file content as a signed entry: as is if it already is
// a signed envelope, otherwise canonicalized, decoded and signed with creds.
func signedOrSign(creds *client.Credentials, b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if s, err := schemas.ParseSigned(b); err == nil {
		_ = s
		return b, nil
	}
	canon, err := schemas.Canonicalize(b)
	if err != nil {
		return nil, err
	}
	rec, err := schemas.Decode(canon)
	if err != nil {
		return nil, err
	}
	return creds.Sign(rec)
}

func newSignCmd() *cobra.Command {
	var credsDir string
	cmd := &cobra.Command{
		Use:   "sign --creds DIR FILE",
		Short: "Sign a record file with an agency's key and print the signed entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			e, err := signedOrSign(creds, b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", e)
			return nil
		},
	}
	cmd.Flags().StringVar(&credsDir, "creds", "", "agency credentials directory (tls.crt, tls.key, ca.crt, sign.key)")
	cmd.MarkFlagRequired("creds")
	return cmd
}

func newSubmitCmd() *cobra.Command {
	var credsDir, nodeURL, proofDir string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "submit --node URL --creds DIR [--proof DIR] FILE...",
		Short: "Sign (if needed) and submit record files to a region node",
		Long: `Submit records to a region node. Each FILE holds one record (any JSON formatting; it is
canonicalized and signed with the agency's sign.key) or an already signed entry. All files go in
one batch: either all are written or none. Prints each record's index and receipt. With --proof DIR (a
consortium member's node) it waits up to --wait until a checkpoint covering the records carries the witness
quorum and writes one receipt per record, DIR/<code>-<index>.tlog-proof, for "creditx verify-receipt".`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			var entries [][]byte
			for _, f := range args {
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				e, err := signedOrSign(creds, b)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				entries = append(entries, e)
			}
			var rs []node.Receipt
			if proofDir != "" {
				rs, err = creds.SubmitWitnessed(cmd.Context(), nodeURL, wait, entries...)
			} else {
				rs, err = creds.Submit(cmd.Context(), nodeURL, entries...)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for i, r := range rs {
				dup := ""
				if r.Duplicate {
					dup = " (already in the ledger)"
				}
				fmt.Fprintf(out, "%s: %s index %d%s, leaf %s\n", args[i], r.Origin, r.Index, dup, r.LeafHash)
			}
			if len(rs) > 0 {
				fmt.Fprintf(out, "checkpoint:\n%s", rs[len(rs)-1].Checkpoint)
			}
			if proofDir != "" {
				paths, err := writeReceipts(proofDir, rs)
				if err != nil {
					return err
				}
				for _, p := range paths {
					fmt.Fprintf(out, "receipt: %s\n", p)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&proofDir, "proof", "", "wait for the witness quorum and write each record's receipt (tlog-proof) to DIR")
	cmd.Flags().DurationVar(&wait, "wait", node.DefaultWitnessWait, "with --proof: how long the node waits for the witness quorum")
	cmd.Flags().StringVar(&credsDir, "creds", "", "agency credentials directory")
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "region node URL")
	cmd.MarkFlagRequired("creds")
	return cmd
}

func newSampleCmd() *cobra.Command {
	var credsDir, domain, nodeURL, purpose string
	var n uint64
	var person bool
	var keysFile string
	cmd := &cobra.Command{
		Use:   "sample listing --creds DIR [--keys FILE]",
		Short: "Print a valid sample listing record for the agency in DIR",
		Long: `Print a valid sample listing record for the agency in DIR. With --responsible-person (the
default) the listing names a legal representative whose ID and name are sealed under a fresh data key;
--keys FILE writes those keys, as the body "creditx vault put" sends to the node's data-key vault once the
record is in the ledger (without it the keys are discarded and the sealed data can never be opened).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "listing" {
				return fmt.Errorf("unknown sample kind %q (known: listing)", args[0])
			}
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			o := synth.Options{Region: creds.Identity.Region, Authority: schemas.Agency{Name: creds.Identity.Name, USCC: creds.Identity.ID},
				Domain: domain, Now: time.Now().UTC()}
			var keys api.VaultPutRequest
			if person {
				o.Rand = rand.Reader
				if creds.MatchKey != nil {
					o.MatchKey = *creds.MatchKey
				} else {
					// Agencies hold no match key: the node hashes the ID
					// (POST /v1/persons/hash, logged).
					if nodeURL == "" {
						return errors.New("--node is required to hash the responsible person's ID (agencies hold no match key)")
					}
					o.HashID = func(id string) (string, error) {
						hs, err := creds.HashIDs(cmd.Context(), nodeURL, purpose, id)
						if err != nil {
							return "", err
						}
						return hs[0], nil
					}
				}
				o.DataKeys = func(path string, dk schemas.DataKey) {
					keys.Keys = append(keys.Keys, api.VaultKeyJSON{Person: path, Key: base64.StdEncoding.EncodeToString(dk[:])})
				}
			}
			if n == 0 {
				n = uint64(time.Now().UnixNano() % 100000000)
			}
			l, err := synth.Listing(n, o)
			if err != nil {
				return err
			}
			canon, err := schemas.Encode(l)
			if err != nil {
				return err
			}
			if keysFile != "" {
				kb, err := json.MarshalIndent(keys, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(keysFile, append(kb, '\n'), 0o600); err != nil {
					return err
				}
			}
			var b bytes.Buffer
			json.Indent(&b, canon, "", "  ")
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b.Bytes())
			return nil
		},
	}
	cmd.Flags().StringVar(&credsDir, "creds", "", "publishing agency credentials directory")
	cmd.Flags().StringVar(&domain, "domain", "environment", "environment, tourism, food_drug or product_quality")
	cmd.Flags().Uint64Var(&n, "n", 0, "sequence number of the synthetic subject (0: derived from the clock)")
	cmd.Flags().BoolVar(&person, "responsible-person", true, "include a (sealed, hashed) legal representative")
	cmd.Flags().StringVar(&keysFile, "keys", "", "write the sealed persons' data keys to FILE (mode 0600) for \"creditx vault put\"")
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "region node that hashes the person's ID (POST /v1/persons/hash; unless DIR holds match.key)")
	cmd.Flags().StringVar(&purpose, "purpose", "listing", "purpose code recorded in the node's access log for the hashing")
	cmd.MarkFlagRequired("creds")
	return cmd
}
