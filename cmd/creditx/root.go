package main

import (
	"errors"

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
	}
	root.AddCommand(
		newServeCmd(),
		newSubmitCmd(),
		newSignCmd(),
		newSampleCmd(),
		newBenchCmd(),
		newKeysCmd(),
		newWorkdaysCmd(),
		newIDCmd(),
		newValidateCmd(),
		newLedgerCmd(),
		newExportCmd(),
		newVerifyCmd(),
		newRegionCmd(),
		newCheckCmd(),
		newAuditCmd(),
		newAnchorCmd(),
		newDeployCmd(),
		newVaultCmd(),
		newHealthCmd(),
		newDemoCmd(),
		newClusterCmd(),
	)
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
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }
