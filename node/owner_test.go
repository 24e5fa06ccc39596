package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// agency issues a new agency of the test region (certificate from the
// region CA, signing key registered by the admin) and returns its
// credentials.
func (tn *testNode) agency(t *testing.T, dir, body, name string, role pki.Role, domains ...string) *client.Credentials {
	t.Helper()
	return nodetest.Agency(t, tn.dir, tn.url, tn.creds["admin"], dir,
		pki.Identity{Role: role, Region: "330000", Kind: pki.KindAgency, ID: provision.DevUSCC("330000", body), Name: name, Domains: domains})
}

// refused submits entries as c and wants them refused with status, a field
// error on field whose message contains every one of want, and nothing
// written.
func (tn *testNode) refused(t *testing.T, c *client.Credentials, status int, field string, entry []byte, want ...string) {
	t.Helper()
	before := tn.settledSize(t)
	_, err := c.Submit(context.Background(), tn.url, entry)
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("submission answered %v, want %d", err, status)
	}
	msg := se.Error()
	if !strings.Contains(msg, field) {
		t.Errorf("refusal does not name field %s: %s", field, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("refusal does not say %q: %s", w, msg)
		}
	}
	if after := tn.size(t); after != before {
		t.Errorf("ledger grew from %d to %d after a refused submission", before, after)
	}
}

func ref(rs []node.Receipt) schemas.Ref {
	return schemas.Ref{Origin: rs[0].Origin, Index: rs[0].Index, Hash: rs[0].LeafHash}
}

// TestDrillRogueAgencies: a tourism publisher withdrawing an environment
// listing, an amendment naming another enterprise, an executor answering a
// notice addressed to another executor: each refused at admission with a
// field error naming the target and its rightful owner, nothing written,
// and the listing still restricts (issue 11 items 1-2, issue 12 binding).
func TestDrillRogueAgencies(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub, exe := tn.creds["publisher"], tn.creds["executor"]
	tourism := tn.agency(t, "tourism", "MB000011", "Culture and Tourism Department (test)", pki.RolePublish, "tourism")
	exe2 := tn.agency(t, "executor2", "MB000012", "Land Resources Bureau (test)", pki.RoleExecute)

	entry := tn.listing(t, 8, nil) // 8 % 4: an environment listing (internal/synth)
	rs, err := pub.Submit(ctx, tn.url, entry)
	if err != nil {
		t.Fatal(err)
	}
	L := ref(rs)
	l := tn.decodeListing(t, entry)
	now := func() schemas.Time { return schemas.NewTime(time.Now()) }

	// 1. The tourism publisher withdraws the environment listing.
	w := &schemas.Correction{Header: schemas.Header{Region: "330000", Submitter: tourism.Identity.ID, CreatedAt: now()},
		Target: L, Action: "withdraw", Reason: "rogue"}
	we, _ := tourism.Sign(w)
	tn.refused(t, tourism, 403, "record.submitter", we, "creditx.330000/ledger#", pub.Identity.ID, "rightful owner")

	// 2. The owner amends its listing to name another enterprise.
	other := *l
	other.Subject.USCC = "91330100000001230Y"
	other.CreatedAt = now()
	repl, err := schemas.Encode(&other)
	if err != nil {
		t.Fatal(err)
	}
	am := &schemas.Correction{Header: schemas.Header{Region: "330000", Submitter: pub.Identity.ID, CreatedAt: now()},
		Target: L, Action: "amend", Reason: "wrong enterprise", Replacement: repl}
	ame, _ := pub.Sign(am)
	tn.refused(t, pub, 403, "record.replacement", ame, "names another subject", "new listing")

	// 2b. The credit office files an objection to the listing for a subject
	// the listing does not name (the owner rule of objections).
	admin := tn.creds["admin"]
	ob := &schemas.Objection{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: now()},
		Target: L, SubjectKey: other.Subject.USCC, Grounds: []string{"fact_error"}, Statement: "not ours", FiledAt: now(), ProvidingUnit: l.Authority}
	obe, err := admin.Sign(ob)
	if err != nil {
		t.Fatal(err)
	}
	tn.refused(t, admin, 403, "record.subject_key", obe, other.Subject.USCC, "not a subject of the listing", "rightful owner")

	// 3. Another executor answers a notice addressed to the dev executor,
	// once naming itself and once naming the addressee.
	var notices []node.NoticeView
	if err := getNotices(ctx, exe, tn.url+"/v1/notices?state=pending&wait=10s", &notices); err != nil || len(notices) == 0 {
		t.Fatalf("no notices for the executor: %v", err)
	}
	n0 := notices[0]
	nref := schemas.Ref{Origin: n0.Origin, Index: n0.Index, Hash: tn.leafHash(t, n0.Origin, n0.Index)}
	for _, named := range []*client.Credentials{exe2, exe} {
		fb := &schemas.Feedback{Header: schemas.Header{Region: "330000", Submitter: exe2.Identity.ID, CreatedAt: now()}, Notice: nref,
			Agency: schemas.Agency{Name: named.Identity.Name, USCC: named.Identity.ID}, Outcome: "applied", ActedAt: now()}
		fe, _ := exe2.Sign(fb)
		tn.refused(t, exe2, 403, "record.submitter", fe, exe.Identity.ID, "rightful owner")
	}
	var answered []node.NoticeView
	if err := getNotices(ctx, exe, tn.url+"/v1/notices?state=answered", &answered); err != nil {
		t.Fatalf("listing answered notices: %v", err)
	}
	if len(answered) != 0 {
		t.Fatalf("a notice is answered after only foreign feedback: %+v", answered)
	}

	// The listing still restricts, and the owner can still withdraw it.
	var a node.CheckAnswer
	if err := exe.Get(ctx, tn.url+"/v1/check?subject="+l.Subject.USCC+"&action=procurement", &a); err != nil || a.Result != "restricted" {
		t.Fatalf("check after the rogue attempts: %+v %v", a, err)
	}
	w.Submitter = pub.Identity.ID
	we, _ = pub.Sign(w)
	if _, err := pub.Submit(ctx, tn.url, we); err != nil {
		t.Fatalf("the owner's withdrawal: %v", err)
	}
}

// TestDrillGovernanceRefused: governance records the keyring would refuse
// are refused at admission with the keyring's reason, nothing written
// (issue 11 item 3).
func TestDrillGovernanceRefused(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	admin := tn.creds["admin"]
	gov := func(action string, set func(*schemas.Governance)) []byte {
		g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}, Action: action}
		set(g)
		e, err := admin.Sign(g)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	revoke := func(keyID string) []byte {
		return gov(schemas.ActionAgencyKeyRevoke, func(g *schemas.Governance) {
			g.AgencyKeyRevoke = &schemas.AgencyKeyRevoke{KeyID: keyID, Reason: "test"}
		})
	}
	tn.refused(t, admin, 422, "record.agency_key_revoke", revoke("0123456789abcdef"), "unknown agency key")

	ex := tn.agency(t, "executor3", "MB000013", "Customs (test)", pki.RoleExecute)
	keyID := schemas.KeyID(ex.SignKey.Public().(ed25519.PublicKey))
	if _, err := admin.Submit(ctx, tn.url, revoke(keyID)); err != nil {
		t.Fatal(err)
	}
	tn.refused(t, admin, 422, "record.agency_key_revoke", revoke(keyID), "revoked agency key")
	reg, err := client.RegistrationRecord("330000", admin, ex)
	if err != nil {
		t.Fatal(err)
	}
	tn.refused(t, admin, 422, "record.agency_key_register", reg, "never registered again")
}
