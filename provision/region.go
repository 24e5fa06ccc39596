package provision

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/delta"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
	"go.yaml.in/yaml/v3"
)

// DevAgency is a sample agency that PrepareDev creates credentials for.
type DevAgency struct {
	Dir     string   // subdirectory of DATA/agencies
	Name    string   // organisation name in English; the certificate gets devAgencyName (names.go)
	Body    string   // 8 characters of GB 11714 organisation code body; the check characters are computed
	Role    pki.Role // its role
	Domains []string // for publishers
}

// DevAgencies are the sample agencies of a development node.
var devAgencies = []DevAgency{
	{Dir: "admin", Name: "Credit Office (dev)", Body: "MB000001", Role: pki.RoleAdmin},
	{Dir: "publisher", Name: "Ecology and Environment Department (dev)", Body: "MB000002", Role: pki.RolePublish, Domains: []string{"environment", "tourism", "food_drug", "product_quality"}},
	{Dir: "executor", Name: "Public Resources Trading Center (dev)", Body: "MB000003", Role: pki.RoleExecute},
	{Dir: "auditor", Name: "Delta Credit Working Group Audit (dev)", Body: "MB000004", Role: pki.RoleAudit},
}

// DevUSCC is the unified social credit code of a sample agency in region.
func DevUSCC(region, body string) string {
	code, err := schemas.CompleteUSCC("11" + region + body)
	if err != nil {
		panic(err) // the sample bodies are constants
	}
	return code
}

// ReplicaSpec describes one replica for PrepareRegion.
type ReplicaSpec struct {
	ID    string   // replica id, e.g. "zj-1"
	API   string   // host:port of its HTTPS API
	Raft  string   // host:port of its raft transport
	Hosts []string // extra DNS names / IPs for its certificate
}

// PrepareRegion runs a region's key ceremony into dir, for a development or
// test deployment where one operator holds everything:
//
//	dir/ca/                    the region CA (ca.crt, ca.key)
//	dir/agencies/<name>/       sample agency credentials (admin, publisher, executor, auditor)
//	dir/<replica id>/          one data directory per replica: node.yaml, keys/, tls/replica/
//
// Every replica gets the same ledger, access-log and loop-log keys (any replica may
// lead and sign), the same vault key (any replica may unwrap the data keys
// the others stored) and the same consortium matching key. In production the CA
// key and the admin signing key stay offline; see deploy/README.md.
func PrepareRegion(dir, region string, replicas []ReplicaSpec) ([]*node.Config, error) {
	keys := map[string][]byte{}
	for _, k := range []struct{ file, origin string }{{"log", schemas.LedgerOrigin(region)}, {"access", schemas.AccessOrigin(region)}, {"loop", schemas.LoopOrigin(region)}} {
		skey, vkey, err := ledger.GenerateKey(k.origin, rand.Reader)
		if err != nil {
			return nil, err
		}
		keys[k.file+".key"], keys[k.file+".vkey"] = []byte(skey+"\n"), []byte(vkey+"\n")
	}
	var mk schemas.MatchKey
	rand.Read(mk[:])
	keys["match.key"] = []byte(mk.String() + "\n")
	vk := make([]byte, vault.KeyLen)
	rand.Read(vk)
	keys["vault.key"] = []byte(hex.EncodeToString(vk) + "\n")
	ca, err := pki.NewCA(region, "creditx region CA "+region, time.Now(), 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := ca.Save(filepath.Join(dir, "ca")); err != nil {
		return nil, err
	}
	anchors, err := issueAgencies(ca, filepath.Join(dir, "agencies"), region)
	if err != nil {
		return nil, err
	}
	// The credit office signs sanction notices with its admin key; every
	// notice goes to the sample executing agency (one entry per department
	// type of the catalogue), so a demo shows the whole loop.
	issuerKey, err := os.ReadFile(filepath.Join(dir, "agencies", "admin", "sign.key"))
	if err != nil {
		return nil, err
	}
	keys["issuer.key"] = issuerKey
	keys["agencies.yaml"] = devAgenciesYAML(region)
	var peers []raftcluster.Peer
	for _, r := range replicas {
		peers = append(peers, raftcluster.Peer{ID: r.ID, Raft: r.Raft, API: "https://" + r.API})
	}
	var cfgs []*node.Config
	for _, r := range replicas {
		rdir := filepath.Join(dir, r.ID)
		if len(replicas) == 1 {
			rdir = dir
		}
		if err := os.MkdirAll(filepath.Join(rdir, "keys"), 0o700); err != nil {
			return nil, err
		}
		for name, b := range keys {
			mode := os.FileMode(0o600)
			if filepath.Ext(name) == ".vkey" {
				mode = 0o644
			}
			if err := os.WriteFile(filepath.Join(rdir, "keys", name), b, mode); err != nil {
				return nil, err
			}
		}
		hosts := append([]string{"localhost", "127.0.0.1"}, r.Hosts...)
		for _, a := range []string{r.API, r.Raft} {
			if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
				hosts = append(hosts, h)
			}
		}
		certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleReplica, Region: region, Kind: pki.KindReplica, ID: r.ID, Name: "replica " + r.ID}, dedupe(hosts), 5*365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := pki.WriteCredentials(filepath.Join(rdir, "tls", "replica"), certPEM, keyPEM, ca.CertPEM()); err != nil {
			return nil, err
		}
		cfg := &node.Config{Region: region, Name: MemberName(region), ReplicaID: r.ID, DataDir: rdir, Listen: r.API, RaftListen: r.Raft,
			Peers: peers, Bootstrap: true, Anchors: anchors, Sanctions: node.SanctionsConfig{IssuerUSCC: DevUSCC(region, "MB000001")}}
		if len(replicas) == 1 {
			cfg.Peers = nil
		}
		if err := node.WriteConfig(filepath.Join(rdir, "node.yaml"), cfg); err != nil {
			return nil, err
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// issueAgencies writes the sample agencies' credentials under dir and
// returns the admin's signing key as the trust anchor.
func issueAgencies(ca *pki.CA, dir, region string) ([]node.AnchorConfig, error) {
	var anchors []node.AnchorConfig
	for _, a := range devAgencies {
		adir := filepath.Join(dir, a.Dir)
		uscc := DevUSCC(region, a.Body)
		name := devAgencyName(region, a.Dir)
		certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: a.Role, Region: region, Kind: pki.KindAgency, ID: uscc, Name: name, Domains: a.Domains}, nil, 5*365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("issuing %s: %w", a.Dir, err)
		}
		if err := pki.WriteCredentials(adir, certPEM, keyPEM, ca.CertPEM()); err != nil {
			return nil, err
		}
		info := client.AgencyInfo{Name: name, USCC: uscc, Region: region, Role: string(a.Role), Domains: a.Domains}
		b, _ := yaml.Marshal(info)
		if err := os.WriteFile(filepath.Join(adir, "agency.yaml"), b, 0o644); err != nil {
			return nil, err
		}
		// No match.key here: agencies ask the node (matching.go, issue 14).
		if a.Role == pki.RoleAudit {
			continue
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		if err := client.WriteSignKey(filepath.Join(adir, "sign.key"), priv); err != nil {
			return nil, err
		}
		if a.Role == pki.RoleAdmin {
			anchors = append(anchors, node.AnchorConfig{Name: name, USCC: uscc, PublicKey: base64.StdEncoding.EncodeToString(pub)})
		}
	}
	return anchors, nil
}

// PrepareDev makes dir a ready-to-run single-replica development node for
// region, unless dir/node.yaml already exists, and returns its config:
// PrepareRegion with one replica whose data directory is dir itself.
// Nothing here is fit for production: keys are on the same disk as the data.
func PrepareDev(dir, region, listen, raftListen string) (*node.Config, error) {
	cfgPath := filepath.Join(dir, "node.yaml")
	if _, err := os.Stat(cfgPath); err == nil {
		c, err := node.LoadConfig(cfgPath)
		if err != nil {
			return nil, err
		}
		c.DataDir = dir
		return c, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	cfgs, err := PrepareRegion(dir, region, []ReplicaSpec{{ID: "dev-1", API: listen, Raft: raftListen}})
	if err != nil {
		return nil, err
	}
	return cfgs[0], nil
}

// devAgenciesYAML is the executing-agency directory of a development region:
// the sample executor handles every department type of the catalogue.
func devAgenciesYAML(region string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s\nregion: %q\nsource: development sample (all department types handled by the sample executor)\nagencies:\n", sanctions.AgenciesFormat, region)
	uscc := DevUSCC(region, "MB000003")
	for _, d := range catalogue.Executors() {
		fmt.Fprintf(&b, "  - {name: %q, uscc: %s, dept_type: %s, region: %q}\n", devAgencyName(region, "executor"), uscc, d, region)
	}
	return []byte(b.String())
}

// MemberName is the display name of a Delta member, or "region <code>".
func MemberName(region string) string {
	if m, ok := delta.Lookup(region); ok { // internal/delta: the 4 provinces and the cities
		return strings.TrimSuffix(strings.TrimSuffix(m.Zh, "市"), "省") + " " + m.En
	}
	return "region " + region
}

// DevMatchKey reads the match key of a region prepared by PrepareRegion
// from the region's keys directory beside agenciesDir (the credit office's
// side, never an agency's credentials; the replicas' keys/match.key): for
// the demo and tests, which play the office.
func DevMatchKey(agenciesDir string) (*schemas.MatchKey, error) {
	region := filepath.Dir(filepath.Clean(agenciesDir))
	path := filepath.Join(region, "keys", "match.key") // one replica: its data dir is the region dir
	if _, err := os.Stat(path); err != nil {
		if m, _ := filepath.Glob(filepath.Join(region, "*", "keys", "match.key")); len(m) > 0 {
			path = m[0] // several replicas: each holds the same key
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := schemas.ParseMatchKey(string(b))
	if err != nil {
		return nil, err
	}
	return &k, nil
}
