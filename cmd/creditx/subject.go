package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
	"github.com/spf13/cobra"
)

func newSubjectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subject",
		Short: "Issue and revoke subject tokens (a listed firm or person reads and contests its own records)",
	}
	cmd.AddCommand(newSubjectIssueCmd(), newSubjectRevokeCmd())
	return cmd
}

// subjectFlagNames maps a token field to the flag that sets it.
var subjectFlagNames = map[string]string{"region": "--region", "uscc": "--uscc", "citizen_id": "--citizen-id", "subject": "--uscc or --citizen-id",
	"name": "--name", "ttl": "--ttl", "key": "--key", "match_key": "--match-key"}

func newSubjectIssueCmd() *cobra.Command {
	var data, keyPath, matchPath, region string
	var req subjecttoken.IssueRequest
	cmd := &cobra.Command{
		Use:   "issue (--uscc CODE | --citizen-id ID) [--name NAME] [--ttl 8h]",
		Short: "Issue a subject token after real-name authentication (credit office)",
		Long: `issue signs a subject token with the credit office's key (the node's sanctions issuer key,
DATA/keys/issuer.key) for an organisation (--uscc) or a natural person (--citizen-id, hashed with the
consortium match key DATA/keys/match.key; the ID itself is not in the token). The subject enters the
token at https://NODE/subject or sends it as "Authorization: Bearer TOKEN" to GET /v1/subject.
Valid 8h by default, at most 24h. Bad input is refused with every field error and nothing is issued.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keyPath = orString(keyPath, filepath.Join(data, "keys", "issuer.key"))
			matchPath = orString(matchPath, filepath.Join(data, "keys", "match.key"))
			key, err := client.ReadSignKey(keyPath)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			var mk *schemas.MatchKey
			if req.CitizenID != "" {
				b, err := os.ReadFile(matchPath)
				if err != nil {
					return fmt.Errorf("--match-key: %w", err)
				}
				k, err := schemas.ParseMatchKey(strings.TrimSpace(string(b)))
				if err != nil {
					return fmt.Errorf("--match-key %s: %w", matchPath, err)
				}
				mk = &k
			}
			req.Region = region
			tok, t, err := subjecttoken.Issue(key, mk, req, time.Now())
			var errs subjecttoken.FieldErrors
			if errors.As(err, &errs) {
				var b strings.Builder
				b.WriteString("no token issued:")
				for _, e := range errs {
					fmt.Fprintf(&b, "\n  %s: %s", orString(subjectFlagNames[e.Field], e.Field), e.Message)
				}
				return errors.New(b.String())
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(cmd.ErrOrStderr(), "subject token for %s %s, serial %s, valid until %s\n", t.Kind, t.Subject, t.Serial,
				time.Unix(t.Expires, 0).UTC().Format(time.RFC3339))
			fmt.Fprintln(w, tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "creditx-data", "data directory holding keys/issuer.key and keys/match.key")
	f.StringVar(&keyPath, "key", "", "credit office signing key (default DATA/keys/issuer.key)")
	f.StringVar(&matchPath, "match-key", "", "consortium match key (default DATA/keys/match.key)")
	f.StringVar(&region, "region", "330000", "division code of the issuing region")
	f.StringVar(&req.USCC, "uscc", "", "the organisation's unified social credit code")
	f.StringVar(&req.CitizenID, "citizen-id", "", "the person's citizen ID (hashed, never stored)")
	f.StringVar(&req.Name, "name", "", "organisation name shown on its page (not for persons)")
	f.DurationVar(&req.TTL, "ttl", subjecttoken.DefaultTTL, "lifetime, at most 24h")
	return cmd
}

func newSubjectRevokeCmd() *cobra.Command {
	var data, reason, nodeURL, admin string
	cmd := &cobra.Command{
		Use:   "revoke SERIAL --reason TEXT (--node URL --admin DIR | --data DIR)",
		Short: "Revoke a subject token by serial on every replica of the region",
		Long: `revoke stops a subject token before it expires. With --node and --admin (the credit office's
admin credentials) the revocation is a raft command of the region: answered once committed, every
replica then refuses the token (POST /v1/subject/revoke). With --data instead it is written only to
that replica's file keys/subject-revoked.txt, for an office whose cluster has lost its quorum: repeat
it on every replica you can reach.`,
		Example: `  creditx subject revoke 0f3a9c2e7b1d4a55 --reason "lost phone" --node https://127.0.0.1:8443 --admin keys/agencies/admin`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (nodeURL == "") == (data == "") {
				return fmt.Errorf("subject revoke: give exactly one of --node (with --admin) and --data")
			}
			if data != "" {
				path := filepath.Join(data, node.SubjectRevokedFile)
				if err := subjecttoken.Revoke(path, args[0], reason); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s in %s (this replica only)\n", args[0], path)
				return nil
			}
			if admin == "" {
				return fmt.Errorf("subject revoke: --node needs --admin, the credit office's admin credentials")
			}
			creds, err := client.LoadCredentials(admin)
			if err != nil {
				return err
			}
			body, err := json.Marshal(node.SubjectRevokeRequest{Serial: args[0], Reason: reason})
			if err != nil {
				return err
			}
			var out node.SubjectRevocation
			if err := creds.Post(cmd.Context(), nodeURL+"/v1/subject/revoke", body, &out); err != nil {
				return err
			}
			if !out.New {
				fmt.Fprintf(cmd.OutOrStdout(), "%s was already revoked (%s, %s)\n", out.Serial, out.RevokedAt.Format(time.RFC3339), out.Reason)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s on every replica of the region\n", out.Serial)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory of one replica (writes only its file)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of any replica of the region")
	cmd.Flags().StringVar(&admin, "admin", "", "the credit office's admin credentials directory")
	cmd.Flags().StringVar(&reason, "reason", "", "why the token is revoked")
	return cmd
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
