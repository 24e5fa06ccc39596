package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/spf13/cobra"
)

// newNoticesCmd is the executing agency's inbox on the command line: one
// page of GET /v1/notices as a table, with the cursor for the next page.
func newNoticesCmd() *cobra.Command {
	var credsDir, nodeURL, since, state string
	var limit int
	var wait time.Duration
	var all bool
	cmd := &cobra.Command{
		Use:   "notices --creds DIR [--since CURSOR] [--state pending,overdue] [--wait 30s]",
		Short: "List the sanction notices addressed to an executing agency, a page at a time",
		Long: `notices prints the sanction notices addressed to the agency of --creds (GET /v1/notices), in
ledger order, as a table: the notice's entry number (answer it with "creditx feedback NUMBER"),
its state, feedback deadline, measure and listing. The last line is the cursor of the next page:
give it to --since to read only what came after (nothing is repeated or missed). --wait holds an
empty page until a notice arrives; --all reads every page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NOTICE\tSTATE\tDUE\tMEASURE\tTARGET\tLISTING")
			for {
				q := url.Values{"limit": {strconv.Itoa(limit)}}
				if since != "" {
					q.Set("since", since)
				}
				if state != "" {
					q.Set("state", state)
				}
				if wait > 0 {
					q.Set("wait", wait.String())
				}
				var p node.NoticesPage
				if err := creds.Get(cmd.Context(), strings.TrimSuffix(nodeURL, "/")+"/v1/notices?"+q.Encode(), &p); err != nil {
					return err
				}
				for _, v := range p.Notices {
					nt := v.Notice
					target := nt.Target.USCC
					if nt.Target.Kind == "responsible_person" {
						target = "responsible person"
					}
					due := v.FeedbackDue.String()
					if v.Provisional {
						due += " (provisional)"
					}
					state := v.State
					if v.Late {
						state += " (late)"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s#%d\n", v.Index, state, due, nt.Measure.Code, target, nt.Listing.Origin, nt.Listing.Index)
				}
				since = p.Next
				if !all || !p.More {
					break
				}
			}
			tw.Flush()
			fmt.Fprintf(out, "next: %s\n", since)
			return nil
		},
	}
	cmd.Flags().StringVar(&credsDir, "creds", "", "executing agency (or admin, auditor) credentials directory")
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "region node URL")
	cmd.Flags().StringVar(&since, "since", "", "cursor of the page to read (the \"next:\" of an earlier run; default: from the start)")
	cmd.Flags().StringVar(&state, "state", "", "only notices in these states: pending, answered, overdue, lifted (comma-separated)")
	cmd.Flags().IntVar(&limit, "limit", 100, "notices per page (1 to 1000)")
	cmd.Flags().DurationVar(&wait, "wait", 0, "hold an empty page until a notice arrives, at most this long (up to 5m)")
	cmd.Flags().BoolVar(&all, "all", false, "read every page up to the end")
	cmd.MarkFlagRequired("creds")
	return cmd
}
