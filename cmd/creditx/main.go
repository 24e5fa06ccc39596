// Command creditx runs and inspects a node of the Yangtze River Delta credit
// data exchange. See the README for the two commands that get started.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ec exitCoder
		if asExitCoder(err, &ec) {
			var ee *exitError
			if errors.As(err, &ee) && ee.show {
				fmt.Fprintln(os.Stderr, "creditx:", err)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "creditx:", err)
		if h := hint(err); h != "" {
			fmt.Fprintln(os.Stderr, "  hint:", h)
		}
		os.Exit(1)
	}
}
