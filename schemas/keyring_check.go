package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
)

// Check reports whether Apply would accept governance record g signed by
// signerKeyID at ledger index, without changing the keyring: admission
// refuses, with this reason, a record the keyring would refuse, so that no
// ledger holds an entry every verifier must reject (issue 11 item 3).
func (k *Keyring) Check(index uint64, g *Governance, signerKeyID string) error {
	if g == nil {
		return errors.New("keyring: nil governance record")
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.checkLocked(index, g, signerKeyID)
}

// checkLocked is what Apply checks before changing anything; k.mu is held.
func (k *Keyring) checkLocked(index uint64, g *Governance, signerKeyID string) error {
	switch g.Action {
	case ActionAgencyKeyRegister, ActionAgencyKeyRevoke:
		signer, ok := k.keys[signerKeyID]
		if !ok || !signer.Anchor {
			return fmt.Errorf("keyring: index %d: %s signed by %s, which is not a trust anchor", index, g.Action, signerKeyID)
		}
	default:
		return nil
	}
	switch g.Action {
	case ActionAgencyKeyRegister:
		reg := g.AgencyKeyRegister
		if reg == nil {
			return fmt.Errorf("keyring: index %d: agency_key_register parameters missing", index)
		}
		pub, err := base64.StdEncoding.Strict().DecodeString(reg.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("keyring: index %d: public_key is not std base64 of a 32-byte Ed25519 key", index)
		}
		if id := KeyID(pub); id != reg.KeyID {
			return fmt.Errorf("keyring: index %d: key_id %s does not match the public key's id %s", index, reg.KeyID, id)
		}
		if old, dup := k.keys[reg.KeyID]; dup {
			if old.RevokedAt != 0 {
				return fmt.Errorf("keyring: index %d: key %s was registered at index %d and %w at index %d; a revoked key is never registered again: register a new key", index, reg.KeyID, old.RegisteredAt, ErrRevokedKey, old.RevokedAt)
			}
			return fmt.Errorf("keyring: index %d: key %s is already registered (at index %d)", index, reg.KeyID, old.RegisteredAt)
		}
	case ActionAgencyKeyRevoke:
		rev := g.AgencyKeyRevoke
		if rev == nil {
			return fmt.Errorf("keyring: index %d: agency_key_revoke parameters missing", index)
		}
		info, ok := k.keys[rev.KeyID]
		switch {
		case !ok:
			return fmt.Errorf("keyring: index %d: cannot revoke key %s: %w", index, rev.KeyID, ErrUnknownKey)
		case info.Anchor:
			return fmt.Errorf("keyring: index %d: key %s is a trust anchor; change the configuration instead", index, rev.KeyID)
		case info.RevokedAt != 0:
			return fmt.Errorf("keyring: index %d: key %s: %w at index %d", index, rev.KeyID, ErrRevokedKey, info.RevokedAt)
		}
	}
	return nil
}
