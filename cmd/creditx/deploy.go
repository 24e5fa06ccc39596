package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/deploy"
	"github.com/spf13/cobra"
)

// newDeployCmd is "creditx deploy": generators for deployments.
func newDeployCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deploy", Short: "Generate deployments (docker compose topology with every member's key ceremony)"}
	cmd.AddCommand(newDeployComposeCmd(), newDeployRegisterCmd())
	return cmd
}

// newDeployRegisterCmd registers the sample agencies' signing keys through
// governance records signed by the member's admin key (what SeedDev does
// in-process for a development node).
func newDeployRegisterCmd() *cobra.Command {
	var agencies, nodeURL string
	cmd := &cobra.Command{
		Use:   "register --agencies DIR/<code>/agencies --node URL",
		Short: "Register the publisher's and executor's signing keys (governance records signed by the admin key)",
		Long: `register builds one agency_key_register governance record per sample agency (publisher,
executor) of a member, signs each with the admin's key (AGENCIES/admin/sign.key: run this on the
ceremony machine, where that key lives) and submits them to the member's node over mutual TLS with
the admin's certificate. Submitting twice is harmless: the second time answers with the same indexes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			admin, err := client.LoadCredentials(filepath.Join(agencies, "admin"))
			if err != nil {
				return err
			}
			var entries [][]byte
			for _, name := range []string{"publisher", "executor"} {
				c, err := client.LoadCredentials(filepath.Join(agencies, name))
				if err != nil {
					return err
				}
				e, err := client.RegistrationRecord(admin.Identity.Region, admin, c)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				entries = append(entries, e)
			}
			rs, err := admin.Submit(cmd.Context(), nodeURL, entries...)
			if err != nil {
				return err
			}
			for i, r := range rs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s registered: %s index %d\n", []string{"publisher", "executor"}[i], r.Origin, r.Index)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&agencies, "agencies", "", "the member's agencies directory (admin, publisher, executor)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of any replica of the member")
	cmd.MarkFlagRequired("agencies")
	cmd.MarkFlagRequired("node")
	return cmd
}

func newDeployComposeCmd() *cobra.Command {
	var (
		out, members, city, image, restart string
		replicas, basePort                 int
	)
	cmd := &cobra.Command{
		Use:   "compose --out DIR [--members 310000,320000,330000,340000] [--city 330100] [--replicas 3]",
		Short: "Key ceremony for every member plus a docker-compose.yml with one service per replica",
		Long: `compose runs the key ceremony of every member (region CA, ledger, access-log and witness keys,
replica and member certificates, sample agencies), writes one data directory and node.yaml per
replica, the consortium manifest listing every member (the city too), and DIR/docker-compose.yml:

  DIR/<code>/ca/                 region CA: after the ceremony, move ca.key OFFLINE
  DIR/<code>/agencies/<name>/    sample agency credentials (admin's sign.key is the trust anchor: OFFLINE)
  DIR/<code>/<replica>/          mounted at /data in the replica's container
  DIR/manifest.yaml, DIR/cas.pem, DIR/layout.json, DIR/docker-compose.yml

Then: docker build -t creditx:local -f deploy/Dockerfile BUILD_CONTEXT (see deploy/README.md) and
docker-compose -f DIR/docker-compose.yml -p delta up -d.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ms []string
			for _, m := range strings.Split(members, ",") {
				if m = strings.TrimSpace(m); m != "" {
					ms = append(ms, m)
				}
			}
			lay, err := deploy.Generate(out, deploy.Options{Members: ms, City: city, Replicas: replicas, Image: image, BasePort: basePort, Restart: restart})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "consortium of %d members prepared in %s\n", len(lay.Members), lay.Dir)
			for _, m := range lay.Members {
				fmt.Fprintf(w, "  %s %-16s endpoint %s\n", m.Code, m.Name, m.Endpoint)
				for _, r := range m.Replicas {
					fmt.Fprintf(w, "      %-6s data %s  API on this host %s\n", r.ID, r.DataDir, r.HostURL)
				}
			}
			fmt.Fprintf(w, "start: docker-compose -f %s -p delta up -d\n", lay.Compose)
			fmt.Fprintf(w, "OFFLINE now: %s\n", filepath.Join(lay.Dir, "*", "ca", "ca.key")+" and "+filepath.Join(lay.Dir, "*", "agencies", "admin", "sign.key"))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory (must be empty or missing)")
	cmd.Flags().StringVar(&members, "members", strings.Join(deploy.DeltaMembers, ","), "comma-separated member codes")
	cmd.Flags().StringVar(&city, "city", "", "an extra single-replica member, e.g. 330100")
	cmd.Flags().IntVar(&replicas, "replicas", 3, "replicas per member (odd)")
	cmd.Flags().StringVar(&image, "image", "creditx:local", "image of every service")
	cmd.Flags().IntVar(&basePort, "base-port", 18443, "host port (127.0.0.1) of the first replica's API")
	cmd.Flags().StringVar(&restart, "restart", "unless-stopped", "compose restart policy of every service (no, always, on-failure, unless-stopped)")
	cmd.MarkFlagRequired("out")
	return cmd
}

// newHealthCmd is "creditx health": a probe for container healthchecks
// (scratch images have no curl).
func newHealthCmd() *cobra.Command {
	var url, cacert string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health --url URL [--cacert FILE]",
		Short: "Exit 0 if GET URL answers 200 within --timeout (for container healthchecks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := probe(ctx, url, cacert); err != nil {
				return &exitError{code: 1, msg: "unhealthy: " + err.Error()}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "healthy")
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "https://127.0.0.1:8443/readyz", "URL to GET")
	cmd.Flags().StringVar(&cacert, "cacert", "", "PEM CA certificate(s) to trust (default: system roots)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

func probe(ctx context.Context, url, cacert string) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		b, err := os.ReadFile(cacert)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return fmt.Errorf("--cacert %s: no PEM certificate", cacert)
		}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
