package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"
)

// nodeYAML is the part of a node's node.yaml that export and verify read.
type nodeYAML struct {
	Region   string `yaml:"region"`
	Listen   string `yaml:"listen"`
	Exchange *struct {
		Manifest string `yaml:"manifest"`
	} `yaml:"exchange"`
	Sanctions *struct {
		LoopLog bool `yaml:"loop_log"`
	} `yaml:"sanctions"`
}

// readNodeYAML reads DIR/node.yaml; ok is false when there is none (a
// directory made by "creditx ledger gen").
func readNodeYAML(dir string) (nodeYAML, bool, error) {
	var c nodeYAML
	b, err := os.ReadFile(filepath.Join(dir, "node.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, false, fmt.Errorf("%s/node.yaml: %w", dir, err)
	}
	return c, true, nil
}

// dataDirTrust is the trust for DIR: its own keys (trust.ForDataDir) plus,
// for an exchange member, each other member's log key and anchors from the
// consortium manifest (manifest, else the node's exchange.manifest), so the
// mirrors it holds verify. It returns the manifest path used ("" if none).
func dataDirTrust(dir, manifest string) (*trust.File, string, error) {
	tf, err := trust.ForDataDir(dir)
	if err != nil {
		return nil, "", err
	}
	if manifest == "" {
		c, ok, err := readNodeYAML(dir)
		if err != nil {
			return nil, "", err
		}
		if ok && c.Exchange != nil && c.Exchange.Manifest != "" {
			manifest = c.Exchange.Manifest
			if !filepath.IsAbs(manifest) {
				if p := filepath.Join(dir, manifest); fileExists(p) {
					manifest = p
				}
			}
		}
	}
	if manifest == "" {
		return tf, "", nil
	}
	m, err := exchange.LoadManifest(manifest)
	if err != nil {
		return nil, "", fmt.Errorf("manifest: %w", err)
	}
	for _, o := range manifestOrigins(m) {
		if _, ok := tf.Lookup(o.Origin); !ok {
			tf.Origins = append(tf.Origins, o)
		}
	}
	return tf, manifest, nil
}

// manifestOrigins: every member's ledger with its log key and anchors.
func manifestOrigins(m *exchange.Manifest) []trust.Origin {
	var out []trust.Origin
	for i := range m.Members {
		mb := &m.Members[i]
		o := trust.Origin{Origin: mb.Origin(), VKey: strings.TrimSpace(mb.LogVKey)}
		for _, a := range mb.Anchors {
			o.Anchors = append(o.Anchors, trust.Anchor{Name: a.Name, USCC: a.USCC, PublicKey: a.PublicKey})
		}
		out = append(out, o)
	}
	return out
}

// withLoopLogs adds to tf, for export, the loop logs' keys (issue 20): DIR's
// own keys/loop.vkey when its node.yaml turns sanctions.loop_log on (every
// region is provisioned a loop key; only a member running a loop log has
// one to export), and every member's
// loop_vkey from the manifest at mpath ("" none). An origin tf already has
// is kept. verify takes them too (openTrusted) and checks a loop log's
// entries with its member's ledger keyring, as "creditx audit" does.
func withLoopLogs(tf *trust.File, dir, mpath string) error {
	add := func(o trust.Origin) {
		if _, ok := tf.Lookup(o.Origin); !ok {
			tf.Origins = append(tf.Origins, o)
		}
	}
	if dir != "" {
		c, ok, err := readNodeYAML(dir)
		if err != nil {
			return err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "keys", "loop.vkey")); ok && c.Region != "" && c.Sanctions != nil && c.Sanctions.LoopLog && err == nil {
			vk := strings.TrimSpace(string(b))
			if v, err := note.NewVerifier(vk); err == nil && v.Name() == schemas.LoopOrigin(c.Region) {
				add(trust.Origin{Origin: v.Name(), VKey: vk})
			}
		}
	}
	if mpath == "" {
		return nil
	}
	m, err := exchange.LoadManifest(mpath)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	for _, o := range manifestLoopOrigins(m) {
		add(o)
	}
	return nil
}

// manifestLoopOrigins: every member's loop log with its loop_vkey, for the
// members that have one.
func manifestLoopOrigins(m *exchange.Manifest) []trust.Origin {
	var out []trust.Origin
	for i := range m.Members {
		if mb := &m.Members[i]; mb.LoopVerifier() != nil {
			out = append(out, trust.Origin{Origin: mb.LoopOrigin(), VKey: strings.TrimSpace(mb.LoopVKey)})
		}
	}
	return out
}

// logPath is the tlog-tiles path of origin on a node: /ledger/<code>, or
// /loop/<code> for a loop log.
func logPath(origin string) string {
	code, kind, _ := schemas.ParseOrigin(origin)
	if kind == schemas.OriginLoop {
		return "/loop/" + code
	}
	return "/ledger/" + code
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func newExportCmd() *cobra.Command {
	var dir, nodeURL, creds, manifest, cacert, out, bundle string
	var access bool
	cmd := &cobra.Command{
		Use:   "export (--data DIR | --node URL --manifest M --creds DIR) (--tiles OUT | --bundle FILE)",
		Short: "Write ledgers as static C2SP tlog-tiles trees any tlog client can verify",
		Long: `Write each ledger as a static C2SP tlog-tiles tree: OUT/checkpoint, OUT/tile/... (hash tiles and
tile/entries bundles) and OUT/vkey. When there are several ledgers (a node's own ledger and its mirrors),
each goes to OUT/<member code>/; a loop log (a member's sanction notices and their feedback, with
sanctions.loop_log) goes to OUT/<member code>-loop/, with its key from DIR/keys/loop.vkey or the
manifest's loop_vkey. Access logs hold who read whose personal data and are exported only
with --access.

--data DIR reads a node's data directory. An exchange member's mirrors are exported with their
origins' keys from the consortium manifest (--manifest, or the node's exchange.manifest). While the
node runs (its ledger.db is locked), export reads the same ledgers through the node's own tlog-tiles
API instead, at the address of DIR/node.yaml, with an auditor's certificate (--creds, default
DIR/agencies/auditor or, for a replica of a region, DIR/../agencies/auditor).

--node URL reads a live node's tlog-tiles API: every ledger of the manifest's members the node serves
and every loop log it serves (its own, GET /loop/<code>/...),
with --creds (an auditor's certificate: entry bundles of non-public records are served only to the
node's region) and the members' region CAs from --manifest (plus --cacert).

Every tree written is verified (Merkle tree against its checkpoint, checkpoint signature) before
export succeeds. With --bundle FILE it writes instead one self-contained audit archive (deterministic
tar.gz): every ledger's tiles, checkpoint (with its cosignatures) and vkey, plus the keys used
(trust.yaml) and the manifest (manifest.yaml), for "creditx audit --bundle FILE --manifest M" on a
machine that never saw the node (the bundle's own manifest is compared with M, not trusted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (dir == "") == (nodeURL == "") {
				return usageErr(errors.New("give exactly one of --data DIR and --node URL"))
			}
			if (out == "") == (bundle == "") {
				return usageErr(errors.New("give exactly one of --tiles OUT and --bundle FILE"))
			}
			w := cmd.OutOrStdout()
			target := out
			if bundle != "" {
				tmp, err := os.MkdirTemp(filepath.Dir(bundle), ".export-*")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				target = tmp
			}
			var err error
			if dir != "" {
				err = exportData(ctx, w, dir, manifest, creds, target, bundle != "", access)
			} else {
				if manifest == "" {
					return usageErr(errors.New("--node needs --manifest (the keys the ledgers are verified with)"))
				}
				var m *exchange.Manifest
				if m, err = exchange.LoadManifest(manifest); err != nil {
					return err
				}
				var client *http.Client
				if client, err = auditClient(manifest, cacert, creds); err != nil {
					return err
				}
				tf := &trust.File{Origins: append(manifestOrigins(m), manifestLoopOrigins(m)...)}
				err = exportLive(ctx, w, client, nodeURL, tf, manifest, target, bundle != "")
			}
			if err != nil {
				return err
			}
			if bundle != "" {
				if err := writeBundle(target, bundle); err != nil {
					return err
				}
				fmt.Fprintf(w, "bundle written to %s\n", bundle)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "data", "", "data directory (a node's, or one made by creditx ledger gen)")
	f.StringVar(&nodeURL, "node", "", "base URL of a live node (its tlog-tiles API)")
	f.StringVar(&creds, "creds", "", "auditor credentials for reading a live node (default for --data: DIR/agencies/auditor)")
	f.StringVar(&manifest, "manifest", "", "consortium manifest (members' log keys, anchors and region CAs)")
	f.StringVar(&cacert, "cacert", "", "PEM file of CA certificates for --node")
	f.StringVar(&out, "tiles", "", "output directory")
	f.StringVar(&bundle, "bundle", "", "write one audit archive (tar.gz) instead of a directory")
	f.BoolVar(&access, "access", false, "also export access logs (--data of a stopped node only)")
	return cmd
}

// exportData exports DIR's ledgers from its bbolt file, or through the
// running node's API when the file is locked.
func exportData(ctx context.Context, w io.Writer, dir, manifest, creds, out string, forBundle, access bool) error {
	tf, mpath, err := dataDirTrust(dir, manifest)
	if err != nil {
		return err
	}
	if err := withLoopLogs(tf, dir, mpath); err != nil {
		return err
	}
	s, err := openStore(dir)
	if err != nil {
		c, isNode, yerr := readNodeYAML(dir)
		if yerr != nil || !isNode || !fileExists(filepath.Join(dir, "ledger.db")) {
			return err
		}
		// A running node holds the file lock: read what it serves.
		if creds == "" {
			for _, p := range []string{filepath.Join(dir, "agencies", "auditor"), filepath.Join(dir, "..", "agencies", "auditor")} {
				if st, serr := os.Stat(p); serr == nil && st.IsDir() {
					creds = p
					break
				}
			}
			if creds == "" {
				return fmt.Errorf("%w\nthe node is running: give --creds of an auditor to export through its API", err)
			}
		}
		if access {
			return fmt.Errorf("--access: the node is running and serves no access log; stop it to export access logs")
		}
		client, cerr := auditClient(mpath, "", creds)
		if cerr != nil {
			return cerr
		}
		fmt.Fprintf(w, "%s is in use by a running node: reading its tlog-tiles API at %s\n", dir, nodeURLOf(c.Listen))
		return exportLive(ctx, w, client, nodeURLOf(c.Listen), tf, mpath, out, forBundle)
	}
	defer s.Close()
	origins, err := s.Origins()
	if err != nil {
		return err
	}
	var chosen []string
	for _, o := range origins {
		if strings.HasSuffix(o, "/access") && !access {
			continue
		}
		chosen = append(chosen, o)
	}
	if len(chosen) == 0 {
		return fmt.Errorf("%s holds no ledger to export", dir)
	}
	for _, o := range chosen {
		t, ok := tf.Lookup(o)
		if !ok {
			return fmt.Errorf("no verifier key for %s in %s (for a mirror: give --manifest)", o, dir)
		}
		target := out
		if len(chosen) > 1 || forBundle {
			target = filepath.Join(out, exportName(o))
		}
		if err := ledger.Export(ctx, s.Log(o), target, t.VKey); err != nil {
			return fmt.Errorf("exporting %s: %w", o, err)
		}
		size, _ := s.Log(o).Size()
		if forBundle {
			fmt.Fprintf(w, "%s: %d entries\n", o, size)
		} else {
			fmt.Fprintf(w, "%s: %d entries -> %s\n", o, size, target)
		}
	}
	if forBundle {
		return writeTrust(tf, mpath, out)
	}
	return nil
}

// exportLive exports, from a node's tlog-tiles API, every ledger of tf the
// node serves, and verifies each tree written.
func exportLive(ctx context.Context, w io.Writer, client *http.Client, base string, tf *trust.File, mpath, out string, forBundle bool) error {
	n := 0
	for _, o := range tf.Origins {
		if o.IsAccessLog() {
			continue
		}
		src := ledger.HTTPSource{Client: client, Base: strings.TrimSuffix(base, "/") + logPath(o.Origin), Ctx: ctx}
		signed, err := src.Checkpoint()
		if errors.Is(err, ledger.ErrNotFound) {
			continue // not served by this node
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", o.Origin, err)
		}
		v, err := o.Verifier()
		if err != nil {
			return err
		}
		target := filepath.Join(out, exportName(o.Origin))
		if err := ledger.ExportFrom(ctx, src, signed, o.Origin, v, o.VKey, target); err != nil {
			return fmt.Errorf("exporting %s from %s: %w", o.Origin, base, err)
		}
		// What a peer sent is suspect until verified.
		cp, err := ledger.Verify(ctx, ledger.DirSource(target), signed, o.Origin, v, nil, nil)
		if err != nil {
			return fmt.Errorf("the tree of %s read from %s does not verify: %w", o.Origin, base, err)
		}
		if forBundle {
			fmt.Fprintf(w, "%s: %d entries (from %s, verified)\n", o.Origin, cp.Size, base)
		} else {
			fmt.Fprintf(w, "%s: %d entries -> %s (from %s, verified)\n", o.Origin, cp.Size, target, base)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s serves none of the ledgers %v", base, originsOf(tf))
	}
	if forBundle {
		return writeTrust(tf, mpath, out)
	}
	return nil
}

func originsOf(tf *trust.File) []string {
	var out []string
	for _, o := range tf.Origins {
		out = append(out, o.Origin)
	}
	return out
}

// writeTrust writes the keys used (trust.yaml) and the manifest
// (manifest.yaml) beside the exported trees, for the bundle.
func writeTrust(tf *trust.File, mpath, out string) error {
	if err := tf.Save(filepath.Join(out, audit.TrustFile)); err != nil {
		return err
	}
	if mpath == "" {
		return nil
	}
	b, err := os.ReadFile(mpath)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, audit.ManifestFile), b, 0o644)
}

// nodeURLOf is the HTTPS URL of a node listening on addr (an unspecified
// host means this machine).
func nodeURLOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "https://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port)
}
