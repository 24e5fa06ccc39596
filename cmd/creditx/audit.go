package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/creditx/creditx/anchor/fabric"
	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/schemas"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newAuditCmd() *cobra.Command {
	var dir, bundle, cacert, creds, manifest, trustFile, jsonOut, htmlOut, at string
	var nodes, codes []string
	var quiet bool
	var fabricCfg *fabric.Config
	cmd := &cobra.Command{
		Use:   "audit (--dir DIR | --bundle FILE | --node URL ...) [--html FILE] [--json FILE]",
		Short: "Verify every ledger, mirror and cosignature, and report the closed loop",
		Long: `Audit the consortium without trusting any one member. Inputs: --dir DIR (the output of
"creditx demo --out", "creditx export", or an unpacked bundle), --bundle FILE (made by "creditx audit
bundle"), or --node URL ... (live nodes through the tlog-tiles API; TLS roots from --cacert; entry bundles
of non-public records need a consortium certificate: --creds DIR, e.g. an auditor's). Keys come
from DIR/manifest.yaml or DIR/trust.yaml, or --manifest / --trust (which take precedence); "creditx
demo --out DIR" writes the consortium manifest to DIR/manifest.yaml.
Without any of these the vkey files beside the trees are used and the report says they are not
independent.

Checks: each ledger copy's tree against its checkpoint, checkpoint signatures, witness cosignatures and
quorum, consistency between every checkpoint seen, every record's schema, agency signature and key
validity at its index, every mirror identical to its origin, references and dates between records.
Then the closed loop: per listing and member the lag to the first sanction notice, notices, feedback
met or overdue (judged at --at, default now), objections decided in time, expired listings lifted,
removed listings not re-inserted, measures on natural persons only with a legal basis.

Loop logs (issue 20): a member with sanctions.loop_log writes its sanction notices and their feedback
to creditx.<code>/loop. The audit reads them from DIR/<member>/<code>-loop/ (demo --out) or
DIR/<code>-loop/ (export), or from every --node that serves GET /loop/<code>/ (404: not there), checks
them like ledgers (key: the manifest's loop_vkey; entries signed by keys of the member's ledger
keyring) and counts their notices and feedback in the closed loop. A member whose manifest entry has a
loop_vkey but whose loop log was not found is named ("loop log of 320000 not fetched: its notices and
feedback are not checked"), and so is a loop checkpoint short of the witness quorum: the verdict is
then UNVERIFIED, never PASSED.

With --fabric-* flags (or the FABRIC_* environment variables; see anchor/README.md), each member's
anchors on the Fabric channel are cross-checked against its verified ledger: an anchor that the
ledger contradicts (another root at the anchored size) is an integrity failure naming the member, the
size and both roots.

Trust is explicit: the keys come from --manifest (or --trust), else from DIR/manifest.yaml beside
the trees of --dir (what "creditx demo --out DIR" writes). What the audited data carries about itself
(a bundle's manifest and trust.yaml, the trust.yaml beside a member's trees) is compared with that
trust, each differing field a failure, and never relied on: a bundle audited without --manifest is
UNVERIFIED.

Prints the verdict, the checks that ran and those not run ("Not checked: ..."), and a summary;
--json and --html write the full reports (the HTML page is self-contained, in Chinese with English).
Exit status: 0 PASSED (every named check ran against independent trust and held), 1 FAILED (naming
the first failing entry), 2 UNVERIFIED (nothing failed, but some check could not run), 3 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			n := 0
			for _, set := range []bool{dir != "", bundle != "", len(nodes) > 0} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageErr(errors.New("give exactly one of --dir, --bundle, --node"))
			}
			flagTrust, err := audit.LoadTrustFiles(manifest, trustFile)
			if err != nil {
				return err
			}
			opts := audit.Options{}
			if at != "" {
				t, err := parseAt(at)
				if err != nil {
					return err
				}
				opts.At = t
			}
			var in audit.Inputs
			switch {
			case bundle != "":
				d, cleanup, err := audit.OpenBundle(bundle)
				if err != nil {
					return err
				}
				defer cleanup()
				if in, err = audit.FromDir(d); err != nil {
					return err
				}
				// A bundle comes from the party audited: what it carries is
				// compared with the independent trust, never relied on.
				in.Distrust()
				for i, src := range in.Own.Source {
					if rel, err := filepath.Rel(d, src); err == nil {
						in.Own.Source[i] = bundle + ":" + filepath.ToSlash(rel)
					}
				}
				in.Trust = flagTrust
			case dir != "":
				if in, err = audit.FromDir(dir); err != nil {
					return err
				}
				if len(flagTrust.Source) > 0 {
					// --manifest/--trust is the trust; what DIR holds is compared.
					in.Distrust()
					in.Trust = flagTrust
				}
			default:
				if len(flagTrust.Origins) == 0 {
					return usageErr(errors.New("a live audit needs independent keys: give --manifest or --trust"))
				}
				client, err := auditClient(manifest, cacert, creds)
				if err != nil {
					return err
				}
				if len(codes) == 0 {
					for _, o := range flagTrust.Origins {
						// a member's ledger and loop log share its code
						if c := originCode(o.Origin); c != "" && !slices.Contains(codes, c) {
							codes = append(codes, c)
						}
					}
				}
				if in, err = audit.FromNodes(ctx, client, nodes, codes, flagTrust); err != nil {
					return err
				}
			}
			if fc := fabric.ConfigFromEnv(*fabricCfg); fc.Set() {
				fcl, err := fabric.Dial(fc)
				if err != nil {
					return err
				}
				defer fcl.Close()
				opts.Anchors = fcl
			}
			var b *progressbar.ProgressBar
			if !quiet {
				opts.Progress = func(done, total uint64) {
					if b == nil && total >= 10000 {
						b = bar(cmd.ErrOrStderr(), int64(total), "audit")
					}
					if b != nil {
						b.Set64(int64(done))
					}
				}
			}
			rep, runErr := audit.Run(ctx, in, opts)
			if b != nil {
				b.Finish()
			}
			var ie *audit.IntegrityError
			if runErr != nil && !errors.As(runErr, &ie) {
				return runErr
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := writeReport(jsonOut, rep.WriteJSON); err != nil {
				return err
			}
			t0 := time.Now()
			if err := writeReport(htmlOut, rep.WriteHTML); err != nil {
				return err
			}
			if htmlOut != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "HTML report written to %s in %.2fs\n", htmlOut, time.Since(t0).Seconds())
			}
			switch rep.Verdict {
			case audit.VerdictPassed:
				return nil
			case audit.VerdictUnverified:
				return &exitError{code: audit.ExitUnverified, msg: "audit " + rep.VerdictLine()}
			}
			msg := "audit failed"
			if ie != nil {
				msg += ": first failing entry: " + ie.First.String()
			}
			return &exitError{code: audit.ExitFailed, msg: msg}
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "audit directory (demo --out, export, or unpacked bundle)")
	f.StringVar(&bundle, "bundle", "", "audit bundle file (creditx audit bundle)")
	f.StringArrayVar(&nodes, "node", nil, "base URL of a live node (repeatable)")
	f.StringVar(&cacert, "cacert", "", "PEM file of CA certificates for --node over HTTPS (with --manifest the members' region CAs are trusted too)")
	f.StringVar(&creds, "creds", "", "credentials directory (e.g. DATA/agencies/auditor) for --node: entry bundles of non-public records are served only to a consortium certificate")
	f.StringArrayVar(&codes, "code", nil, "member code to read from each --node (repeatable; default: every member in the trust)")
	f.StringVar(&manifest, "manifest", "", "consortium manifest (log and witness keys, anchors, quorum)")
	f.StringVar(&trustFile, "trust", "", "trust.yaml (log keys and anchors)")
	f.StringVar(&at, "at", "", "judge deadlines at this instant (RFC 3339, or a date in UTC+8); default now")
	f.StringVar(&jsonOut, "json", "", "write the JSON report here")
	f.StringVar(&htmlOut, "html", "", "write the self-contained HTML report here")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	fabricCfg = fabricFlags(cmd)
	cmd.AddCommand(newAuditBundleCmd())
	return cmd
}

// auditClient is the HTTP client for --node: TLS roots from the manifest's
// region CAs and --cacert, the client certificate from --creds.
func auditClient(manifest, cacert, creds string) (*http.Client, error) {
	if cacert == "" && creds == "" && manifest == "" {
		return http.DefaultClient, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if manifest != "" {
		// Trust the members' region CAs from the manifest, as
		// "creditx anchor run" does, plus --cacert.
		m, err := exchange.LoadManifest(manifest)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = m.CAPool()
	}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, err
		}
		if cfg.RootCAs == nil {
			cfg.RootCAs = x509.NewCertPool()
		}
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", cacert)
		}
	}
	if creds != "" {
		c, err := client.LoadCredentials(creds)
		if err != nil {
			return nil, fmt.Errorf("--creds: %w", err)
		}
		ct := c.Client.Transport.(*http.Transport).TLSClientConfig
		cfg.Certificates = ct.Certificates
		if cfg.RootCAs == nil {
			cfg.RootCAs = ct.RootCAs
		}
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// usageErr marks a usage error: exit status 3 (audit.ExitUsage), the
// message printed.
func usageErr(err error) error {
	return &exitError{code: audit.ExitUsage, msg: err.Error(), show: true}
}

func newAuditBundleCmd() *cobra.Command {
	var dir, out string
	cmd := &cobra.Command{
		Use:   "bundle --dir DIR --out FILE",
		Short: "Pack an audit directory (ledgers, checkpoints, cosignatures, manifest, keys) into one archive",
		Long: `Write DIR (the output of "creditx demo --out" or "creditx export", with its manifest.yaml or
trust.yaml) as a deterministic tar.gz audit bundle that "creditx audit --bundle FILE" reads offline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := audit.FromDir(dir); err != nil {
				return fmt.Errorf("not an audit directory: %w", err)
			}
			if err := writeBundle(dir, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bundle written to %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "audit directory")
	cmd.Flags().StringVar(&out, "out", "", "bundle file to write")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("out")
	return cmd
}

func originCode(origin string) string {
	code, _, _ := schemas.ParseOrigin(origin) // "" if not an origin
	return code
}

func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := schemas.ParseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2026-05-01T08:00:00Z) or a date (2026-05-01)", s)
	}
	// the end of that day in China Standard Time
	return d.Time.Add(24*time.Hour - 8*time.Hour - time.Second), nil
}

// writeReport writes a report file atomically (see writeFileAtomic). ""
// writes nothing.
func writeReport(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	return writeFileAtomic(path, write)
}

// writeBundle packs the audit directory dir into the archive out, atomically.
func writeBundle(dir, out string) error {
	return writeFileAtomic(out, func(w io.Writer) error { return audit.WriteBundle(w, dir) })
}

// writeFileAtomic writes path through a temporary file beside it, fsync'd,
// then renamed: a reader never sees half a file, and a crash leaves either
// the old file (or none) or the whole new one.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	werr := write(f)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}
