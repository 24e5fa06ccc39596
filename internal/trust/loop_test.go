package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestLoopKeys: the keyring a ledger's Pipeline leaves checks loop entries
// as the FSM does (registered key, its agency the submitter, a notice or
// feedback only), and judges a revocation by created_at: an entry created
// before the revoking record passes, one created at or after it fails.
func TestLoopKeys(t *testing.T) {
	o, entries, pub := fixture(t, 3)
	pubUSCC := synth.EnterpriseUSCC("330000", 2)
	anchorUSCC := synth.EnterpriseUSCC("330000", 1)
	revokedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Entry 3: the anchor revokes the publisher's key.
	o, admin := newAnchor(t, o, entries)
	g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: anchorUSCC, CreatedAt: schemas.NewTime(revokedAt)},
		Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: schemas.KeyID(pub.Public().(ed25519.PublicKey)), Reason: "lost"}}
	e3, err := schemas.Sign(g, admin)
	if err != nil {
		t.Fatal(err)
	}
	entries = append(entries, e3)
	p, err := o.Pipeline(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if err := p.Check(uint64(i), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	check := p.LoopKeys().Check(nil)
	fb := func(at time.Time, submitter string, key ed25519.PrivateKey) []byte {
		f := &schemas.Feedback{Header: schemas.Header{Region: "330000", Submitter: submitter, CreatedAt: schemas.NewTime(at)},
			Notice: schemas.Ref{Origin: schemas.LoopOrigin("330000"), Index: 0, Hash: strings.Repeat("ab", 32)},
			Agency: schemas.Agency{Name: "authority", USCC: submitter}, Outcome: "applied", CaseRef: "T-1", ActedAt: schemas.NewTime(at)}
		e, err := schemas.Sign(f, key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if _, err := check(0, fb(revokedAt.Add(-time.Second), pubUSCC, pub)); err != nil {
		t.Fatalf("feedback created before the revocation: %v", err)
	}
	for _, at := range []time.Time{revokedAt, revokedAt.Add(time.Hour)} {
		if _, err := check(0, fb(at, pubUSCC, pub)); !errors.Is(err, schemas.ErrRevokedKey) || !strings.Contains(err.Error(), "creditx.330000/ledger entry 3") {
			t.Fatalf("feedback created %s, key revoked %s: %v, want revoked by entry 3", at, revokedAt, err)
		}
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := check(0, fb(revokedAt.Add(-time.Hour), pubUSCC, stranger)); !errors.Is(err, schemas.ErrUnknownKey) {
		t.Fatalf("unregistered key: %v", err)
	}
	if _, err := check(0, fb(revokedAt.Add(-time.Hour), anchorUSCC, pub)); err == nil || !strings.Contains(err.Error(), "names submitter") {
		t.Fatalf("submitter not the key's agency: %v", err)
	}
	if _, err := check(1, entries[1]); err == nil || !strings.Contains(err.Error(), "a listing is not written to the loop log") {
		t.Fatalf("listing: %v", err)
	}
	// The audit's naming: the same rules, the keyring named as it asks.
	named := p.LoopKeys().CheckNaming("the member's ledger", nil)
	if _, err := named(0, fb(revokedAt, pubUSCC, pub)); !errors.Is(err, schemas.ErrRevokedKey) || !strings.Contains(err.Error(), "revoked by the member's ledger entry 3") {
		t.Fatalf("named check, revoked key: %v", err)
	}
	if _, err := named(0, fb(revokedAt.Add(-time.Hour), pubUSCC, stranger)); !errors.Is(err, schemas.ErrUnknownKey) || !strings.Contains(err.Error(), "not in the keyring of the member's ledger") {
		t.Fatalf("named check, unregistered key: %v", err)
	}
	tampered := fb(revokedAt.Add(-time.Hour), pubUSCC, pub)
	tampered[len(tampered)/2] ^= 1
	if _, err := check(0, tampered); err == nil {
		t.Fatal("tampered entry passed")
	}
	// Without the keyring: kinds and schemas only.
	sc := LoopSchemaCheck(nil)
	if err := sc(0, fb(revokedAt.Add(time.Hour), pubUSCC, stranger)); err != nil {
		t.Fatalf("schema check: %v", err)
	}
	if err := sc(1, entries[1]); err == nil || !strings.Contains(err.Error(), "a listing") {
		t.Fatalf("schema check of a listing: %v", err)
	}
}

// newAnchor replaces the fixture's anchor with one whose private key the
// test holds, re-signing entry 0 (the registration) with it.
func newAnchor(t *testing.T, o Origin, entries [][]byte) (Origin, ed25519.PrivateKey) {
	t.Helper()
	apub, admin, _ := ed25519.GenerateKey(rand.Reader)
	o.Anchors = []Anchor{o.Anchors[0]}
	o.Anchors[0].PublicKey = base64.StdEncoding.EncodeToString(apub)
	sg, err := schemas.ParseSigned(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sg.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if entries[0], err = schemas.Sign(rec, admin); err != nil {
		t.Fatal(err)
	}
	return o, admin
}
