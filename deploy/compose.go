// Package deploy generates a containerised Delta exchange: every member's key
// ceremony (region CA, ledger, access-log and witness keys, replica and member
// certificates, sample agencies), one data directory and node.yaml per replica,
// the consortium manifest listing every member, and a docker-compose.yml with
// one service per replica on one bridge network.
//
// Guarantees: Generate writes into an empty (or missing) directory only, and
// either returns a complete layout or an error naming the step that failed
// (the partial directory is then left for inspection; delete it and rerun).
// Every replica's config is valid for creditx serve inside the container:
// paths are relative to /data, the API listens on 0.0.0.0:8443 (TCP for
// HTTPS, UDP for HTTP/3), raft on 0.0.0.0:9443 advertised under the replica's
// hostname. A member's replicas share a network alias (e.g. "zj"), which is
// the member's endpoint in the manifest; every replica certificate carries it.
// API ports are published on 127.0.0.1 only.
//
// Nothing generated here is fit for production as is: one operator holds every
// key. deploy/README.md says which files leave the ceremony machine and which
// stay offline (the region CA key, the credit office's admin signing key).
package deploy

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// Container-side constants of the image (see deploy/Dockerfile).
const (
	APIPort   = 8443    // HTTPS (TCP) and HTTP/3 (UDP)
	RaftPort  = 9443    // raft transport, mutual TLS
	ImageUID  = 10001   // numeric non-root user of the image
	DataMount = "/data" // where a replica's data directory is mounted
)

// DeltaMembers are the four provinces, in manifest order.
var DeltaMembers = []string{"310000", "320000", "330000", "340000"}

// Options configures Generate. Zero values take the documented defaults.
type Options struct {
	Members  []string // member codes; default DeltaMembers
	City     string   // optional extra member (e.g. "330100"), always one replica
	Replicas int      // replicas per member (odd); default 3
	Image    string   // image of every service; default "creditx:local"
	BasePort int      // host port of the first replica's API; default 18443, then +1 per replica
	Network  string   // bridge network name in the compose file; default "delta"
	Restart  string   // compose restart policy; default "unless-stopped"
	// Owner is the uid:gid that must own the data directories so the
	// container user can read its keys. Default ImageUID:ImageUID when the
	// generator runs as root (files are chowned), else the caller's own ids
	// (and the compose file then runs the services as that user).
	UID, GID int
}

// Layout is what Generate wrote; it is also saved as DIR/layout.json.
type Layout struct {
	Dir      string   `json:"dir"`
	Manifest string   `json:"manifest"` // DIR/manifest.yaml
	CAs      string   `json:"cas"`      // DIR/cas.pem: every member's region CA (for --cacert)
	Compose  string   `json:"compose"`  // DIR/docker-compose.yml
	Network  string   `json:"network"`
	Members  []Member `json:"members"`
}

// Member is one member of the layout.
type Member struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Alias    string    `json:"alias"`    // network alias shared by its replicas
	Endpoint string    `json:"endpoint"` // manifest endpoint, https://<alias>:8443
	Dir      string    `json:"dir"`      // DIR/<code>: ca/ and agencies/ (offline material) and replica dirs
	Agencies string    `json:"agencies"` // DIR/<code>/agencies
	Replicas []Replica `json:"replicas"`
}

// Replica is one replica (one compose service) of the layout.
type Replica struct {
	ID      string `json:"id"`       // service name and hostname, e.g. zj-1
	DataDir string `json:"data_dir"` // host directory mounted at /data
	HostURL string `json:"host_url"` // https://127.0.0.1:<port>, the published API
}

// aliases are the short host names of the Delta members.
var aliases = map[string]string{"310000": "sh", "320000": "js", "330000": "zj", "340000": "ah", "330100": "hz"}

// Alias is the network alias of member code: sh, js, zj, ah, hz, or m<code>.
func Alias(code string) string {
	if a, ok := aliases[code]; ok {
		return a
	}
	return "m" + code
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Members) == 0 {
		o.Members = DeltaMembers
	}
	if o.Replicas == 0 {
		o.Replicas = 3
	}
	if o.Replicas < 1 || o.Replicas%2 == 0 || o.Replicas > 7 {
		return o, fmt.Errorf("deploy: replicas: %d; want an odd number from 1 to 7", o.Replicas)
	}
	o.Image = or(o.Image, "creditx:local")
	o.Network = or(o.Network, "delta")
	o.Restart = or(o.Restart, "unless-stopped")
	if o.BasePort == 0 {
		o.BasePort = 18443
	}
	all := append(slices.Clone(o.Members), o.City)
	if o.City == "" {
		all = all[:len(all)-1]
	}
	for i, c := range all {
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" || c[0] == '0' {
			return o, fmt.Errorf("deploy: member %q is not a 6-digit division code", c)
		}
		if slices.Index(all, c) != i {
			return o, fmt.Errorf("deploy: member %s is listed twice", c)
		}
	}
	if len(all) < 2 {
		return o, errors.New("deploy: a consortium needs at least two members")
	}
	if o.BasePort < 1024 || o.BasePort+len(all)*o.Replicas > 65535 {
		return o, fmt.Errorf("deploy: base port %d out of range", o.BasePort)
	}
	if o.UID == 0 && o.GID == 0 {
		if os.Geteuid() == 0 {
			o.UID, o.GID = ImageUID, ImageUID
		} else {
			o.UID, o.GID = os.Geteuid(), os.Getegid()
		}
	}
	return o, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Generate runs the key ceremony of every member into dir and writes the
// compose topology (see the package doc). dir must be empty or missing.
func Generate(dir string, o Options) (*Layout, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("deploy: %s is not empty; the ceremony writes into a fresh directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lay := &Layout{Dir: dir, Manifest: filepath.Join(dir, "manifest.yaml"), CAs: filepath.Join(dir, "cas.pem"),
		Compose: filepath.Join(dir, "docker-compose.yml"), Network: o.Network}
	codes := slices.Clone(o.Members)
	if o.City != "" {
		codes = append(codes, o.City)
	}
	man := &exchange.Manifest{Version: 1, WitnessQuorum: min(exchange.DefaultWitnessQuorum, len(codes)-1), AcceptedSchemas: schemas.KnownSchemas()}
	var matchKey []byte
	var cas []byte
	port := o.BasePort
	for _, code := range codes {
		n := o.Replicas
		if code == o.City {
			n = 1
		}
		mb, mm, err := ceremony(dir, code, n, &matchKey, &port)
		if err != nil {
			return nil, fmt.Errorf("deploy: member %s: %w", code, err)
		}
		cas = append(cas, mm.CA...)
		man.Members = append(man.Members, *mm)
		lay.Members = append(lay.Members, *mb)
	}
	mb, err := man.Encode()
	if err != nil {
		return nil, err
	}
	if _, err := exchange.ParseManifest(mb); err != nil {
		return nil, fmt.Errorf("deploy: generated manifest: %w", err)
	}
	if err := os.WriteFile(lay.Manifest, mb, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(lay.CAs, cas, 0o644); err != nil {
		return nil, err
	}
	for _, m := range lay.Members {
		for _, r := range m.Replicas {
			if err := os.WriteFile(filepath.Join(r.DataDir, "manifest.yaml"), mb, 0o644); err != nil {
				return nil, err
			}
		}
	}
	if err := os.WriteFile(lay.Compose, ComposeFile(lay, o), 0o644); err != nil {
		return nil, err
	}
	jb, _ := json.MarshalIndent(lay, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "layout.json"), append(jb, '\n'), 0o644); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		for _, m := range lay.Members {
			for _, r := range m.Replicas {
				if err := chownTree(r.DataDir, o.UID, o.GID); err != nil {
					return nil, err
				}
			}
		}
	}
	return lay, nil
}

// ceremony prepares one member: its region (PrepareRegion), the shared
// matching key, its member certificate and witness key on every replica, and
// the container-side configs. It returns the layout and manifest entries.
func ceremony(dir, code string, replicas int, matchKey *[]byte, port *int) (*Member, *exchange.Member, error) {
	alias := Alias(code)
	mdir := filepath.Join(dir, code)
	var specs []provision.ReplicaSpec
	for i := 1; i <= replicas; i++ {
		id := fmt.Sprintf("%s-%d", alias, i)
		specs = append(specs, provision.ReplicaSpec{ID: id, API: fmt.Sprintf("%s:%d", id, APIPort), Raft: fmt.Sprintf("%s:%d", id, RaftPort), Hosts: []string{alias}})
	}
	cfgs, err := provision.PrepareRegion(mdir, code, specs)
	if err != nil {
		return nil, nil, fmt.Errorf("region key ceremony: %w", err)
	}
	if replicas == 1 {
		// PrepareRegion puts a single replica's files beside ca/ and
		// agencies/; move them into their own directory so the container
		// never sees the CA key.
		rdir := filepath.Join(mdir, specs[0].ID)
		if err := os.MkdirAll(rdir, 0o700); err != nil {
			return nil, nil, err
		}
		for _, f := range []string{"node.yaml", "keys", "tls"} {
			if err := os.Rename(filepath.Join(mdir, f), filepath.Join(rdir, f)); err != nil {
				return nil, nil, err
			}
		}
		cfgs[0].DataDir = rdir
	}
	if *matchKey == nil {
		if *matchKey, err = os.ReadFile(filepath.Join(cfgs[0].DataDir, "keys", "match.key")); err != nil {
			return nil, nil, err
		}
	} else {
		files, _ := filepath.Glob(filepath.Join(mdir, "agencies", "*", "match.key"))
		for _, c := range cfgs {
			files = append(files, filepath.Join(c.DataDir, "keys", "match.key"))
		}
		for _, f := range files {
			if err := os.WriteFile(f, *matchKey, 0o600); err != nil {
				return nil, nil, err
			}
		}
	}
	ca, err := pki.LoadCA(filepath.Join(mdir, "ca"))
	if err != nil {
		return nil, nil, err
	}
	hosts := []string{alias, "localhost", "127.0.0.1"}
	for _, s := range specs {
		hosts = append(hosts, s.ID)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleMember, Region: code, Kind: pki.KindMember, ID: code, Name: "member " + code}, hosts, 5*365*24*time.Hour)
	if err != nil {
		return nil, nil, fmt.Errorf("member certificate: %w", err)
	}
	skey, vkey, err := exchange.GenerateWitnessKey(code, rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	logVKey, err := os.ReadFile(filepath.Join(cfgs[0].DataDir, "keys", "log.vkey"))
	if err != nil {
		return nil, nil, err
	}
	mb := &Member{Code: code, Name: provision.MemberName(code), Alias: alias, Endpoint: fmt.Sprintf("https://%s:%d", alias, APIPort),
		Dir: mdir, Agencies: filepath.Join(mdir, "agencies")}
	var peers []raftcluster.Peer
	for _, s := range specs {
		peers = append(peers, raftcluster.Peer{ID: s.ID, Raft: s.Raft, API: "https://" + s.API})
	}
	for i, c := range cfgs {
		rdir := c.DataDir
		if err := pki.WriteCredentials(filepath.Join(rdir, "tls", "member"), certPEM, keyPEM, ca.CertPEM()); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(rdir, "keys", "witness.key"), []byte(skey+"\n"), 0o600); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(rdir, "keys", "witness.vkey"), []byte(vkey+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		cc := *c
		cc.DataDir = DataMount
		cc.Listen = fmt.Sprintf("0.0.0.0:%d", APIPort)
		cc.RaftListen = fmt.Sprintf("0.0.0.0:%d", RaftPort)
		cc.RaftAdvertise = specs[i].Raft
		cc.Peers = peers
		cc.Bootstrap = true
		cc.Exchange = &node.ExchangeConfig{Manifest: "manifest.yaml"}
		if err := node.WriteConfig(filepath.Join(rdir, "node.yaml"), &cc); err != nil {
			return nil, nil, err
		}
		mb.Replicas = append(mb.Replicas, Replica{ID: specs[i].ID, DataDir: rdir, HostURL: fmt.Sprintf("https://127.0.0.1:%d", *port)})
		*port++
	}
	mm := &exchange.Member{Code: code, Name: mb.Name, Endpoint: mb.Endpoint, LogVKey: strings.TrimSpace(string(logVKey)),
		WitnessVKey: vkey, CA: string(ca.CertPEM()), Status: exchange.StatusActive}
	for _, a := range cfgs[0].Anchors {
		mm.Anchors = append(mm.Anchors, exchange.Anchor{Name: a.Name, USCC: a.USCC, PublicKey: a.PublicKey})
	}
	return mb, mm, nil
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// LoadLayout reads DIR/layout.json written by Generate.
func LoadLayout(dir string) (*Layout, error) {
	b, err := os.ReadFile(filepath.Join(dir, "layout.json"))
	if err != nil {
		return nil, err
	}
	var l Layout
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("deploy: %s/layout.json: %w", dir, err)
	}
	return &l, nil
}

// ComposeFile renders the docker-compose.yml of a layout (compose file
// format 2.4, understood by docker-compose v1 and the compose plugin): one
// service per replica, named and hostnamed by the replica id, its data
// directory mounted at /data, its API published on 127.0.0.1:<port>, the
// member alias on the bridge network, and a healthcheck that runs the image's
// own binary (creditx health) against /readyz.
func ComposeFile(l *Layout, o Options) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by creditx deploy compose. One service per replica; see deploy/README.md.\n")
	fmt.Fprintf(&b, "version: \"2.4\"\nnetworks:\n  %s:\n    driver: bridge\nservices:\n", o.Network)
	for _, m := range l.Members {
		for _, r := range m.Replicas {
			rel, err := filepath.Rel(l.Dir, r.DataDir)
			if err != nil {
				rel = r.DataDir
			}
			_, port, _ := strings.Cut(strings.TrimPrefix(r.HostURL, "https://"), ":")
			fmt.Fprintf(&b, "  %s:\n", r.ID)
			fmt.Fprintf(&b, "    image: %s\n    hostname: %s\n    user: \"%d:%d\"\n    restart: \"%s\"\n", o.Image, r.ID, o.UID, o.GID, o.Restart)
			fmt.Fprintf(&b, "    labels:\n      creditx.member: \"%s\"\n      creditx.replica: \"%s\"\n", m.Code, r.ID)
			fmt.Fprintf(&b, "    volumes:\n      - ./%s:%s\n", filepath.ToSlash(rel), DataMount)
			fmt.Fprintf(&b, "    ports:\n      - \"127.0.0.1:%s:%d/tcp\"\n", port, APIPort)
			fmt.Fprintf(&b, "    networks:\n      %s:\n        aliases: [%s]\n", o.Network, m.Alias)
			fmt.Fprintf(&b, "    stop_grace_period: 10s\n")
			fmt.Fprintf(&b, "    healthcheck:\n      test: [\"CMD\", \"/creditx\", \"health\", \"--url\", \"https://127.0.0.1:%d/readyz\", \"--cacert\", \"%s/tls/replica/ca.crt\"]\n", APIPort, DataMount)
			fmt.Fprintf(&b, "      interval: 5s\n      timeout: 3s\n      retries: 3\n      start_period: 10s\n")
		}
	}
	return []byte(b.String())
}
