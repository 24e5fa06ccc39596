package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/spf13/cobra"
)

func newProvenanceCmd() *cobra.Command {
	var dir, bundle, nodeURL, creds, manifest, receipt, htmlOut string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "provenance (ORIGIN#INDEX | --receipt FILE) (--dir DIR | --bundle FILE | --node URL --creds DIR) [--manifest M]",
		Short: "Show where one ledger entry comes from: signer, key registration, checkpoint, cosigners, mirrors, what followed",
		Long: `Answer "where does this listing come from" for one entry, e.g. 330000#12 or creditx.330000/ledger#12
(or the entry a receipt from "creditx submit --proof" names): the record, the agency key that signed it, the
governance record that registered that key (when, and which credit-office anchor signed it) and whether the
key was valid at the entry's index, the checkpoint covering it with a verified inclusion proof, the witnesses
that cosigned it and when, which members mirror it (the leaf proved in each mirror's tree), and the notices,
feedback, objections, repairs and corrections that followed, with the current state.

Every claim is checked with the independent trust only: --manifest M, or with --dir the manifest.yaml beside
a demo output ("creditx demo --out DIR"). A bundle's own manifest is not trusted: --bundle needs --manifest.
Exits 1 naming the failed step (entry, signing key, key registration, cosignatures, inclusion proof, ...).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var origin string
			var index uint64
			var rcpt *ledger.Proof
			switch {
			case len(args) == 1 && receipt == "":
				var err error
				if origin, index, err = audit.ParseEntryRef(args[0]); err != nil {
					return err
				}
			case len(args) == 0 && receipt != "":
				b, err := os.ReadFile(receipt)
				if err != nil {
					return err
				}
				if rcpt, err = ledger.ParseProof(b); err != nil {
					return fmt.Errorf("--receipt %s: %w", receipt, err)
				}
				o, _, _ := bytes.Cut(rcpt.Checkpoint, []byte("\n"))
				origin, index = string(o), rcpt.Index
			default:
				return errors.New("give ORIGIN#INDEX or --receipt FILE (one of them)")
			}
			n := 0
			for _, set := range []bool{dir != "", bundle != "", nodeURL != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return errors.New("give exactly one of --dir, --bundle, --node")
			}
			var in audit.Inputs
			var err error
			switch {
			case bundle != "":
				if manifest == "" {
					return errors.New("--bundle needs --manifest: a bundle's own manifest is not independent trust")
				}
				d, cleanup, err := audit.OpenBundle(bundle)
				if err != nil {
					return err
				}
				defer cleanup()
				if in, err = audit.FromDir(d); err != nil {
					return err
				}
			case dir != "":
				if in, err = audit.FromDir(dir); err != nil {
					return err
				}
				if manifest == "" && !fileOK(filepath.Join(dir, audit.ManifestFile)) {
					return fmt.Errorf("no independent trust: give --manifest (or %s beside the demo output)", audit.ManifestFile)
				}
			default:
				if manifest == "" || creds == "" {
					return errors.New("--node needs --manifest (keys) and --creds (a consortium certificate for entry bundles)")
				}
				client, err := provenanceClient(manifest, creds)
				if err != nil {
					return err
				}
				var codes []string
				m, err := exchange.LoadManifest(manifest)
				if err != nil {
					return err
				}
				for _, mb := range m.Members {
					codes = append(codes, mb.Code)
				}
				if in, err = audit.FromNodes(ctx, client, []string{nodeURL}, codes, audit.Trust{}); err != nil {
					return err
				}
			}
			if manifest != "" {
				if in.Trust, err = audit.LoadTrustFiles(manifest, ""); err != nil {
					return err
				}
			}
			p, err := audit.BuildProvenance(ctx, in, origin, index)
			var pe *audit.ProvenanceError
			if errors.As(err, &pe) {
				fmt.Fprintf(cmd.OutOrStdout(), "FAILED at step %q: %v\n", pe.Step, err)
				return &exitError{code: 1, msg: "provenance not established"}
			}
			if err != nil {
				return err
			}
			if rcpt != nil && fmt.Sprintf("%x", rcpt.Extra) != p.LeafHash {
				fmt.Fprintf(cmd.OutOrStdout(), "FAILED at step %q: the receipt's leaf hash %x is not the verified entry's %s\n", "receipt", rcpt.Extra, p.LeafHash)
				return &exitError{code: 1, msg: "receipt does not match the ledger"}
			}
			if jsonOut {
				err = p.WriteJSON(cmd.OutOrStdout())
			} else {
				err = p.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if htmlOut != "" {
				if err := writeReport(htmlOut, p.WriteHTMLPage); err != nil {
					return err
				}
				if !jsonOut {
					fmt.Fprintf(cmd.OutOrStdout(), "HTML written to %s\n", htmlOut)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "audit directory (creditx demo --out, export, or an unpacked bundle)")
	f.StringVar(&bundle, "bundle", "", "audit bundle file (needs --manifest)")
	f.StringVar(&nodeURL, "node", "", "base URL of a live member node (with --creds and --manifest)")
	f.StringVar(&creds, "creds", "", "credentials directory for --node (e.g. DATA/agencies/auditor)")
	f.StringVar(&manifest, "manifest", "", "consortium manifest: the independent trust (log, witness and anchor keys, witness policy)")
	f.StringVar(&receipt, "receipt", "", "a receipt (tlog-proof) naming the entry; its leaf hash must be the entry's")
	f.BoolVar(&jsonOut, "json", false, "print JSON instead of text")
	f.StringVar(&htmlOut, "html", "", "also write a self-contained HTML page here")
	return cmd
}

func fileOK(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// provenanceClient trusts the manifest's region CAs and presents creds' certificate.
func provenanceClient(manifest, creds string) (*http.Client, error) {
	m, err := exchange.LoadManifest(manifest)
	if err != nil {
		return nil, err
	}
	c, err := client.LoadCredentials(creds)
	if err != nil {
		return nil, fmt.Errorf("--creds: %w", err)
	}
	ct := c.Client.Transport.(*http.Transport).TLSClientConfig
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: m.CAPool(), Certificates: ct.Certificates}
	if ct.RootCAs != nil { // the credentials' region CA, plus every member's

		cfg.RootCAs = ct.RootCAs
		for i := range m.Members {
			cfg.RootCAs.AddCert(m.Members[i].CACert())
		}
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}
