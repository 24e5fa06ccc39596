package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/spf13/cobra"
)

func newClusterCmd() *cobra.Command {
	var nodeURL, credsDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "List, add and remove the raft replicas of a running region node",
		Long: `List, add and remove the replicas (raft voters) of a running region node.

Any replica may be asked (--node); a follower forwards changes to the leader. A change is
answered only after raft committed the new configuration, and repeating it is safe.
list needs an admin, auditor or replica certificate; add an admin or replica certificate
(a replica may add only itself); remove an admin certificate.

A new replica usually adds itself: start it with "creditx serve --join URL" (or join: in
its node.yaml) and bootstrap: false. See docs/API.md and deploy/README.md.`,
	}
	cmd.PersistentFlags().StringVar(&nodeURL, "node", "", "base URL of any replica of the region, e.g. https://zj1.example:8443")
	cmd.PersistentFlags().StringVar(&credsDir, "creds", "", "credentials directory (tls.crt, tls.key, ca.crt) of an admin, auditor or replica")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the node's JSON answer")
	cmd.MarkPersistentFlagRequired("node")
	cmd.MarkPersistentFlagRequired("creds")
	base := func() string { return strings.TrimSuffix(nodeURL, "/") }

	list := &cobra.Command{
		Use:     "list --node URL --creds DIR",
		Short:   "Print the raft configuration: each replica's id, raft address, suffrage and the leader",
		Example: `  creditx cluster list --node https://127.0.0.1:8443 --creds creditx-data/agencies/auditor`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			var st node.ClusterStatus
			if err := creds.Get(cmd.Context(), base()+"/v1/cluster", &st); err != nil {
				return err
			}
			return printCluster(cmd.OutOrStdout(), st, asJSON)
		},
	}
	add := &cobra.Command{
		Use:   "add --node URL --creds DIR ID RAFT_HOST:PORT",
		Short: "Add a replica as a raft voter (it then catches up by snapshot and log)",
		Long: `Add replica ID, reachable by the other replicas at RAFT_HOST:PORT (its raft_advertise), as a
raft voter. Start the new replica with bootstrap: false before or after this; until it is
up it counts against the quorum, so add one replica at a time. Adding the same ID with the
same address again changes nothing; the same ID with another address is refused (remove it
first).`,
		Example: `  creditx cluster add --node https://zj1.example:8443 --creds ca-office/admin zj-4 zj4.example:9443`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(node.AddReplicaRequest{ID: args[0], RaftAddress: args[1]})
			var ch node.ClusterChange
			if err := creds.Post(cmd.Context(), base()+"/v1/cluster/replicas", body, &ch); err != nil {
				return err
			}
			if !asJSON {
				if ch.Changed {
					fmt.Fprintf(cmd.OutOrStdout(), "added %s at %s (configuration committed at raft index %d)\n", args[0], args[1], ch.Index)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s at %s already is a voter; nothing changed\n", args[0], args[1])
				}
			}
			return printCluster(cmd.OutOrStdout(), ch, asJSON)
		},
	}
	remove := &cobra.Command{
		Use:   "remove --node URL --creds DIR ID",
		Short: "Remove a replica from the raft configuration (admin)",
		Long: `Remove replica ID from the raft configuration. The last voter cannot be removed. Removing the
leader is allowed: it steps down once the change is committed and the others elect a new
leader (writes pause for about one election timeout). Stop the removed replica's process
afterwards; it no longer receives the log.`,
		Example: `  creditx cluster remove --node https://zj1.example:8443 --creds ca-office/admin zj-2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			var ch node.ClusterChange
			if err := creds.Delete(cmd.Context(), base()+"/v1/cluster/replicas/"+url.PathEscape(args[0]), &ch); err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s (configuration committed at raft index %d)\n", args[0], ch.Index)
			}
			return printCluster(cmd.OutOrStdout(), ch, asJSON)
		},
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}

// printCluster prints a ClusterStatus or ClusterChange as JSON, or the
// configuration as a table.
func printCluster(out io.Writer, v any, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	st, ok := v.(node.ClusterStatus)
	if ch, isChange := v.(node.ClusterChange); isChange {
		st, ok = ch.Cluster, true
	}
	if !ok {
		return fmt.Errorf("printCluster: unexpected %T", v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tRAFT ADDRESS\tSUFFRAGE\tLEADER\tAPI\n")
	for _, s := range st.Servers {
		leader := ""
		if s.Leader {
			leader = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.RaftAddress, s.Suffrage, leader, s.API)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Index == 0 { // not known (see api.ClusterStatus.Index)
		_, err := fmt.Fprintf(out, "(as seen by %s)\n", st.Replica)
		return err
	}
	_, err := fmt.Fprintf(out, "(as seen by %s at configuration index %d)\n", st.Replica, st.Index)
	return err
}
