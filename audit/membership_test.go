package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// strictManifest is the exchange manifest of fixture members (with region CAs).
func strictManifest(t *testing.T, ms []*member) *exchange.Manifest {
	t.Helper()
	m := &exchange.Manifest{Version: 1, AcceptedSchemas: []string{"listing/v1"}}
	for i, mb := range ms {
		m.Members = append(m.Members, memberOf(t, mb, "https://127.0.0.1:"+string(rune('1'+i))+"443"))
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := exchange.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func memberOf(t *testing.T, mb *member, endpoint string) exchange.Member {
	ca, err := pki.NewCA(mb.code, "CA "+mb.code, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return exchange.Member{Code: mb.code, Name: "Member " + mb.code, Endpoint: endpoint, LogVKey: mb.logV, WitnessVKey: mb.witV,
		CA: string(ca.CertPEM()), Status: exchange.StatusActive,
		Anchors: []exchange.Anchor{{Name: "Credit office " + mb.code, USCC: mb.adminUSCC(), PublicKey: base64.StdEncoding.EncodeToString(mb.admin.Public().(ed25519.PublicKey))}}}
}

func (m *member) gov(t *testing.T, g *schemas.Governance) uint64 {
	g.Header = schemas.Header{Region: m.code, Submitter: m.adminUSCC(), CreatedAt: schemas.NewTime(fixtureBase)}
	return m.sign(t, g, m.admin)
}

// TestMembershipCheck: the audit replays the membership records of the
// verified ledgers on the genesis manifest, reports the approved change and
// the pending one with their votes, and fails a manifest in force that the
// ledgers never approved.
func TestMembershipCheck(t *testing.T) {
	fx := &fixture{dir: t.TempDir(), where: map[string]uint64{}, base: fixtureBase}
	for _, c := range []string{"310000", "320000", "330000"} {
		fx.members = append(fx.members, newMember(t, c))
	}
	sh, js, zj := fx.members[0], fx.members[1], fx.members[2]
	g := strictManifest(t, fx.members)
	city := newMember(t, "330100")
	c := memberOf(t, city, "https://127.0.0.1:9443")
	join := &exchange.Change{Op: schemas.ChangeJoin, Code: c.Code, Name: "杭州市", Endpoint: c.Endpoint, LogVKey: c.LogVKey, WitnessVKey: c.WitnessVKey, CA: c.CA,
		Anchors: []schemas.ChangeAnchor{{Name: c.Anchors[0].Name, USCC: c.Anchors[0].USCC, PublicKey: c.Anchors[0].PublicKey}}}
	v2, err := exchange.ApplyChange(g, join)
	if err != nil {
		t.Fatal(err)
	}
	leave := &exchange.Change{Op: schemas.ChangeEndpoint, Code: "320000", Endpoint: "https://127.0.0.1:7443"}
	v3, err := exchange.ApplyChange(v2, leave)
	if err != nil {
		t.Fatal(err)
	}
	h1, h2, h3 := exchange.ManifestHash(g), exchange.ManifestHash(v2), exchange.ManifestHash(v3)
	// 310000 proposes the join and 320000 approves (index 0 of each
	// ledger): 2 of 3 decides it at merged index 0. 320000 proposes a
	// move on v2 and only 330000 approves: 2 of 4 is not a majority.
	sh.gov(t, &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: &schemas.ManifestPropose{Base: h1, Change: join, SHA256: h2}})
	zj.gov(t, &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: h2}})
	js.gov(t, &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: h2}})
	zj.gov(t, &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: h3}})
	js.gov(t, &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: &schemas.ManifestPropose{Base: h2, Change: leave, SHA256: h3}})
	for _, m := range fx.members {
		m.phase1 = len(m.entries)
	}
	fx.write(t)
	gb, _ := g.Encode()
	if err := os.WriteFile(filepath.Join(fx.dir, ManifestFile), gb, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("audit: %v (%v)", err, rep.Failures)
	}
	ms := rep.Membership
	if ms == nil || !ms.OK || ms.Genesis != h1 || len(ms.Versions) != 1 || len(ms.Pending) != 1 {
		t.Fatalf("membership section: %+v", ms)
	}
	v := ms.Versions[0]
	if v.Hash != h2 || v.Version != 2 || v.Proposal.What != "join 330100" || !slices.Equal(v.Approvers, []string{"310000", "320000"}) || len(v.Electorate) != 3 {
		t.Errorf("version: %+v", v)
	}
	if p := ms.Pending[0]; !slices.Equal(p.Votes, []string{"320000", "330000"}) || p.Needed != 3 {
		t.Errorf("pending: %+v", p)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "version 2 from index 0: join 330100 (creditx.310000/ledger#0), approved by 310000 320000 of 3") ||
		!strings.Contains(text.String(), "pending: endpoint 320000") {
		t.Errorf("text report:\n%s", text.String())
	}

	// The manifest in force must be the one the ledgers reached.
	recs := []exchange.GovRecord{{By: "310000", Propose: &schemas.ManifestPropose{Base: h1, Change: join, SHA256: h2}},
		{By: "330000", Index: 1, Approve: &schemas.ManifestApprove{SHA256: h2}},
		{By: "320000", Index: 2, Approve: &schemas.ManifestApprove{SHA256: h2}}}
	if _, fails := CheckMembership(g, nil, recs, v2); len(fails) != 0 {
		t.Errorf("the approved manifest in force: %v", fails)
	}
	if _, fails := CheckMembership(g, nil, recs, v3); len(fails) != 1 || !strings.Contains(fails[0].Reason, "not reached") {
		t.Errorf("an unapproved manifest in force: %v", fails)
	}
	if _, fails := CheckMembership(g, nil, recs, g); len(fails) != 1 || !strings.Contains(fails[0].Reason, "approved version 2") {
		t.Errorf("a superseded manifest in force: %v", fails)
	}
	if _, fails := CheckMembership(g, nil, recs[:1], v2); len(fails) != 1 {
		t.Errorf("the proposer alone, one of three: %v", fails)
	}
	// A history whose change lacks a majority (as a buggy replay would
	// produce) is an integrity failure.
	h := exchange.Reconstruct(g, nil, recs)
	h.Versions[1].Approvers = h.Versions[1].Approvers[:1]
	if _, fails := checkHistory(h, nil); len(fails) != 1 || !strings.Contains(fails[0].Reason, "more than half") {
		t.Errorf("a change without majority: %v", fails)
	}
}
