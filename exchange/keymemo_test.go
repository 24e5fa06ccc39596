package exchange

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// spoilLines returns signed once per signature line, with one bit of that
// line's signature flipped (byte 20 of the decoded line: past the key hash
// and a cosignature's timestamp).
func spoilLines(t *testing.T, signed []byte) [][]byte {
	t.Helper()
	lines := bytes.SplitAfter(signed, []byte("\n"))
	var out [][]byte
	for i, l := range lines {
		if !bytes.HasPrefix(l, []byte("— ")) {
			continue
		}
		f := strings.Fields(string(l))
		raw, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		raw[20] ^= 1
		spoilt := fmt.Sprintf("%s %s %s\n", f[0], f[1], base64.StdEncoding.EncodeToString(raw))
		bad := append(bytes.Join(lines[:i], nil), spoilt...)
		out = append(out, append(bad, bytes.Join(lines[i+1:], nil)...))
	}
	return out
}

// TestInForceSharesKeyMemories: once a membership change is in force, the
// manifest in force (rebuilt from the gov index) checks a checkpoint the
// configured manifest already checked with no new signature check: its
// keys are the configured manifest's, memories included (keymemo.go).
// Before, each rebuilt manifest had fresh memories: 4 more checks here
// (the log's signature and 3 cosignatures), and the FSM's key of a member
// that joined (LivePeer) was yet another memory on every call. With the
// memories warm, every altered line is still refused, and a rotated
// witness key does not accept the old key's cosignature.
func TestInForceSharesKeyMemories(t *testing.T) {
	fx := newCosigFixture(t, 4) // 310000 (the log) and witnesses 311000, 312000, 313000
	h := newFakeHost(t)
	x, err := NewOffline(fx.m, "311000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	join := joinChange(t, "330100", "https://127.0.0.1:29443")
	rec, m2 := propose(t, "310000", 0, fx.m, join)
	approve := &schemas.ManifestApprove{SHA256: ManifestHash(m2)}
	writeGov(t, h, x, []govEntry{
		{"310000", &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: rec.Propose}},
		{"311000", &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: approve}},
		{"312000", &schemas.Governance{Action: schemas.ActionManifestApprove, ManifestApprove: approve}},
	})
	inForce := x.m()
	joined, ok := inForce.Member("330100")
	if !ok || inForce == fx.m {
		t.Fatal("the join is not in force after a majority approved it")
	}

	signed := fx.checkpoint(t, 5, 3)
	if names, ok, err := fx.m.Witnessed(fx.code, signed); err != nil || !ok || len(names) != 3 {
		t.Fatalf("configured manifest: %v %v %v", names, ok, err)
	}
	c0, h0 := inForce.sigStats()
	if names, ok, err := inForce.Witnessed(fx.code, signed); err != nil || !ok || len(names) != 3 {
		t.Fatalf("manifest in force: %v %v %v", names, ok, err)
	}
	if c1, h1 := inForce.sigStats(); c1 != c0 || h1 != h0+4 {
		t.Errorf("the manifest in force re-opening a checked checkpoint: %d checks, %d from memory; want 0, 4", c1-c0, h1-h0)
	}
	// Work counts a key the two manifests share once.
	if c, hits := x.Work().SigLines, x.Work().SigRemembered; c != 4 || hits != 4 {
		t.Errorf("Work: %d signature lines checked, %d from memory; want 4, 4", c, hits)
	}

	// The FSM's key of the member that joined, and InForceAt's, are the
	// manifest in force's: one memory.
	err = h.store.View(func(tx *ledger.ReadTx) error {
		if m := x.InForceAt(tx); m.Members[len(m.Members)-1].LogVerifier() != joined.LogVerifier() {
			t.Error("InForceAt: the joined member's log key has a memory of its own")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.Update(func(tx *ledger.Tx) error {
		v, ok := x.LivePeer(tx, joined.Origin())
		if !ok || v != joined.LogVerifier() {
			t.Errorf("LivePeer(%s) = %v, %v: not the manifest in force's key", joined.Origin(), v, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Forgeries, with every line of signed remembered by the shared keys.
	for i, bad := range spoilLines(t, signed) {
		if _, _, err := inForce.Witnessed(fx.code, bad); err == nil {
			t.Errorf("signature line %d altered: accepted by the manifest in force with the memory warm", i)
		}
	}
	lines := bytes.SplitAfter(signed, []byte("\n"))
	moved := append(fx.checkpoint(t, 6, 0), bytes.Join(lines[len(lines)-4:], nil)...)
	if _, _, err := inForce.Witnessed(fx.code, moved); err == nil {
		t.Error("cosignatures over size 5 accepted on size 6")
	}

	// A rotated witness key is another key: the old key's cosignature is
	// not one of the new key's.
	_, newKey, err := GenerateWitnessKey("312000", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := ApplyChange(inForce, &Change{Op: schemas.ChangeRotateKeys, Code: "312000", WitnessVKey: newKey})
	if err != nil {
		t.Fatal(err)
	}
	x.derived(rotated)
	if names, _, err := rotated.Witnessed(fx.code, signed); err != nil || len(names) != 2 || strings.Contains(strings.Join(names, " "), "312000") {
		t.Errorf("after 312000 rotated its witness key: cosigners %v (%v); want 311000 and 313000 only", names, err)
	}
}

// TestPolicyWitnessIsMemberKey: a witness_policy naming a member's witness
// key checks that key's cosignatures with the member's verifier, one
// memory (sigmemo) for one key, counted once by Work.
func TestPolicyWitnessIsMemberKey(t *testing.T) {
	m := testManifest(t, founders...)
	m.WitnessPolicy = fmt.Sprintf("witness sh %s\nwitness zj %s\ngroup both all sh zj\nquorum both\n", m.Members[0].WitnessVKey, m.Members[2].WitnessVKey)
	m = parsed(t, m)
	for _, i := range []int{0, 2} {
		w, ok := m.Policy().WitnessByKey(m.Members[i].WitnessVKey)
		if !ok || w.Verifier != m.Members[i].WitnessVerifier() {
			t.Errorf("policy witness of member %s: a verifier (and memory) of its own", m.Members[i].Code)
		}
	}
}
