package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/provision"
	"github.com/spf13/cobra"
)

func newRegionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "region", Short: "Set up a region's replicas"}
	cmd.AddCommand(newRegionInitCmd())
	return cmd
}

// parseReplicaSpec parses "id=apiHost:port,raftHost:port[,extra-host...]".
func parseReplicaSpec(s string) (provision.ReplicaSpec, error) {
	id, rest, ok := strings.Cut(s, "=")
	parts := strings.Split(rest, ",")
	if !ok || id == "" || len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return provision.ReplicaSpec{}, fmt.Errorf("--replica %q: want ID=API_HOST:PORT,RAFT_HOST:PORT[,EXTRA_DNS_NAME...]", s)
	}
	return provision.ReplicaSpec{ID: id, API: parts[0], Raft: parts[1], Hosts: parts[2:]}, nil
}

func newRegionInitCmd() *cobra.Command {
	var region, out string
	var replicas []string
	cmd := &cobra.Command{
		Use:   "init --region CODE --replica ID=API,RAFT ... --out DIR",
		Short: "Key ceremony for a region: CA, ledger keys, replica certificates and configs, sample agencies",
		Long: `Create everything a region's replicas need, in DIR:

  DIR/ca/                the region CA (keep ca.key offline after this)
  DIR/agencies/<name>/   sample credentials: admin (its sign.key is the trust anchor), publisher, executor, auditor
  DIR/<replica id>/      one data directory per replica: node.yaml, keys/ (ledger and access-log keys, the
                         consortium matching key, the region's vault key), tls/replica/ (its certificate)

Copy each replica's directory to its machine and start it with: creditx serve --config DIR/<id>/node.yaml.
Every replica bootstraps the cluster from the same peer list on first start.`,
		Example: `  creditx region init --region 330000 --out zj \
    --replica zj-1=10.0.0.1:8443,10.0.0.1:9443 \
    --replica zj-2=10.0.0.2:8443,10.0.0.2:9443 \
    --replica zj-3=10.0.0.3:8443,10.0.0.3:9443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(replicas) == 0 || len(replicas)%2 == 0 {
				return fmt.Errorf("--replica: give an odd number of replicas (1, 3 or 5), got %d", len(replicas))
			}
			var specs []provision.ReplicaSpec
			for _, r := range replicas {
				s, err := parseReplicaSpec(r)
				if err != nil {
					return err
				}
				specs = append(specs, s)
			}
			cfgs, err := provision.PrepareRegion(out, region, specs)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "region %s prepared in %s\n", region, out)
			for _, c := range cfgs {
				fmt.Fprintf(w, "  replica %-8s API https://%-21s raft %-21s  creditx serve --config %s\n", c.ReplicaID, c.Listen, c.RaftListen, filepath.Join(c.DataDir, "node.yaml"))
			}
			fmt.Fprintf(w, "  sample agency credentials in %s\n", filepath.Join(out, "agencies"))
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "division code of the member, e.g. 330000")
	cmd.Flags().StringArrayVar(&replicas, "replica", nil, "ID=API_HOST:PORT,RAFT_HOST:PORT[,EXTRA_DNS_NAME...] (repeat)")
	cmd.Flags().StringVar(&out, "out", "", "output directory")
	cmd.MarkFlagRequired("region")
	cmd.MarkFlagRequired("out")
	return cmd
}
