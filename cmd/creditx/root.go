package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Every subcommand lives in its own file
// as a newXxxCmd constructor; nothing is registered through init.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "creditx",
		Short: "Cross-regional credit data exchange node for the Yangtze River Delta",
		Long: `creditx lets the members of the Yangtze River Delta (Shanghai 310000, Jiangsu 320000,
Zhejiang 330000, Anhui 340000, and member cities) share severe-dishonesty listings and sanction
notices on append-only, signed, mutually witnessed ledgers, and lets auditors verify all of it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetVersionTemplate("creditx {{.Version}}\n")
	// A wrong flag or argument says where the usage is (SilenceUsage keeps
	// runtime errors free of the whole flag list).
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(
		newServeCmd(),
		newSubmitCmd(),
		newNoticesCmd(),
		newFeedbackCmd(),
		newObjectionCmd(),
		newRepairCmd(),
		newDecideCmd(),
		newSignCmd(),
		newSampleCmd(),
		newBenchCmd(),
		newKeysCmd(),
		newWorkdaysCmd(),
		newCatalogueCmd(), // catalogue.go
		newIDCmd(),
		newValidateCmd(),
		newLedgerCmd(),
		newExportCmd(),
		newVerifyCmd(),
		newRegionCmd(),
		newMemberCmd(), // member.go
		newCheckCmd(),
		newAuditCmd(),
		newAnchorCmd(),
		newDeployCmd(),
		newVaultCmd(),
		newHealthCmd(),
		newDemoCmd(),
		newClusterCmd(),
		newSubjectCmd(),
		newVersionCmd(),
		newVerifyReceiptCmd(), newProvenanceCmd(),
	)
	withUsageHint(root)
	return root
}

// exitCoder is an error that asks main for a specific exit status after the
// command has already printed what went wrong (for example "creditx id check"
// exits 1 when any code is invalid).
type exitCoder interface {
	error
	ExitCode() int
}

func asExitCoder(err error, target *exitCoder) bool { return errors.As(err, target) }

// exitError is the exitCoder used by subcommands.
type exitError struct {
	code int
	msg  string
	show bool // main prints msg (the command printed nothing about it)
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }

// hint says what to do about the errors a newcomer meets first, or "".
func hint(err error) string {
	var unknownCA x509.UnknownAuthorityError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return `no node is listening at that address. Start one ("creditx serve" runs a development node on ` +
			`https://127.0.0.1:8443) or point --node at a running replica.`
	case errors.As(err, &unknownCA):
		return "the node's certificate is not signed by a CA this command trusts: use the credentials " +
			"directory issued by that node's region (its ca.crt), or give --cacert with the region's CA."
	case errors.As(err, &dnsErr):
		return "the host name in --node does not resolve; check the URL."
	case errors.Is(err, fs.ErrNotExist):
		return "a file or directory named in the command does not exist; check the path (paths are relative to " +
			"the current directory)."
	}
	return ""
}

// withUsageHint makes every command's argument errors ("requires at least 1
// arg(s)") say where the usage is, as flag errors do.
func withUsageHint(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return fmt.Errorf("%w\nUsage: %s\nRun '%s --help' for more.", err, cmd.UseLine(), cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		withUsageHint(sub)
	}
}
