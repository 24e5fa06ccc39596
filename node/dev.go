package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node/pki"
	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
)

// DevAgency is a sample agency that PrepareDev creates credentials for.
type DevAgency struct {
	Dir     string   // subdirectory of DATA/agencies
	Name    string   // organisation name
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

// PrepareDev makes dir a ready-to-run single-replica development node for
// region, unless dir/node.yaml already exists, and returns its config. It
// generates the region CA, the replica's certificate for listen's host, the
// ledger and access-log keys, a consortium matching key, and credentials for
// the sample agencies under dir/agencies/ (admin, publisher, executor, auditor).
// Nothing here is fit for production: keys are on the same disk as the data.
func PrepareDev(dir, region, listen, raftListen string) (*Config, error) {
	cfgPath := filepath.Join(dir, "node.yaml")
	if _, err := os.Stat(cfgPath); err == nil {
		c, err := LoadConfig(cfgPath)
		if err != nil {
			return nil, err
		}
		c.DataDir = dir
		return c, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range []string{"keys", "tls", "agencies"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	for _, k := range []struct{ file, origin string }{{"log", LedgerOrigin(region)}, {"access", AccessOrigin(region)}} {
		skey, vkey, err := ledger.GenerateKey(k.origin, rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "keys", k.file+".key"), []byte(skey+"\n"), 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "keys", k.file+".vkey"), []byte(vkey+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	var mk schemas.MatchKey
	rand.Read(mk[:])
	if err := os.WriteFile(filepath.Join(dir, "keys", "match.key"), []byte(mk.String()+"\n"), 0o600); err != nil {
		return nil, err
	}
	ca, err := pki.NewCA(region, "creditx dev region CA "+region, time.Now(), 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := ca.Save(filepath.Join(dir, "tls", "ca")); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", listen, err)
	}
	hosts := []string{host, "localhost", "127.0.0.1"}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleReplica, Region: region, Kind: pki.KindReplica, ID: "dev-1", Name: "dev replica 1"}, hosts, 5*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := pki.WriteCredentials(filepath.Join(dir, "tls", "replica"), certPEM, keyPEM, ca.CertPEM()); err != nil {
		return nil, err
	}
	cfg := &Config{Region: region, Name: "dev " + region, ReplicaID: "dev-1", DataDir: dir, Listen: listen, RaftListen: raftListen, Bootstrap: true}
	for _, a := range devAgencies {
		adir := filepath.Join(dir, "agencies", a.Dir)
		uscc := DevUSCC(region, a.Body)
		certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: a.Role, Region: region, Kind: pki.KindAgency, ID: uscc, Name: a.Name, Domains: a.Domains}, nil, 5*365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("issuing %s: %w", a.Dir, err)
		}
		if err := pki.WriteCredentials(adir, certPEM, keyPEM, ca.CertPEM()); err != nil {
			return nil, err
		}
		info := AgencyInfo{Name: a.Name, USCC: uscc, Region: region, Role: string(a.Role), Domains: a.Domains}
		b, _ := yaml.Marshal(info)
		if err := os.WriteFile(filepath.Join(adir, "agency.yaml"), b, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(adir, "match.key"), []byte(mk.String()+"\n"), 0o600); err != nil {
			return nil, err
		}
		if a.Role == pki.RoleAudit {
			continue
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		if err := WriteSignKey(filepath.Join(adir, "sign.key"), priv); err != nil {
			return nil, err
		}
		if a.Role == pki.RoleAdmin {
			cfg.Anchors = append(cfg.Anchors, AnchorConfig{Name: a.Name, USCC: uscc, PublicKey: base64.StdEncoding.EncodeToString(pub)})
		}
	}
	if err := WriteConfig(cfgPath, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// SeedDev registers the sample agencies' signing keys through governance
// records signed by the dev admin key, if the ledger is still empty. It is
// what a credit office does by hand (creditx submit) in production.
func (n *Node) SeedDev(ctx context.Context) error {
	var size uint64
	n.fsm.view(func(tx *ledger.ReadTx) error { size = tx.Log(n.origin).Size(); return nil })
	if size > 0 {
		return nil
	}
	admin, err := LoadCredentials(filepath.Join(n.cfg.DataDir, "agencies", "admin"))
	if err != nil {
		return err
	}
	var entries [][]byte
	for _, a := range devAgencies {
		if a.Role != pki.RolePublish && a.Role != pki.RoleExecute {
			continue
		}
		c, err := LoadCredentials(filepath.Join(n.cfg.DataDir, "agencies", a.Dir))
		if err != nil {
			return err
		}
		pub := c.SignKey.Public().(ed25519.PublicKey)
		g := &schemas.Governance{
			Header: schemas.Header{Region: n.cfg.Region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
			Action: schemas.ActionAgencyKeyRegister,
			AgencyKeyRegister: &schemas.AgencyKeyRegister{
				Agency:    schemas.GovAgency{Name: a.Name, USCC: c.Identity.ID, Region: n.cfg.Region},
				KeyID:     schemas.KeyID(pub),
				PublicKey: base64.StdEncoding.EncodeToString(pub),
				Roles:     []string{string(a.Role)},
				Domains:   a.Domains,
			},
		}
		e, err := admin.Sign(g)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	_, err = n.commit(ctx, n.origin, entries)
	return err
}
