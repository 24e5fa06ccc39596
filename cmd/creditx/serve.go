package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func newServeCmd() *cobra.Command {
	var cfgPath, dataDir, listen, raftListen, region, join string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a region node (a development node when given no config)",
		Long: `Run one replica of a region node.

With --config, the replica runs from a YAML config (see deploy/ for 3-replica examples).
Without it, serve starts a single-replica development node for region 330000 (Zhejiang):
data in ./creditx-data, HTTPS API on 127.0.0.1:8443, with a dev region CA, keys and sample
agency credentials generated into the data directory on first start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer nodeGC()()
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			var cfg *node.Config
			dev := cfgPath == ""
			if dev {
				abs, err := filepath.Abs(dataDir)
				if err != nil {
					return err
				}
				if cfg, err = provision.PrepareDev(abs, region, listen, raftListen); err != nil {
					return fmt.Errorf("preparing dev node in %s: %w", abs, err)
				}
				if cmd.Flags().Changed("listen") {
					cfg.Listen = listen
				}
			} else {
				var err error
				if cfg, err = node.LoadConfig(cfgPath); err != nil {
					return err
				}
				if cmd.Flags().Changed("join") {
					cfg.Join = join
				}
			}
			if dev && join != "" {
				return fmt.Errorf("--join needs --config: a development node has its own CA and cannot join a region")
			}
			cfg.Logger = logger
			return runNode(cmd.Context(), cmd.OutOrStdout(), *cfg, dev)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "replica config file (YAML); omit for a development node")
	cmd.Flags().StringVar(&dataDir, "data", "creditx-data", "data directory of the development node")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "HTTPS API address of the development node")
	cmd.Flags().StringVar(&raftListen, "raft-listen", "127.0.0.1:0", "raft address of the development node")
	cmd.Flags().StringVar(&region, "region", "330000", "division code of the development node's region")
	cmd.Flags().StringVar(&join, "join", "", "with --config: https URL of a replica of the running cluster to join at start (overrides join: in the config; needs bootstrap: false)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	return cmd
}

func runNode(ctx context.Context, out io.Writer, cfg node.Config, dev bool) error {
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.Run(gctx) })
	g.Go(func() error {
		if err := n.WaitReady(gctx); err != nil {
			return nil // shutting down before ready
		}
		if dev {
			if err := n.SeedDev(gctx, filepath.Join(cfg.DataDir, "agencies")); err != nil {
				return fmt.Errorf("registering sample agency keys: %w", err)
			}
			printDevHelp(out, n, cfg.DataDir)
		} else {
			fmt.Fprintf(out, "creditx: replica %s of %s serving %s\n", cfg.ReplicaID, n.Origin(), n.URL())
		}
		return nil
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func printDevHelp(out io.Writer, n *node.Node, dir string) {
	a := func(name string) string { return filepath.Join(dir, "agencies", name) }
	self, u, code := selfCommand(), n.URL(), regionOf(n.Origin())
	fmt.Fprintf(out, `creditx development node for %s is up.

  API:        %s   (docs/API.md)
  pages:      %s/ (public register)  %s/status  %s/audit (auditor; needs a client certificate)
  ledger:     %s/ledger/%s/checkpoint   (public, C2SP tlog-tiles)
  data:       %s
  CA:         %s   (import it in a browser to trust the pages)

Sample agency credentials are in %s/agencies/ (admin, publisher, executor, auditor).
Try:
  %s sample listing --node %s --creds %s --n 77 > listing.json
  %s submit --node %s --creds %s listing.json
  %s check --node %s --creds %s 913300000000007729
  curl --cacert %s/ca.crt %s/ledger/%s/checkpoint

Stop with Ctrl-C.
`, n.Origin(), u, u, u, u, u, code, dir, filepath.Join(dir, "ca", "ca.crt"), dir,
		self, u, a("publisher"),
		self, u, a("publisher"),
		self, u, a("executor"),
		a("auditor"), u, code)
}

// selfCommand is how the user ran this binary, for the commands we suggest:
// "./creditx" when started by a path, "go run ./cmd/creditx" under go run,
// "creditx" when found on PATH.
func selfCommand() string {
	arg0 := os.Args[0]
	switch {
	case strings.Contains(arg0, string(filepath.Separator)+"go-build"):
		return "go run ./cmd/creditx"
	case strings.ContainsRune(arg0, filepath.Separator):
		return arg0
	default:
		return "creditx"
	}
}

func regionOf(origin string) string {
	r, _, _ := schemas.ParseOrigin(origin) // "" if not an origin
	return r
}

// nodeGCPercent is the garbage collector's target while a node runs in
// this process (serve, and the local regions of bench check) unless GOGC
// is set. A node keeps little alive on the heap (its indexes live in
// bbolt's mapped file: a few MB at 10^5 listings) and allocates per
// request, so at Go's default of 100 it collects every few MB: at 32
// checks in flight that was 16% of the CPU of GET /v1/check (issue 21),
// ~7% at 400. The heap may reach about 5 times what is live.
const nodeGCPercent = 400

// nodeGC sets the garbage collector's target for a node and returns what
// restores it.
func nodeGC() (restore func()) { return gcTarget(nodeGCPercent) }

// gcTarget sets the garbage collector's target to percent unless the user
// set GOGC, and returns what restores the one before.
func gcTarget(percent int) (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(old) }
}
