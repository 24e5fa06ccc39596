package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrUnknownKey means no key with that id is valid at the index asked
// about: never registered, or registered only at or after that index.
// Reject the entry.
var ErrUnknownKey = errors.New("unknown agency key")

// ErrRevokedKey means the key was revoked at or before the index asked
// about. Reject the entry.
var ErrRevokedKey = errors.New("revoked agency key")

// Anchor is a trust anchor from configuration: a credit office's admin key,
// valid from index 0 and the only kind of key that may register or revoke
// agency keys.
type Anchor struct {
	KeyID  string
	Public ed25519.PublicKey
	Name   string
	USCC   string
	Region string
}

// KeyInfo describes a key as known to a Keyring.
type KeyInfo struct {
	KeyID        string
	Public       ed25519.PublicKey
	AgencyName   string
	AgencyUSCC   string
	Region       string
	Roles        []string
	Domains      []string
	RegisteredAt uint64 // ledger index of the registering record; 0 for anchors
	RevokedAt    uint64 // ledger index of the revoking record; 0 = never
	Anchor       bool
}

// Keyring is the set of agency keys of one ledger, derived by applying its
// governance records in ledger order on top of the trust anchors. Lookup is
// safe to call concurrently with Lookup and Apply.
type Keyring struct {
	mu      sync.RWMutex
	keys    map[string]*KeyInfo // guarded by mu; values never mutated after insertion except RevokedAt
	applied bool                // guarded by mu; whether any index was applied
	last    uint64              // guarded by mu; last index applied
	// verifiers are the keys prepared for VerifyKey, by public key; guarded by mu.
	verifiers map[string]*Verifier
}

// NewKeyring returns a Keyring holding the anchors. An anchor whose KeyID
// does not match KeyID(Public), or a repeated id, is an error.
func NewKeyring(anchors []Anchor) (*Keyring, error) {
	k := &Keyring{keys: make(map[string]*KeyInfo, len(anchors))}
	for i, a := range anchors {
		if len(a.Public) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("anchor %d (%s): public key is %d bytes, want %d", i, a.Name, len(a.Public), ed25519.PublicKeySize)
		}
		if id := KeyID(a.Public); a.KeyID != id {
			return nil, fmt.Errorf("anchor %d (%s): key id %q does not match the public key's id %s", i, a.Name, a.KeyID, id)
		}
		if _, dup := k.keys[a.KeyID]; dup {
			return nil, fmt.Errorf("anchor %d (%s): key id %s listed twice", i, a.Name, a.KeyID)
		}
		k.keys[a.KeyID] = &KeyInfo{KeyID: a.KeyID, Public: slices.Clone(a.Public), AgencyName: a.Name,
			AgencyUSCC: a.USCC, Region: a.Region, Anchor: true}
	}
	return k, nil
}

// Apply applies the governance record g found at ledger index, signed by
// signerKeyID. Indices must increase from call to call. Registering or
// revoking an agency key requires the signer to be an anchor; registering an
// id already known, or revoking an unknown, already revoked or anchor key, is
// an error. Other actions do not change the keyring and return nil. On error
// the keyring is unchanged.
func (k *Keyring) Apply(index uint64, g *Governance, signerKeyID string) error {
	if g == nil {
		return errors.New("keyring: nil governance record")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.applied && index <= k.last {
		return fmt.Errorf("keyring: index %d applied after index %d; governance must be applied in ledger order", index, k.last)
	}
	if err := k.checkLocked(index, g, signerKeyID); err != nil {
		return err
	}
	switch g.Action {
	case ActionAgencyKeyRegister:
		reg := g.AgencyKeyRegister
		pub, _ := base64.StdEncoding.Strict().DecodeString(reg.PublicKey) // checked
		k.keys[reg.KeyID] = &KeyInfo{KeyID: reg.KeyID, Public: pub, AgencyName: reg.Agency.Name,
			AgencyUSCC: reg.Agency.USCC, Region: reg.Agency.Region, Roles: slices.Clone(reg.Roles),
			Domains: slices.Clone(reg.Domains), RegisteredAt: index}
	case ActionAgencyKeyRevoke:
		// Replace rather than mutate so KeyInfo values handed out stay fixed.
		c := *k.keys[g.AgencyKeyRevoke.KeyID]
		c.RevokedAt = index
		k.keys[c.KeyID] = &c
	}
	k.applied, k.last = true, index
	return nil
}

// Lookup returns the key as valid for an entry at ledger index: registered
// at an index before index and not revoked at or before index. Anchors are
// valid at every index. Errors wrap ErrUnknownKey or ErrRevokedKey.
func (k *Keyring) Lookup(keyID string, index uint64) (KeyInfo, error) {
	info, err := k.lookup(keyID, index)
	if err != nil {
		return KeyInfo{}, err
	}
	out := *info
	out.Public = slices.Clone(info.Public)
	out.Roles = slices.Clone(info.Roles)
	out.Domains = slices.Clone(info.Domains)
	return out, nil
}

// Valid is Lookup's check alone, without copying the key: nil if keyID is
// valid for an entry at index, else Lookup's error.
func (k *Keyring) Valid(keyID string, index uint64) error {
	_, err := k.lookup(keyID, index)
	return err
}

// lookup is Lookup without the copy; the KeyInfo is shared (never modified:
// Apply replaces entries) and must not be changed by the caller.
func (k *Keyring) lookup(keyID string, index uint64) (*KeyInfo, error) {
	k.mu.RLock()
	info, ok := k.keys[keyID]
	k.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("key %s: %w", keyID, ErrUnknownKey)
	}
	if !info.Anchor && info.RegisteredAt >= index {
		return nil, fmt.Errorf("key %s is registered at index %d, not before index %d: %w", keyID, info.RegisteredAt, index, ErrUnknownKey)
	}
	if info.RevokedAt != 0 && info.RevokedAt <= index {
		return nil, fmt.Errorf("key %s revoked at index %d, entry at index %d: %w", keyID, info.RevokedAt, index, ErrRevokedKey)
	}
	return info, nil
}
