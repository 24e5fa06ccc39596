package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// newMemberCmd is "creditx member": membership governed on the ledger
// (issue 16).
func newMemberCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Membership on the ledger: a city's key ceremony, proposals, approvals, the membership in force"}
	cmd.AddCommand(newMemberInitCmd(), newMemberWrapKeyCmd(), newMemberProposeCmd(), newMemberApproveCmd(), newMemberListCmd())
	return cmd
}

// fetchMembership reads GET /v1/membership of nodeURL and parses the
// manifest in force.
func fetchMembership(ctx context.Context, creds *client.Credentials, nodeURL string) (*node.MembershipView, *exchange.Manifest, error) {
	var v node.MembershipView
	if err := creds.Get(ctx, strings.TrimSuffix(nodeURL, "/")+"/v1/membership", &v); err != nil {
		return nil, nil, fmt.Errorf("reading the membership of %s: %w", nodeURL, err)
	}
	m, err := exchange.ParseManifest([]byte(v.Manifest))
	if err != nil {
		return nil, nil, fmt.Errorf("the manifest in force served by %s: %w", nodeURL, err)
	}
	if h := exchange.ManifestHash(m); h != v.InForce {
		return nil, nil, fmt.Errorf("the manifest in force served by %s hashes to %s, not %s", nodeURL, h, v.InForce)
	}
	return &v, m, nil
}

func newMemberInitCmd() *cobra.Command {
	var s provision.MemberInitSpec
	var out, wrapped string
	cmd := &cobra.Command{
		Use:   "init --code CODE --name NAME --api HOST:PORT --raft HOST:PORT --out DIR",
		Short: "A new member's key ceremony: region CA, ledger and witness keys, member certificate, node.yaml",
		Long: `init prepares a new member (a city) in the empty directory DIR: its region CA (DIR/ca), the credit
office's and sample agencies' credentials (DIR/agencies), ledger, access-log and witness keys, a member
certificate for the exchange (DIR/tls/member), DIR/node.yaml, and:

  DIR/join.json           the join change to propose ("creditx member propose --change DIR/join.json")
  DIR/match-request.txt   the request for the consortium matching key: hand it to a founder, who runs
                          "creditx member wrap-key" and gives back the wrapped key

The member holds no matching key until it is given the wrapped one: run init again with --wrapped FILE
(and the same --code and --out) to open it into DIR/keys/match.key. The wrapped key opens only with
this member's request key and only for this code, so it may travel by any channel.`,
		Example: `  creditx member init --code 330100 --name 杭州市 --api 10.1.0.1:8443 --raft 10.1.0.1:9443 --out hz
  creditx member init --code 330100 --out hz --wrapped hz-match.wrapped`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if wrapped != "" {
				b, err := os.ReadFile(wrapped)
				if err != nil {
					return err
				}
				mk, err := provision.CompleteMemberMatchKey(out, s.Code, string(b))
				if err != nil {
					return fmt.Errorf("member init --wrapped %s: %w", wrapped, err)
				}
				fmt.Fprintf(w, "consortium matching key opened into %s (fingerprint %s)\n", filepath.Join(out, "keys", "match.key"), mk.HashID("000000000000000000")[3:15])
				return nil
			}
			if s.API == "" || s.Raft == "" {
				return fmt.Errorf("member init: --api and --raft are required (or --wrapped to finish a ceremony)")
			}
			cfg, c, err := provision.PrepareMember(out, s)
			if err != nil {
				return fmt.Errorf("member init: %w", err)
			}
			fmt.Fprintf(w, "member %s (%s) prepared in %s\n", c.Code, c.Name, out)
			fmt.Fprintf(w, "  endpoint %s, node config %s\n", c.Endpoint, filepath.Join(cfg.DataDir, "node.yaml"))
			fmt.Fprintf(w, "  join change: %s\n", filepath.Join(out, provision.JoinChangeFile))
			fmt.Fprintf(w, "  matching key request: %s (give it to a founder: creditx member wrap-key)\n", filepath.Join(out, provision.MatchRequestFile))
			return nil
		},
	}
	cmd.Flags().StringVar(&s.Code, "code", "", "division code of the new member, e.g. 330100")
	cmd.Flags().StringVar(&s.Name, "name", "", "the member's name, e.g. 杭州市")
	cmd.Flags().StringVar(&s.API, "api", "", "HOST:PORT of its HTTPS API (HTTP/3 on the same UDP port)")
	cmd.Flags().StringVar(&s.Raft, "raft", "", "HOST:PORT of its raft transport")
	cmd.Flags().StringVar(&s.Endpoint, "endpoint", "", "the URL other members reach it at (default https://API)")
	cmd.Flags().StringVar(&out, "out", "", "the member's directory (empty, or made by an earlier init with --wrapped)")
	cmd.Flags().StringVar(&wrapped, "wrapped", "", "the matching key a founder wrapped for this member (finishes the ceremony)")
	cmd.MarkFlagRequired("code")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newMemberWrapKeyCmd() *cobra.Command {
	var request, keyFile, out string
	cmd := &cobra.Command{
		Use:   "wrap-key --request FILE --match-key FILE [--out FILE]",
		Short: "Wrap the consortium matching key for a new member (HPKE, bound to its code)",
		Long: `wrap-key reads a new member's request (DIR/match-request.txt of "creditx member init") and the
consortium matching key (a founder's keys/match.key) and writes the key wrapped for that member with
HPKE (X25519, bound to its code) to --out, or standard output. Only the member's request key opens it.`,
		Example: `  creditx member wrap-key --request hz/match-request.txt --match-key zj/keys/match.key --out hz-match.wrapped`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := os.ReadFile(request)
			if err != nil {
				return err
			}
			kb, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			mk, err := schemas.ParseMatchKey(string(kb))
			if err != nil {
				return fmt.Errorf("%s: %w", keyFile, err)
			}
			wrapped, err := exchange.WrapMatchKey(string(req), mk)
			if err != nil {
				return fmt.Errorf("%s: %w", request, err)
			}
			if out == "" {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), wrapped)
				return err
			}
			if err := os.WriteFile(out, []byte(wrapped+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "matching key wrapped: %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&request, "request", "", "the new member's match-request.txt")
	cmd.Flags().StringVar(&keyFile, "match-key", "", "the consortium matching key (a member's keys/match.key)")
	cmd.Flags().StringVar(&out, "out", "", "write the wrapped key here (default: standard output)")
	cmd.MarkFlagRequired("request")
	cmd.MarkFlagRequired("match-key")
	return cmd
}

func newMemberProposeCmd() *cobra.Command {
	var admin, nodeURL, changeFile, manifestFile, leave string
	cmd := &cobra.Command{
		Use:   "propose --admin DIR --node URL (--change FILE | --leave CODE | --manifest FILE)",
		Short: "Propose a change of membership (manifest_propose), signed with the credit office's anchor key",
		Long: `propose reads the manifest in force from --node (GET /v1/membership), applies the change (a JSON
change such as DIR/join.json of "creditx member init", or --leave CODE) or takes the whole new manifest
(--manifest), and submits a manifest_propose record naming the manifest in force and the resulting one by
SHA-256, signed with the admin's anchor key (DIR/sign.key). The proposer's record counts as its vote; the
change takes effect once more than half of the effective members recorded it ("creditx member approve").`,
		Example: `  creditx member propose --admin sh/agencies/admin --node https://127.0.0.1:8443 --change hz/join.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, f := range []string{changeFile, manifestFile, leave} {
				if f != "" {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("member propose: give exactly one of --change, --leave and --manifest")
			}
			creds, err := client.LoadCredentials(admin)
			if err != nil {
				return err
			}
			v, cur, err := fetchMembership(cmd.Context(), creds, nodeURL)
			if err != nil {
				return err
			}
			var e []byte
			var res *exchange.Manifest
			var what string
			switch {
			case manifestFile != "":
				b, err := os.ReadFile(manifestFile)
				if err != nil {
					return err
				}
				if res, err = exchange.ParseManifest(b); err != nil {
					return fmt.Errorf("%s: %w", manifestFile, err)
				}
				if res.Version <= cur.Version {
					return fmt.Errorf("%s: version %d is not larger than the version in force %d", manifestFile, res.Version, cur.Version)
				}
				g := &schemas.Governance{Header: schemas.Header{Region: creds.Identity.Region, Submitter: creds.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
					Action: schemas.ActionManifestPropose, ManifestPropose: &schemas.ManifestPropose{Base: v.InForce, Manifest: string(b), SHA256: exchange.ManifestHash(res)}}
				if e, err = creds.Sign(g); err != nil {
					return err
				}
				what = "replace the manifest with " + manifestFile
			default:
				c := &exchange.Change{Op: schemas.ChangeLeave, Code: leave}
				if changeFile != "" {
					b, err := os.ReadFile(changeFile)
					if err != nil {
						return err
					}
					if c, err = exchange.ParseChange(b); err != nil {
						return fmt.Errorf("%s: %w", changeFile, err)
					}
				}
				if e, res, err = provision.ProposeRecord(creds.Identity.Region, creds, cur, c, time.Now()); err != nil {
					return fmt.Errorf("member propose: %w", err)
				}
				what = c.Op + " " + c.Code
			}
			rs, err := creds.Submit(cmd.Context(), nodeURL, e)
			if err != nil {
				return err
			}
			h := exchange.ManifestHash(res)
			fmt.Fprintf(cmd.OutOrStdout(), "proposed: %s, manifest version %d -> %d\n  sha256 %s\n  recorded at %s index %d; approve with: creditx member approve %s\n",
				what, cur.Version, res.Version, h, rs[0].Origin, rs[0].Index, h)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "the credit office's admin credentials directory (anchor signing key)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of the member's node")
	cmd.Flags().StringVar(&changeFile, "change", "", "a JSON change (e.g. join.json of member init)")
	cmd.Flags().StringVar(&leave, "leave", "", "propose that member CODE leaves")
	cmd.Flags().StringVar(&manifestFile, "manifest", "", "propose this whole manifest")
	cmd.MarkFlagRequired("admin")
	cmd.MarkFlagRequired("node")
	return cmd
}

func newMemberApproveCmd() *cobra.Command {
	var admin, nodeURL string
	cmd := &cobra.Command{
		Use:   "approve SHA256 --admin DIR --node URL",
		Short: "Approve a pending membership proposal (manifest_approve), signed with the credit office's anchor key",
		Long: `approve looks the proposal up among the pending proposals the node sees (its own ledger and its
mirrors; a unique prefix of the hash is enough), shows what it changes, and submits a manifest_approve
record naming it, signed with the admin's anchor key.`,
		Example: `  creditx member approve 3f2a9c --admin js/agencies/admin --node https://127.0.0.1:8444`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(admin)
			if err != nil {
				return err
			}
			v, _, err := fetchMembership(cmd.Context(), creds, nodeURL)
			if err != nil {
				return err
			}
			p, rs, err := approveProposal(cmd.Context(), creds, nodeURL, v, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approved: %s (proposed by %s)\n  sha256 %s\n  recorded at %s index %d; votes before this one: %s (%d needed)\n",
				p.Change, p.By, p.SHA256, rs[0].Origin, rs[0].Index, strings.Join(p.Votes, " "), p.Needed)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "the credit office's admin credentials directory (anchor signing key)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of the member's node")
	cmd.MarkFlagRequired("admin")
	cmd.MarkFlagRequired("node")
	return cmd
}

func newMemberListCmd() *cobra.Command {
	var creds, nodeURL, writeManifest string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --creds DIR --node URL [--json] [--write-manifest FILE]",
		Short: "The membership in force and the pending proposals with their votes",
		Long: `list shows the membership as the node reconstructs it from its ledgers: the manifest in force and its
members, each approved change with who approved it, and the pending proposals with their votes.
--write-manifest saves the manifest in force (for a new member's node.yaml).`,
		Example: `  creditx member list --creds sh/agencies/auditor --node https://127.0.0.1:8443`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client.LoadCredentials(creds)
			if err != nil {
				return err
			}
			v, m, err := fetchMembership(cmd.Context(), c, nodeURL)
			if err != nil {
				return err
			}
			if writeManifest != "" {
				if err := os.WriteFile(writeManifest, []byte(v.Manifest), 0o644); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return writeMembership(w, v, m)
		},
	}
	cmd.Flags().StringVar(&creds, "creds", "", "any credentials directory of the member (for mutual TLS)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of the member's node")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node's answer as JSON")
	cmd.Flags().StringVar(&writeManifest, "write-manifest", "", "save the manifest in force to FILE")
	cmd.MarkFlagRequired("creds")
	cmd.MarkFlagRequired("node")
	return cmd
}

func writeMembership(w io.Writer, v *node.MembershipView, m *exchange.Manifest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "manifest in force: version %d, sha256 %s\n", v.Version, v.InForce)
	if v.Running != v.InForce {
		fmt.Fprintf(&b, "  this node still runs manifest %s (its membership history could not be read; see its log)\n", v.Running[:12])
	}
	eff := m.Effective(nil)
	for _, mb := range m.Members {
		st := mb.Status
		if st == exchange.StatusActive && !eff[mb.Code] {
			st = "active, not yet approved (member_approve)"
		}
		fmt.Fprintf(&b, "  %s %-14s %-32s %s\n", mb.Code, mb.Name, mb.Endpoint, st)
	}
	if len(v.Versions) > 0 {
		fmt.Fprintf(&b, "approved changes:\n")
		for _, ver := range v.Versions {
			fmt.Fprintf(&b, "  version %d: %s, proposed by %s (index %d), approved by %s of %d, in force from index %d\n",
				ver.Version, ver.Change, ver.By, ver.Index, strings.Join(ver.Approvers, " "), len(ver.Electorate), ver.From)
		}
	}
	fmt.Fprintf(&b, "pending proposals: %d\n", len(v.Pending))
	for _, p := range v.Pending {
		fmt.Fprintf(&b, "  %s: %s, proposed by %s (index %d); votes %d of %d needed: %s\n", p.SHA256[:16], p.Change, p.By, p.Index,
			len(p.Votes), p.Needed, strings.Join(p.Votes, " "))
	}
	for _, r := range v.Refused {
		fmt.Fprintf(&b, "  no effect: %s\n", r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// approveProposal signs and submits the manifest_approve of the pending
// proposal of v whose hash starts with prefix ("creditx member approve").
func approveProposal(ctx context.Context, creds *client.Credentials, nodeURL string, v *node.MembershipView, prefix string) (*node.MembershipPendingView, []node.Receipt, error) {
	var match []node.MembershipPendingView
	for _, p := range v.Pending {
		if strings.HasPrefix(p.SHA256, strings.ToLower(prefix)) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 0:
		return nil, nil, fmt.Errorf("member approve: no pending proposal %s on the manifest in force (version %d) at %s; see creditx member list", prefix, v.Version, nodeURL)
	case len(match) > 1 && match[0].SHA256 != match[len(match)-1].SHA256:
		return nil, nil, fmt.Errorf("member approve: %s names %d proposals; give more of the hash", prefix, len(match))
	}
	p := match[0]
	e, err := provision.ApproveRecord(creds.Identity.Region, creds, p.SHA256, time.Now())
	if err != nil {
		return nil, nil, err
	}
	rs, err := creds.Submit(ctx, nodeURL, e)
	if err != nil {
		return nil, nil, err
	}
	return &p, rs, nil
}
