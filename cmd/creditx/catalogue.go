package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/sanctions/catalogue"
)

// newCatalogueCmd builds "creditx catalogue": the versioned measures
// catalogue (sanctions/catalogue) and its adoption on the ledger (issue 12).
func newCatalogueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalogue",
		Short: "Show the measures catalogue and adopt a version of it on the ledger",
		Long: `The measures catalogue says which joint punishment measures (联合惩戒措施) exist for each
domain, who executes them and within how many working days. A version takes effect on a member's
ledger from the index of a catalogue_adopt governance record naming its SHA-256; every node must
know that version (node.yaml sanctions.catalogues), or the record is refused at admission.`,
		SilenceUsage: true,
	}
	cmd.AddCommand(newCatalogueShowCmd(), newCatalogueAdoptCmd())
	return cmd
}

// readCatalogue loads FILE, or the catalogue embedded in the binary when
// path is "".
func readCatalogue(path string) (*catalogue.Catalogue, error) {
	if path == "" {
		return catalogue.Default()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := catalogue.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func newCatalogueShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show [FILE]",
		Short: "Print a catalogue's version, SHA-256 and measures (default: the embedded catalogue)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := readCatalogue(firstArg(args))
			if err != nil {
				return err
			}
			printCatalogue(cmd.OutOrStdout(), c)
			return nil
		},
	}
}

func printCatalogue(w io.Writer, c *catalogue.Catalogue) {
	fmt.Fprintf(w, "catalogue %s\nsha256    %s\nsource    %s\n\n", c.Version(), c.Digest(), c.Source())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tDOMAIN\tEXECUTOR\tFORCE\tMEASURE TEXT")
	for _, m := range c.Measures() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Code, m.Domain, m.Executor, m.Force, m.Text.ZH)
	}
	tw.Flush()
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// newCatalogueAdoptCmd is "creditx catalogue adopt [FILE]": the signed
// catalogue_adopt governance record, submitted or written out.
func newCatalogueAdoptCmd() *cobra.Command {
	var admin, nodeURL, out string
	cmd := &cobra.Command{
		Use:   "adopt [FILE] --admin DIR [--node URL | --out FILE]",
		Short: "Build and sign the catalogue_adopt governance record of a catalogue version",
		Long: `adopt reads FILE (the catalogue YAML format; default: the catalogue embedded in the binary),
checks it, builds a catalogue_adopt governance record naming its version and SHA-256, signs it with
the admin's anchor key (DIR/sign.key) and submits it to --node over mutual TLS, or writes the signed
entry to --out ("-": standard output). A node that does not know the version refuses the record with
the field record.catalogue_adopt.sha256 and writes nothing; every member that indexes an accepted
record issues notices under that catalogue from its index on.`,
		Example: `  creditx catalogue adopt --admin keys/agencies/admin --node https://127.0.0.1:8443
  creditx catalogue adopt catalogue-2027.yaml --admin keys/agencies/admin --out adopt.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (nodeURL == "") == (out == "") {
				return fmt.Errorf("catalogue adopt: give exactly one of --node and --out")
			}
			c, err := readCatalogue(firstArg(args))
			if err != nil {
				return err
			}
			creds, err := client.LoadCredentials(admin)
			if err != nil {
				return err
			}
			e, err := adopted.CatalogueAdoptRecord(creds.Identity.Region, creds, c, time.Now().UTC())
			if err != nil {
				return err
			}
			return submitOrWrite(cmd, creds, e, nodeURL, out, fmt.Sprintf("catalogue_adopt %s (sha256 %s)", c.Version(), c.Digest()))
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "the credit office's admin credentials directory (anchor signing key)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of any replica of the member to submit to")
	cmd.Flags().StringVar(&out, "out", "", `write the signed entry here instead ("-": standard output)`)
	cmd.MarkFlagRequired("admin")
	return cmd
}
