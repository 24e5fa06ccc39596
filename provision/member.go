package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// A new member's key ceremony (issue 16, "creditx member init"). Files in
// the member's directory DIR, besides PrepareRegion's (single replica):
//
//	DIR/tls/member/              the member certificate (role member), for the exchange
//	DIR/keys/witness.key, .vkey  its witness key (tlog-cosignature/v1)
//	DIR/keys/match-request.key   X25519 key that receives the consortium matching key (0600)
//	DIR/match-request.txt        the request to hand to a founder (public)
//	DIR/join.json                the join change (exchange.Change) to propose
//
// DIR/keys/match.key is written only by CompleteMemberMatchKey, from the key
// a founder wrapped for the request: a member never runs with a matching
// key of its own making (its person hashes would match nobody's). Changing
// these file names breaks existing member directories.
const (
	MatchRequestKeyFile = "match-request.key"
	MatchRequestFile    = "match-request.txt"
	JoinChangeFile      = "join.json"
)

// MemberInitSpec describes a new member for PrepareMember.
type MemberInitSpec struct {
	Code     string // division code, e.g. "330100"
	Name     string // e.g. "杭州市"
	API      string // host:port of its HTTPS API (HTTP/3 on the same UDP port)
	Raft     string // host:port of its raft transport
	Endpoint string // the URL other members reach it at; "" means https://API
}

// PrepareMember runs a new member's key ceremony in dir (see above) and
// returns its replica config (written to dir/node.yaml, pointing at
// dir/manifest.yaml, which "creditx member list --write-manifest" fills once
// the consortium approved the join) and the join change.
func PrepareMember(dir string, s MemberInitSpec) (*node.Config, *exchange.Change, error) {
	if err := schemas.CheckDivision(s.Code); err != nil {
		return nil, nil, fmt.Errorf("--code: %w", err)
	}
	if s.Name == "" {
		return nil, nil, errors.New("--name: required")
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return nil, nil, fmt.Errorf("%s is not empty: a key ceremony writes fresh keys into an empty directory", dir)
	}
	cs, err := PrepareRegion(dir, s.Code, []ReplicaSpec{{ID: "r-1", API: s.API, Raft: s.Raft}})
	if err != nil {
		return nil, nil, err
	}
	cfg := cs[0]
	// The fresh matching key PrepareRegion made is not the consortium's.
	if err := os.Remove(filepath.Join(dir, "keys", "match.key")); err != nil {
		return nil, nil, err
	}
	ca, vkey, err := memberKeys(dir, s.Code) // consortium.go
	if err != nil {
		return nil, nil, err
	}
	priv, req, err := exchange.NewMatchKeyRequest(s.Code)
	if err != nil {
		return nil, nil, err
	}
	logVKey, err := os.ReadFile(filepath.Join(dir, "keys", "log.vkey"))
	if err != nil {
		return nil, nil, err
	}
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = "https://" + s.API
	}
	c := &exchange.Change{Op: schemas.ChangeJoin, Code: s.Code, Name: s.Name, Endpoint: endpoint,
		LogVKey: strings.TrimSpace(string(logVKey)), WitnessVKey: vkey, CA: string(ca.CertPEM())}
	for _, a := range cfg.Anchors {
		c.Anchors = append(c.Anchors, schemas.ChangeAnchor{Name: a.Name, USCC: a.USCC, PublicKey: a.PublicKey})
	}
	cj, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	for _, f := range []struct {
		path string
		b    []byte
		mode os.FileMode
	}{
		{filepath.Join(dir, "keys", "witness.vkey"), []byte(vkey + "\n"), 0o644},
		{filepath.Join(dir, "keys", MatchRequestKeyFile), []byte(exchange.MatchRequestKeyText(priv)), 0o600},
		{filepath.Join(dir, MatchRequestFile), []byte(req + "\n"), 0o644},
		{filepath.Join(dir, JoinChangeFile), append(cj, '\n'), 0o644},
	} {
		if err := os.WriteFile(f.path, f.b, f.mode); err != nil {
			return nil, nil, err
		}
	}
	cfg.Name = s.Name
	cfg.Exchange = &node.ExchangeConfig{Manifest: filepath.Join(dir, "manifest.yaml")}
	if err := node.WriteConfig(filepath.Join(dir, "node.yaml"), cfg); err != nil {
		return nil, nil, err
	}
	return cfg, c, nil
}

// CompleteMemberMatchKey opens the matching key a founder wrapped for the
// member in dir (its request key) and writes dir/keys/match.key. It refuses
// to replace a different key already there.
func CompleteMemberMatchKey(dir, code, wrapped string) (schemas.MatchKey, error) {
	kb, err := os.ReadFile(filepath.Join(dir, "keys", MatchRequestKeyFile))
	if err != nil {
		return schemas.MatchKey{}, fmt.Errorf("the member's request key (made by member init): %w", err)
	}
	priv, err := exchange.ParseMatchRequestKey(string(kb))
	if err != nil {
		return schemas.MatchKey{}, err
	}
	mk, err := exchange.UnwrapMatchKey(priv, code, wrapped)
	if err != nil {
		return schemas.MatchKey{}, err
	}
	p := filepath.Join(dir, "keys", "match.key")
	if old, err := os.ReadFile(p); err == nil {
		if strings.TrimSpace(string(old)) != mk.String() {
			return schemas.MatchKey{}, fmt.Errorf("%s holds another matching key; remove it first if it is wrong", p)
		}
		return mk, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return schemas.MatchKey{}, err
	}
	return mk, os.WriteFile(p, []byte(mk.String()+"\n"), 0o600)
}

// ProposeRecord builds and signs (with admin's anchor key) the
// manifest_propose record of change c on the manifest in force cur.
func ProposeRecord(region string, admin *client.Credentials, cur *exchange.Manifest, c *exchange.Change, now time.Time) ([]byte, *exchange.Manifest, error) {
	res, err := exchange.ApplyChange(cur, c)
	if err != nil {
		return nil, nil, err
	}
	g := &schemas.Governance{
		Header:          schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Action:          schemas.ActionManifestPropose,
		ManifestPropose: &schemas.ManifestPropose{Base: exchange.ManifestHash(cur), Change: c, SHA256: exchange.ManifestHash(res)},
	}
	e, err := admin.Sign(g)
	return e, res, err
}

// ApproveRecord builds and signs the manifest_approve record of the
// proposal whose resulting manifest has hash sha256.
func ApproveRecord(region string, admin *client.Credentials, sha256 string, now time.Time) ([]byte, error) {
	g := &schemas.Governance{
		Header:          schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Action:          schemas.ActionManifestApprove,
		ManifestApprove: &schemas.ManifestApprove{SHA256: sha256},
	}
	return admin.Sign(g)
}
