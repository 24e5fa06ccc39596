package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/spf13/cobra"
)

func newCheckCmd() *cobra.Command {
	var nodeURL, credsDir, action, at, purpose string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check --node URL --creds DIR SUBJECT...",
		Short: "Ask a node whether subjects may get an approval (allowed or restricted, with the measures)",
		Long: `Check subjects (unified social credit codes, citizen IDs — hashed by the node, never stored — or
h1: keyed hashes) against every member's listings held by the node, for one --action:
  ` + strings.Join(catalogue.Actions(), ", ") + `.
Without --action the answer is "restricted" if any listing restricts the subject at all. --at asks as of
an RFC 3339 time. Exits 0 if every subject is allowed, 3 if any is restricted, 1 on an error.`,
		Example: `  creditx check --node https://127.0.0.1:8443 --creds creditx-data/agencies/executor --action procurement 91330000103074598K`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action != "" && !slices.Contains(catalogue.Actions(), action) {
				return fmt.Errorf("--action %q is not a check action; use one of: %s", action, strings.Join(catalogue.Actions(), ", "))
			}
			creds, err := client.LoadCredentials(credsDir)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(node.BatchCheckRequest{Subjects: args, Action: action, At: at, Purpose: purpose})
			var answers []node.CheckAnswer
			if err := creds.Post(cmd.Context(), strings.TrimSuffix(nodeURL, "/")+"/v1/check", body, &answers); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(answers)
			} else {
				for _, a := range answers {
					printCheck(out, a)
				}
			}
			for _, a := range answers {
				if a.Result != "allowed" {
					return &exitError{code: 3, msg: "restricted"}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "node URL")
	cmd.Flags().StringVar(&credsDir, "creds", "", "executing agency (or auditor, admin) credentials directory")
	cmd.Flags().StringVar(&action, "action", "", "the approval asked for (procurement, land, bond, licence, ...)")
	cmd.Flags().StringVar(&at, "at", "", "answer as of this RFC 3339 time (default now)")
	cmd.Flags().StringVar(&purpose, "purpose", "approval", "purpose code recorded when a natural person is checked")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node's answers as JSON")
	cmd.MarkFlagRequired("creds")
	return cmd
}

func printCheck(w io.Writer, a node.CheckAnswer) {
	what := "any approval"
	if a.Action != "" {
		what = a.Action
	}
	fmt.Fprintf(w, "%s: %s for %s (as of %s)\n", a.Subject, strings.ToUpper(a.Result), what, a.At.Format("2006-01-02 15:04 MST"))
	for _, m := range a.Measures {
		fmt.Fprintf(w, "  measure %s: %s [%s, item %s; catalogue %s]\n", m.Measure.Code, m.Measure.Text, m.Measure.Memorandum, m.Measure.Item, m.Measure.CatalogueVersion)
	}
	for _, l := range a.Listings {
		fmt.Fprintf(w, "  listing %s #%d: %s, programme %s, %s", l.Ref.Origin, l.Ref.Index, l.Domain, l.Programme, l.State)
		if l.Reason != "" {
			fmt.Fprintf(w, " (%s)", l.Reason)
		}
		fmt.Fprintln(w)
	}
}
