package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/anchor/fabric"
	"github.com/creditx/creditx/anchor/sidecar"
	"github.com/creditx/creditx/exchange"
	"github.com/spf13/cobra"
)

// fabricFlags adds the --fabric-* flags (each defaulting to its FABRIC_*
// environment variable) to cmd and returns the config they fill.
func fabricFlags(cmd *cobra.Command) *fabric.Config {
	c := &fabric.Config{}
	names := fabric.FlagNames()
	help := []string{
		"host:port of the Fabric peer's gateway service",
		"TLS server name of the peer, if not the endpoint's host",
		"PEM file of the peer's TLS CA",
		"MSP ID of the Fabric client identity, e.g. Org1MSP",
		"PEM certificate of the Fabric client identity (file, or its msp/signcerts directory)",
		"PEM private key of the Fabric client identity (file, or its msp/keystore directory)",
		"Fabric channel of the anchors, e.g. creditx-anchors",
		"chaincode name of the anchors, e.g. creditx-anchor",
	}
	for i, f := range c.Fields() {
		cmd.Flags().StringVar(f, names[i], "", help[i]+" (default $"+envName(names[i])+")")
	}
	return c
}

func envName(flag string) string {
	b := []byte(flag)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func newAnchorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Anchor the members' witnessed checkpoints to a Hyperledger Fabric channel",
	}
	cmd.AddCommand(newAnchorRunCmd())
	return cmd
}

func newAnchorRunCmd() *cobra.Command {
	var manifestPath, cacert, cert, key, creds string
	var interval time.Duration
	var once, memory bool
	var fabricCfg *fabric.Config
	cmd := &cobra.Command{
		Use:   "run --manifest FILE [--fabric-* ... | FABRIC_* env] [--interval D] [--once]",
		Short: "Periodically anchor every member's witnessed checkpoint (a sidecar beside the nodes)",
		Long: `Every --interval, read each active member's checkpoint from its node (the manifest's endpoint,
tlog-tiles API over HTTPS, trusting the members' region CAs from the manifest plus --cacert), and if it
carries the manifest's witness quorum of valid cosignatures, anchor it on the Fabric channel through the
creditx-anchorcc chaincode, with an RFC 6962 consistency proof from the member's previous anchor.
A member whose witnessed ledger does not extend its anchor is reported (and never anchored).

Fabric is reached through its Gateway (fabric-gateway v1.12.0): the --fabric-* flags, or the FABRIC_*
environment variables, as in anchor/README.md. --memory anchors into an in-process chaincode instead
(a dry run: nothing outlives the process). A client certificate (--creds DIR, or --cert and --key) is
presented to the nodes if given; their read API does not require one.

Runs until interrupted; --once does one round and exits 1 if any member failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			m, err := exchange.LoadManifest(manifestPath)
			if err != nil {
				return err
			}
			client, err := anchorHTTPClient(m, cacert, creds, cert, key)
			if err != nil {
				return err
			}
			var backend sidecar.Backend
			if memory {
				backend = anchor.NewMemory()
			} else {
				fc := fabric.ConfigFromEnv(*fabricCfg)
				fcl, err := fabric.Dial(fc)
				if err != nil {
					return err
				}
				defer fcl.Close()
				backend = fcl
			}
			loop, err := sidecar.New(sidecar.Config{Manifest: m, Backend: backend, Client: client, Interval: interval, Logger: logger})
			if err != nil {
				return err
			}
			if once {
				outs, err := loop.Round(ctx)
				for _, o := range outs {
					switch {
					case o.Err != nil:
						fmt.Fprintf(cmd.OutOrStdout(), "%s FAILED %v\n", o.Member, o.Err)
					case o.Wrote:
						fmt.Fprintf(cmd.OutOrStdout(), "%s anchored at size %d\n", o.Member, o.Size)
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "%s size %d: %s\n", o.Member, o.Size, o.Skipped)
					}
				}
				if err != nil {
					return &exitError{code: 1, msg: "anchor: " + err.Error()}
				}
				return nil
			}
			if err := loop.Run(ctx); !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&manifestPath, "manifest", "", "consortium manifest (members, endpoints, keys, witness quorum)")
	f.StringVar(&cacert, "cacert", "", "extra PEM CA certificates for the nodes' HTTPS (the manifest's region CAs are always trusted)")
	f.StringVar(&creds, "creds", "", "credentials directory (tls.crt, tls.key) presented to the nodes")
	f.StringVar(&cert, "cert", "", "PEM client certificate presented to the nodes (with --key)")
	f.StringVar(&key, "key", "", "PEM client key (with --cert)")
	f.DurationVar(&interval, "interval", 30*time.Second, "time between rounds")
	f.BoolVar(&once, "once", false, "do one round, print what it did per member, and exit")
	f.BoolVar(&memory, "memory", false, "anchor into an in-process chaincode instead of Fabric (dry run)")
	fabricCfg = fabricFlags(cmd)
	cmd.MarkFlagRequired("manifest")
	return cmd
}

// anchorHTTPClient trusts the manifest's region CAs (and cacert) and
// presents a client certificate if one is given.
func anchorHTTPClient(m *exchange.Manifest, cacert, creds, cert, key string) (*http.Client, error) {
	pool := m.CAPool()
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert: %s holds no PEM certificate", cacert)
		}
	}
	if creds != "" {
		if cert != "" || key != "" {
			return nil, errors.New("give --creds or --cert/--key, not both")
		}
		cert, key = filepath.Join(creds, "tls.crt"), filepath.Join(creds, "tls.key")
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	switch {
	case cert != "" && key != "":
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	case cert != "" || key != "":
		return nil, errors.New("--cert and --key go together")
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}, nil
}
