package provision

import (
	"crypto/rand"
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
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// MemberSpec describes one member for PrepareConsortium.
type MemberSpec struct {
	Region string // e.g. "330000"
	Name   string // e.g. "Zhejiang"
	API    string // host:port of its HTTPS API; HTTP/3 uses the same UDP port
	Raft   string // host:port of its raft transport
	// Candidate: listed in the manifest but not a founder, so it takes part
	// only once a quorum of members approved it (member_approve records).
	Candidate bool
}

// MemberApproval is the governance record, signed by admin (a credit-office
// anchor of the approving member, region), that approves mb as it stands in
// the manifest.
func MemberApproval(region string, admin *client.Credentials, mb *exchange.Member) ([]byte, error) {
	g := &schemas.Governance{
		Header: schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Action: schemas.ActionMemberApprove,
		MemberApprove: &schemas.MemberApprove{Code: mb.Code, Name: mb.Name, Endpoint: mb.Endpoint,
			LogVKey: strings.TrimSpace(mb.LogVKey), WitnessVKey: strings.TrimSpace(mb.WitnessVKey)},
	}
	return admin.Sign(g)
}

// PrepareConsortium runs every member's key ceremony under dir (one
// single-replica region per member, dir/<region>/, as PrepareRegion), issues
// each a member certificate (dir/<region>/tls/member) and a witness key
// (dir/<region>/keys/witness.key), shares one consortium matching key, writes
// the manifest (dir/manifest.yaml, accepting every schema this version
// knows) and points every member's config at it. For development, tests and
// the demo: one operator holds every key.
func PrepareConsortium(dir string, members []MemberSpec) ([]*node.Config, *exchange.Manifest, error) {
	m := &exchange.Manifest{Version: 1, WitnessQuorum: min(exchange.DefaultWitnessQuorum, max(1, len(members)-1)), AcceptedSchemas: schemas.KnownSchemas()}
	var cfgs []*node.Config
	var matchKey []byte
	var founders []string
	for _, ms := range members {
		rdir := filepath.Join(dir, ms.Region)
		cs, err := PrepareRegion(rdir, ms.Region, []ReplicaSpec{{ID: "r-1", API: ms.API, Raft: ms.Raft}})
		if err != nil {
			return nil, nil, fmt.Errorf("member %s: %w", ms.Region, err)
		}
		cfg := cs[0]
		if matchKey == nil {
			if matchKey, err = os.ReadFile(filepath.Join(rdir, "keys", "match.key")); err != nil {
				return nil, nil, err
			}
		} else {
			files := []string{filepath.Join(rdir, "keys", "match.key")}
			for _, a := range devAgencies {
				files = append(files, filepath.Join(rdir, "agencies", a.Dir, "match.key"))
			}
			for _, f := range files {
				if err := os.WriteFile(f, matchKey, 0o600); err != nil {
					return nil, nil, err
				}
			}
		}
		ca, vkey, err := memberKeys(rdir, ms.Region)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(rdir, "keys", "witness.vkey"), []byte(vkey+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		logVKey, err := os.ReadFile(filepath.Join(rdir, "keys", "log.vkey"))
		if err != nil {
			return nil, nil, err
		}
		// The loop log's key (issue 20): regions provisioned before it have none.
		loopVKey, err := os.ReadFile(filepath.Join(rdir, "keys", "loop.vkey"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		mb := exchange.Member{Code: ms.Region, Name: ms.Name, Endpoint: "https://" + ms.API, LogVKey: string(trimNL(logVKey)),
			LoopVKey: string(trimNL(loopVKey)), WitnessVKey: vkey, CA: string(ca.CertPEM()), Status: exchange.StatusActive}
		for _, a := range cfg.Anchors {
			mb.Anchors = append(mb.Anchors, exchange.Anchor{Name: a.Name, USCC: a.USCC, PublicKey: a.PublicKey})
		}
		m.Members = append(m.Members, mb)
		if !ms.Candidate {
			founders = append(founders, ms.Region)
		}
		cfg.Name = ms.Name
		cfg.Exchange = &node.ExchangeConfig{Manifest: filepath.Join(dir, "manifest.yaml")}
		cfgs = append(cfgs, cfg)
	}
	if len(founders) < len(members) {
		m.Founders = founders
	}
	b, err := m.Encode()
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.yaml"), b, 0o644); err != nil {
		return nil, nil, err
	}
	parsed, err := exchange.ParseManifest(b)
	if err != nil {
		return nil, nil, fmt.Errorf("generated manifest: %w", err)
	}
	for _, cfg := range cfgs {
		if err := node.WriteConfig(filepath.Join(cfg.DataDir, "node.yaml"), cfg); err != nil {
			return nil, nil, err
		}
	}
	return cfgs, parsed, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// memberKeys is the member's part of a key ceremony in region directory
// dir (made by PrepareRegion): a member certificate from the region CA
// (tls/member, for the inter-member QUIC connections) and a witness key
// (keys/witness.key, mode 0600). It returns the CA and the witness
// verifier key; writing keys/witness.vkey is the caller's.
func memberKeys(dir, code string) (*pki.CA, string, error) {
	ca, err := pki.LoadCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, "", err
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleMember, Region: code, Kind: pki.KindMember, ID: code,
		Name: "member " + code}, []string{"localhost", "127.0.0.1"}, 5*365*24*time.Hour)
	if err != nil {
		return nil, "", err
	}
	if err := pki.WriteCredentials(filepath.Join(dir, "tls", "member"), certPEM, keyPEM, ca.CertPEM()); err != nil {
		return nil, "", err
	}
	skey, vkey, err := exchange.GenerateWitnessKey(code, rand.Reader)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "witness.key"), []byte(skey+"\n"), 0o600); err != nil {
		return nil, "", err
	}
	return ca, vkey, nil
}
