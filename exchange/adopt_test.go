package exchange

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// govEntry is a governance record in member by's ledger.
type govEntry struct {
	by string
	g  *schemas.Governance
}

// writeGov appends the records to their members' ledgers in the host's
// store and indexes them in the gov bucket, bumping its sequence for each,
// as the node's indexer does; then it runs ReconcileSchemas in the same
// transaction, as the FSM does after an indexed run.
func writeGov(t *testing.T, h *fakeHost, x *Runtime, recs []govEntry) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.Update(func(tx *ledger.Tx) error {
		gov, err := tx.Bucket(BucketGov)
		if err != nil {
			return err
		}
		for _, r := range recs {
			r.g.Header = schemas.Header{Region: r.by, Submitter: "91" + r.by + "MA1234567X", CreatedAt: schemas.NewTime(time.Unix(1767225600, 0))}
			e, err := schemas.Sign(r.g, priv)
			if err != nil {
				return err
			}
			origin := schemas.LedgerOrigin(r.by)
			index := tx.Log(origin).Size()
			if _, err := tx.Append(origin, [][]byte{e}); err != nil {
				return err
			}
			if err := gov.Put(EntryKey(origin, index), []byte(schemas.KeyID(priv.Public().(ed25519.PublicKey)))); err != nil {
				return err
			}
			if _, err := gov.NextSequence(); err != nil {
				return err
			}
		}
		return x.ReconcileSchemas(tx, time.Unix(1767225600, 0), func(string, uint64, [][]byte) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// adoptedNow reports whether schema is in the adopted bucket and whether
// AcceptsEntry accepts an entry of that schema.
func adoptedNow(t *testing.T, h *fakeHost, x *Runtime, schema string) (inBucket, accepts bool) {
	t.Helper()
	err := h.store.Update(func(tx *ledger.Tx) error {
		var err error
		accepts, _, err = x.AcceptsEntry(tx, fmt.Appendf(nil, `{"record":{"schema":%q}}`, schema))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.View(func(tx *ledger.ReadTx) error {
		for _, a := range ReadAdopted(tx) {
			inBucket = inBucket || a.Schema == schema
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inBucket, accepts
}

// TestAdoptionFollowsManifestInForce: schema acceptance is decided over the
// manifest in force as of the applying transaction, not the configured one.
// Four founders, listing/v1 not accepted by the manifest; Hangzhou (330100)
// joins by manifest_propose/manifest_approve. Its schema_adopt counts (two
// founders and the city are 3 of 5), a member that left does not vote, and
// the threshold is over the members in force. Under the configured manifest
// the first case is 2 of 4 (not adopted) and the removal case 3 of 4
// (adopted): both would fail.
func TestAdoptionFollowsManifestInForce(t *testing.T) {
	m1 := testManifest(t, founders...)
	m1.AcceptedSchemas = []string{schemas.SchemaGovernance}
	m1 = parsed(t, m1)
	join := joinChange(t, "330100", "https://127.0.0.1:9443")
	joinRec, m2 := propose(t, "310000", 0, m1, join)
	leaveRec, m3 := propose(t, "310000", 1, m2, &Change{Op: schemas.ChangeLeave, Code: "340000"})

	gp := func(by string, p *schemas.ManifestPropose) govEntry {
		return govEntry{by, &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: p}}
	}
	ga := func(by string, m *Manifest) govEntry {
		return govEntry{by, &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: ManifestHash(m)}}}
	}
	adopt := func(by ...string) []govEntry {
		var out []govEntry
		for _, b := range by {
			out = append(out, govEntry{b, &schemas.Governance{Action: schemas.ActionSchemaAdopt, SchemaAdopt: &schemas.SchemaAdopt{Schema: schemas.SchemaListing}}})
		}
		return out
	}
	joined := []govEntry{gp("310000", joinRec.Propose), ga("320000", m2), ga("330000", m2)}
	left := append(append([]govEntry(nil), joined...), gp("310000", leaveRec.Propose), ga("320000", m3), ga("330000", m3))

	tests := []struct {
		name  string
		steps [][]govEntry // each step is one transaction
		want  []bool       // listing/v1 accepted after each step
	}{
		{"two founders and the joined city: 3 of 5",
			[][]govEntry{joined, adopt("310000", "320000", "330100")}, []bool{false, true}},
		{"votes before the join count once it is in force",
			[][]govEntry{adopt("310000", "320000", "330100"), joined[:1], joined[1:]}, []bool{false, false, true}},
		{"join without a majority: the candidate does not vote",
			[][]govEntry{append(joined[:2:2], adopt("310000", "320000", "330100")...)}, []bool{false}},
		{"two founders of five are not more than half",
			[][]govEntry{joined, adopt("310000", "320000")}, []bool{false, false}},
		{"a member that left does not vote: 2 of 4",
			[][]govEntry{left, adopt("310000", "320000", "340000")}, []bool{false, false}},
		{"adopted, then the leave drops it below the quorum",
			[][]govEntry{joined, adopt("310000", "320000", "340000"), left[3:]}, []bool{false, true, false}},
		{"the city replaces the member that left: 3 of 4",
			[][]govEntry{left, adopt("310000", "340000", "330100", "330000")}, []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost(t)
			x, err := NewOffline(m1, "310000", h, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, step := range tc.steps {
				writeGov(t, h, x, step)
				inBucket, accepts := adoptedNow(t, h, x, schemas.SchemaListing)
				if inBucket != tc.want[i] || accepts != tc.want[i] {
					t.Errorf("after step %d: listing/v1 in the adopted bucket %v, accepted %v; want %v", i, inBucket, accepts, tc.want[i])
				}
			}
		})
	}
}

// TestExternalWitnessesFollowManifestInForce: the policy's witness "city"
// is external (pushed to over HTTPS) until a city whose witness key it is
// joins by governance; from then on the member is asked as a member (in
// rendezvous order) and no longer as an external witness. The configured
// manifest never changes: only the ledgers' membership records do.
func TestExternalWitnessesFollowManifestInForce(t *testing.T) {
	m1 := testManifest(t, founders...)
	_, cityKey, err := GenerateWitnessKey("330100", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m1.WitnessPolicy = fmt.Sprintf("witness sh %s\nwitness city %s https://city.example/witness\ngroup any 1 sh city\nquorum any\n",
		m1.Members[0].WitnessVKey, cityKey)
	m1 = parsed(t, m1)
	join := joinChange(t, "330100", "https://127.0.0.1:9443")
	join.WitnessVKey = cityKey
	joinRec, m2 := propose(t, "310000", 0, m1, join)
	h := newFakeHost(t)
	x, err := NewOffline(m1, "320000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	external := func() []string {
		targets, _ := x.pushTargets()
		var out []string
		for _, tg := range targets {
			if strings.HasPrefix(tg.name, "policy:") {
				out = append(out, tg.name)
			}
		}
		return out
	}
	if got := external(); !slices.Equal(got, []string{"policy:city"}) {
		t.Fatalf("before the join: external witnesses %v, want [policy:city]", got)
	}
	writeGov(t, h, x, []govEntry{
		{"310000", &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: joinRec.Propose}},
		{"320000", &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: ManifestHash(m2)}}},
		{"330000", &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: &schemas.ManifestApprove{SHA256: ManifestHash(m2)}}},
	})
	if _, ok := x.m().Member("330100"); !ok {
		t.Fatal("the join is not in force after a majority approved it")
	}
	if got := external(); len(got) != 0 {
		t.Errorf("after the join: external witnesses %v, want none (city is a member now)", got)
	}
}
