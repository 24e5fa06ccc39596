package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"
)

// Copy is one copy of one ledger as the auditor found it: a member's own
// ledger, or another member's mirror of it.
type Copy struct {
	// Holder names who holds this copy: the member code of the directory or
	// the node URL it was read from ("" for a single exported tree).
	Holder string
	// Origin is the ledger's checkpoint origin, e.g. "creditx.330000/ledger".
	Origin string
	// Source reads the copy's tiles and entry bundles (unverified data).
	Source ledger.TileSource
	// Checkpoint is the copy's signed checkpoint as found, with any
	// tlog-cosignature lines appended (unverified).
	Checkpoint []byte
	// TreeVKey is the vkey file found beside the tree, if any. It is used
	// only when Trust has no key for Origin, and the report says so.
	TreeVKey string
}

// Trust is what the auditor trusts, independently of the data audited.
type Trust struct {
	// Origins holds each origin's log verifier key and, for credit
	// ledgers, the credit office's anchor keys.
	Origins []trust.Origin
	// Witnesses are witness verifier keys ("creditx.<code>/witness+hash+key":
	// tlog-cosignature vkeys of type 0x04, or plain Ed25519 vkeys of older
	// manifests, read as the same key; see internal/cosig).
	Witnesses []string
	// Policy, if not nil, is the manifest's witness_policy (C2SP
	// tlog-policy): a checkpoint is witnessed when the cosignatures of its
	// witnesses, less the origin member's own witness, meet its quorum; Quorum
	// is then not used. Its witnesses outside the consortium are trusted too.
	Policy *exchange.Policy
	// Quorum is the number of cosignatures by witnesses other than the
	// origin's own member that make a checkpoint witnessed. 0 means
	// DefaultQuorum when Witnesses is not empty, and no quorum check when
	// it is.
	Quorum int
	// Source says where the trust came from (file names), for the report.
	Source []string
	// ManifestBytes is the consortium manifest's bytes when the trust came
	// from one (the first one merged), for DiffManifests; nil otherwise.
	ManifestBytes []byte
	// Manifest is the genesis manifest, if the trust came from one that
	// parses (exchange.ParseManifest): the membership check replays the
	// ledgers' membership records on it (membership.go).
	Manifest *exchange.Manifest
	// Genesis, if set (GenesisFile beside the manifest), is the manifest the
	// consortium started from: the membership check replays the ledgers on
	// it and requires Manifest to be the version they approved last.
	Genesis *exchange.Manifest
}

// DefaultQuorum is the witness quorum used when a manifest sets none.
const DefaultQuorum = 2

// Inputs is everything Run audits.
//
// Trust is what the auditor brought, independently of the data: a manifest
// given with --manifest, or the manifest.yaml beside the output of a demo
// the auditor ran. Own is what the audited data carries about itself (a
// bundle's manifest and trust.yaml, the trust.yaml beside a member's trees).
// Run checks with Trust first and falls back to Own, but only checks made
// with Trust count toward a PASSED verdict (see Report.Verdict); when both
// hold a manifest, every difference is a CheckManifest failure.
type Inputs struct {
	Copies []Copy
	Trust  Trust
	Own    Trust
}

// Distrust moves everything found beside the data into Own: used for a
// bundle, whose manifest came from the party audited.
func (in *Inputs) Distrust() {
	in.Own.merge(in.Trust)
	in.Trust = Trust{}
}

// Names of the trust files looked for in an audit directory. Changing these
// breaks existing bundles.
const (
	ManifestFile = "manifest.yaml"
	GenesisFile  = "manifest.genesis.yaml" // membership.go
	TrustFile    = trust.FileName          // "trust.yaml"
)

// manifest is the subset of the consortium manifest (exchange.Manifest) the
// audit needs. Unknown fields are ignored here: the exchange package
// validates manifests strictly; the auditor only needs keys and the quorum.
type manifest struct {
	Version       int    `yaml:"version"`
	WitnessQuorum int    `yaml:"witness_quorum"`
	WitnessPolicy string `yaml:"witness_policy"`
	Members       []struct {
		Code        string         `yaml:"code"`
		LogVKey     string         `yaml:"log_vkey"`
		LoopVKey    string         `yaml:"loop_vkey"`
		WitnessVKey string         `yaml:"witness_vkey"`
		Anchors     []trust.Anchor `yaml:"anchors"`
	} `yaml:"members"`
}

// LoadManifest reads the keys and witness quorum of a consortium manifest
// (see exchange.Manifest for the format) into a Trust. A member's optional
// loop_vkey becomes the trusted key of its loop log, creditx.<code>/loop
// (issue 20), whose entries are checked against the anchors and keyring of
// the member's ledger (loopcheck.go); a loop_vkey that is not a verifier
// key named creditx.<code>/loop is an error naming the member.
func LoadManifest(path string) (Trust, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Trust{}, err
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return Trust{}, fmt.Errorf("audit: manifest %s: %w", path, err)
	}
	t := Trust{Quorum: m.WitnessQuorum, Source: []string{path}, ManifestBytes: b}
	t.Manifest, _ = exchange.ParseManifest(b) // nil if it does not parse strictly: no membership check
	if m.WitnessPolicy != "" {
		if t.Policy, err = exchange.ParsePolicy([]byte(m.WitnessPolicy)); err != nil {
			return Trust{}, fmt.Errorf("audit: manifest %s: witness_policy: %w", path, err)
		}
	}
	for i, mb := range m.Members {
		if mb.Code == "" {
			return Trust{}, fmt.Errorf("audit: manifest %s: members[%d].code is empty", path, i)
		}
		if _, err := note.NewVerifier(mb.LogVKey); err != nil {
			return Trust{}, fmt.Errorf("audit: manifest %s: members[%d].log_vkey: %w", path, i, err)
		}
		t.Origins = append(t.Origins, trust.Origin{Origin: schemas.LedgerOrigin(mb.Code), VKey: mb.LogVKey, Anchors: mb.Anchors})
		if lk := strings.TrimSpace(mb.LoopVKey); lk != "" {
			v, err := note.NewVerifier(lk)
			if err != nil {
				return Trust{}, fmt.Errorf("audit: manifest %s: members[%d].loop_vkey: %w", path, i, err)
			}
			if v.Name() != schemas.LoopOrigin(mb.Code) {
				return Trust{}, fmt.Errorf("audit: manifest %s: members[%d].loop_vkey: key is named %q, want %q", path, i, v.Name(), schemas.LoopOrigin(mb.Code))
			}
			t.Origins = append(t.Origins, trust.Origin{Origin: schemas.LoopOrigin(mb.Code), VKey: lk})
		}
		if mb.WitnessVKey != "" {
			if _, err := cosig.Parse(mb.WitnessVKey); err != nil {
				return Trust{}, fmt.Errorf("audit: manifest %s: members[%d].witness_vkey: %w", path, i, err)
			}
			t.Witnesses = append(t.Witnesses, mb.WitnessVKey)
		}
	}
	return t, nil
}

// merge adds what o knows to t; the first key found for an origin wins.
func (t *Trust) merge(o Trust) {
	for _, x := range o.Origins {
		if _, ok := t.lookup(x.Origin); !ok {
			t.Origins = append(t.Origins, x)
		}
	}
	for _, w := range o.Witnesses {
		if !slices.Contains(t.Witnesses, w) {
			t.Witnesses = append(t.Witnesses, w)
		}
	}
	if t.Quorum == 0 {
		t.Quorum = o.Quorum
	}
	if t.Policy == nil {
		t.Policy = o.Policy
	}
	if t.Manifest == nil {
		t.Manifest = o.Manifest
	}
	if t.ManifestBytes == nil {
		t.ManifestBytes = o.ManifestBytes
	}
	if t.Genesis == nil {
		t.Genesis = o.Genesis
	}
	t.Source = append(t.Source, o.Source...)
}

func (t *Trust) lookup(origin string) (trust.Origin, bool) {
	for _, o := range t.Origins {
		if o.Origin == origin {
			return o, true
		}
	}
	return trust.Origin{}, false
}

// LoadTrustFiles reads trust from manifest and trust.yaml files (either may
// be ""), in that order of precedence.
func LoadTrustFiles(manifestPath, trustPath string) (Trust, error) {
	var t Trust
	if manifestPath != "" {
		m, err := LoadManifest(manifestPath)
		if err != nil {
			return Trust{}, err
		}
		t.merge(m)
	}
	if trustPath != "" {
		f, err := trust.Load(trustPath)
		if err != nil {
			return Trust{}, fmt.Errorf("audit: %w", err)
		}
		t.merge(Trust{Origins: f.Origins, Source: []string{trustPath}})
	}
	return t, nil
}

// FromDir finds the ledgers and the trust in dir, which is one of:
//
//   - the output of "creditx demo --out": dir/<member>/<origin code>/ holds
//     each ledger copy a member keeps (tlog-tiles tree, vkey, checkpoint);
//   - the output of "creditx export" of several ledgers: dir/<code>/...;
//   - a single exported tree: dir/checkpoint, dir/vkey, dir/tile/...;
//   - an unpacked bundle (any of the above).
//
// Loop logs (creditx.<code>/loop, issue 20) lie beside the ledger trees,
// named <code>-loop: dir/<member>/<code>-loop/ in a demo's output (only the
// member itself holds its loop log) and dir/<code>-loop/ in an export. Any
// tree is taken for the origin on its checkpoint's first line, so the name
// only keeps the trees apart.
//
// Inputs.Trust comes from dir/manifest.yaml and dir/trust.yaml (what the
// auditor put beside the trees, or the demo the auditor ran wrote there);
// Inputs.Own from dir/<member>/trust.yaml (what each member exported about
// itself). Call Inputs.Distrust when dir came from the party audited (an
// unpacked bundle; FromDir does when dir holds the bundle's format file,
// i.e. was unpacked with tar). An origin with none of these falls back to the vkey
// beside its tree, which the report flags as not independent.
func FromDir(dir string) (Inputs, error) {
	var in Inputs
	for _, p := range []string{filepath.Join(dir, ManifestFile), filepath.Join(dir, TrustFile)} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		var t Trust
		var err error
		if filepath.Base(p) == ManifestFile {
			t, err = LoadManifest(p)
		} else {
			t, err = LoadTrustFiles("", p)
		}
		if err != nil {
			return Inputs{}, err
		}
		in.Trust.merge(t)
	}
	if b, err := os.ReadFile(filepath.Join(dir, GenesisFile)); err == nil { // membership.go
		g, err := exchange.ParseManifest(b)
		if err != nil {
			return Inputs{}, fmt.Errorf("audit: %s: %w", GenesisFile, err)
		}
		in.Trust.Genesis = g
	}
	add := func(treeDir, holder string) error {
		c, err := readTree(treeDir, holder)
		if err != nil {
			return err
		}
		in.Copies = append(in.Copies, c)
		return nil
	}
	if isTree(dir) {
		return in, add(dir, "")
	}
	level1, err := subdirs(dir)
	if err != nil {
		return Inputs{}, fmt.Errorf("audit: %w", err)
	}
	for _, d1 := range level1 {
		p1 := filepath.Join(dir, d1)
		if isTree(p1) {
			if err := add(p1, ""); err != nil {
				return Inputs{}, err
			}
			continue
		}
		if tp := filepath.Join(p1, TrustFile); fileExists(tp) {
			t, err := LoadTrustFiles("", tp)
			if err != nil {
				return Inputs{}, err
			}
			in.Own.merge(t)
		}
		level2, err := subdirs(p1)
		if err != nil {
			return Inputs{}, fmt.Errorf("audit: %w", err)
		}
		for _, d2 := range level2 {
			if p2 := filepath.Join(p1, d2); isTree(p2) {
				if err := add(p2, d1); err != nil {
					return Inputs{}, err
				}
			}
		}
	}
	if len(in.Copies) == 0 {
		return Inputs{}, fmt.Errorf("audit: %s holds no ledger (looked for checkpoint files at depth 0, 1 and 2)", dir)
	}
	if fileExists(filepath.Join(dir, bundleFormatFile)) {
		// A bundle unpacked by hand: its manifest came from the party
		// audited, as with OpenBundle.
		in.Distrust()
	}
	return in, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isTree(dir string) bool { return fileExists(filepath.Join(dir, ledger.ExportCheckpointFile)) }

func subdirs(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() != "tile" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// readTree reads one exported tree's checkpoint and vkey; the origin is the
// checkpoint's first line (verified later against a trusted key).
func readTree(dir, holder string) (Copy, error) {
	src := ledger.DirSource(dir)
	cp, err := src.Checkpoint()
	if err != nil {
		return Copy{}, fmt.Errorf("audit: %s: %w", dir, err)
	}
	origin, _, ok := bytes.Cut(cp, []byte("\n"))
	if !ok || len(origin) == 0 {
		return Copy{}, fmt.Errorf("audit: %s/checkpoint: no origin line", dir)
	}
	c := Copy{Holder: holder, Origin: string(origin), Source: src, Checkpoint: cp}
	if v, err := os.ReadFile(filepath.Join(dir, ledger.ExportVKeyFile)); err == nil {
		c.TreeVKey = strings.TrimSpace(string(v))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Copy{}, fmt.Errorf("audit: %w", err)
	}
	return c, nil
}

// FromNodes reads, from each node URL, the checkpoint of every ledger in
// codes (member codes) the node serves (GET /ledger/<code>/...) and of
// every loop log of them it serves (GET /loop/<code>/...); a log the node
// does not serve (404) is skipped. The copies read tiles lazily through
// client. A loop log no node served is named by the report when the trust
// holds its key (Report.LoopLogs).
func FromNodes(ctx context.Context, client *http.Client, urls, codes []string, t Trust) (Inputs, error) {
	in := Inputs{Trust: t}
	for _, u := range urls {
		for _, code := range codes {
			for _, l := range []struct{ path, origin string }{{"/ledger/", schemas.LedgerOrigin(code)}, {"/loop/", schemas.LoopOrigin(code)}} {
				src := ledger.HTTPSource{Client: client, Base: strings.TrimSuffix(u, "/") + l.path + code, Ctx: ctx}
				cp, err := src.Checkpoint()
				if errors.Is(err, ledger.ErrNotFound) {
					continue
				}
				if err != nil {
					return Inputs{}, fmt.Errorf("audit: node %s: %s: %w", u, l.origin, err)
				}
				in.Copies = append(in.Copies, Copy{Holder: u, Origin: l.origin, Source: src, Checkpoint: cp})
			}
		}
	}
	if len(in.Copies) == 0 {
		return Inputs{}, fmt.Errorf("audit: none of the nodes %v serves a ledger of %v", urls, codes)
	}
	return in, nil
}
