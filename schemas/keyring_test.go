package schemas

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func testAnchor(seed byte) Anchor {
	pub, _ := testKey(seed)
	return Anchor{KeyID: KeyID(pub), Public: pub, Name: "浙江省信用办", USCC: usccZJEnv, Region: "330000"}
}

func TestKeyringLifecycle(t *testing.T) {
	admin := testAnchor(100)
	k, err := NewKeyring([]Anchor{admin})
	if err != nil {
		t.Fatal(err)
	}
	agencyPub, _ := testKey(1)
	agencyID := KeyID(agencyPub)

	// Not yet registered.
	if _, err := k.Lookup(agencyID, 5); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before registration: %v, want ErrUnknownKey", err)
	}
	// Register at index 10.
	if err := k.Apply(10, sampleRegister(1), admin.KeyID); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		index uint64
		want  error
	}{
		{5, ErrUnknownKey},  // used before its registration index
		{10, ErrUnknownKey}, // the registering entry itself cannot be signed by the new key
		{11, nil},
		{19, nil},
	}
	for _, s := range steps {
		info, err := k.Lookup(agencyID, s.index)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Errorf("Lookup at %d: %v, want %v", s.index, err, s.want)
		}
		if err == nil {
			if info.RegisteredAt != 10 || info.AgencyUSCC != usccZJEnv || info.Region != "330000" ||
				info.Anchor || !info.Public.Equal(agencyPub) || len(info.Roles) != 1 || info.Roles[0] != "publish" {
				t.Errorf("KeyInfo = %+v", info)
			}
		}
	}
	// Other governance actions pass through.
	if err := k.Apply(15, sampleMemberApprove(), "whoever"); err != nil {
		t.Errorf("member_approve: %v", err)
	}
	// Revoke at 20.
	if err := k.Apply(20, sampleRevoke(1), admin.KeyID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		index uint64
		want  error
	}{{19, nil}, {20, ErrRevokedKey}, {21, ErrRevokedKey}, {1 << 40, ErrRevokedKey}} {
		info, err := k.Lookup(agencyID, s.index)
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Errorf("after revoke, Lookup at %d: %v, want %v", s.index, err, s.want)
		}
		if err == nil && info.RevokedAt != 20 {
			t.Errorf("RevokedAt = %d", info.RevokedAt)
		}
	}
	// Anchors are valid at every index.
	if info, err := k.Lookup(admin.KeyID, 0); err != nil || !info.Anchor {
		t.Errorf("anchor: %+v %v", info, err)
	}
}

func TestKeyringApplyRejects(t *testing.T) {
	admin := testAnchor(100)
	newRing := func(t *testing.T) *Keyring {
		k, err := NewKeyring([]Anchor{admin})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Apply(10, sampleRegister(1), admin.KeyID); err != nil {
			t.Fatal(err)
		}
		return k
	}
	agencyPub, _ := testKey(1)
	tests := []struct {
		name   string
		index  uint64
		g      *Governance
		signer string
		want   string
	}{
		{"agency key registers", 11, sampleRegister(2), KeyID(agencyPub), "not a trust anchor"},
		{"unknown signer", 11, sampleRegister(2), "0000000000000000", "not a trust anchor"},
		{"register twice", 11, sampleRegister(1), admin.KeyID, "already registered"},
		{"revoke unknown", 11, sampleRevoke(3), admin.KeyID, "unknown agency key"},
		{"revoke anchor", 11, &Governance{Action: ActionAgencyKeyRevoke, AgencyKeyRevoke: &AgencyKeyRevoke{KeyID: admin.KeyID}}, admin.KeyID, "trust anchor"},
		{"out of order", 10, sampleRegister(2), admin.KeyID, "ledger order"},
		{"key id mismatch", 11, func() *Governance { g := sampleRegister(2); g.AgencyKeyRegister.KeyID = "0123456789abcdef"; return g }(), admin.KeyID, "does not match"},
		{"missing params", 11, &Governance{Action: ActionAgencyKeyRegister}, admin.KeyID, "missing"},
		{"nil", 11, nil, admin.KeyID, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newRing(t)
			err := k.Apply(tt.index, tt.g, tt.signer)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply = %v, want error containing %q", err, tt.want)
			}
			// Nothing changed: key 2 still unknown, key 1 still valid.
			pub2, _ := testKey(2)
			if _, err := k.Lookup(KeyID(pub2), 100); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("failed Apply changed the keyring: %v", err)
			}
			if _, err := k.Lookup(KeyID(agencyPub), 100); err != nil {
				t.Errorf("failed Apply changed the keyring: %v", err)
			}
		})
	}
	// Revoking twice is an error.
	k := newRing(t)
	if err := k.Apply(20, sampleRevoke(1), admin.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(21, sampleRevoke(1), admin.KeyID); !errors.Is(err, ErrRevokedKey) {
		t.Errorf("second revoke: %v, want ErrRevokedKey", err)
	}
}

func TestNewKeyringRejects(t *testing.T) {
	a := testAnchor(1)
	bad := a
	bad.KeyID = "0123456789abcdef"
	short := a
	short.Public = short.Public[:5]
	for name, anchors := range map[string][]Anchor{"mismatch": {bad}, "dup": {a, a}, "short": {short}} {
		if _, err := NewKeyring(anchors); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyringConcurrent(t *testing.T) {
	admin := testAnchor(100)
	k, _ := NewKeyring([]Anchor{admin})
	pub, _ := testKey(1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				_, _ = k.Lookup(KeyID(pub), 50)
			}
		}()
	}
	for i := uint64(1); i <= 20; i++ {
		g := sampleRegister(byte(i))
		if err := k.Apply(i, g, admin.KeyID); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	if _, err := k.Lookup(KeyID(pub), 50); err != nil {
		t.Error(err)
	}
}
