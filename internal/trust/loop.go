package trust

// Loop logs (issue 20, internal/notices/loop.go): with sanctions.loop_log a
// member writes its sanction notices and their feedback to a second log,
// creditx.<code>/loop, signed with its loop key (keys/loop.vkey, or the
// consortium manifest's loop_vkey). The loop log has no governance of its
// own: its entries are signed by keys of the member's ledger keyring. So a
// loop log is verified after its member's ledger: the ledger's Pipeline
// collects the keyring as it goes (LoopKeys, no extra pass over the ledger)
// and LoopKeys.Check checks each loop entry as the node's FSM did
// (notices.CheckLoopEntry): a signed sanction notice or feedback, schema-
// valid, signed by a key of the keyring that verifies the signature, whose
// agency (the USCC of the anchor, or the one the key was registered for) is
// the record's submitter. Only the keyring of a ledger whose check passed
// is to be used (Pipeline.LoopKeys): a ledger that failed leaves its
// loop log to LoopSchemaCheck, reported as keys not checked. "creditx
// verify" and the audit (audit/loopcheck.go) both check loop logs here.
//
// What cannot be checked offline: the FSM accepts a loop entry whose key is
// valid in the keyring as of the ledger's size at the loop append, and a
// loop entry does not record that size. "In force when appended" is judged
// by time instead: a key revoked by a ledger record created at or before
// the loop entry's created_at makes the entry fail; an entry backdated
// before the revocation by the holder of the revoked key is not caught, and
// neither is an entry appended before its key's registration (any key the
// ledger registers counts). LoopNotChecked says so, for reports.

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/creditx/creditx/schemas"
)

// LoopNotChecked is what a loop log's verification does not check, for the
// "not checked" line of a report.
const LoopNotChecked = "whether each entry's key was in force when it was appended (a loop entry does not record the ledger size at its append): judged by time instead, an entry fails if its key was revoked by a ledger record created at or before the entry's created_at; an entry backdated before the revocation, or appended before its key's registration, is not caught"

// IsLoopLog reports whether the origin is a member's loop log,
// creditx.<code>/loop.
func (o Origin) IsLoopLog() bool { return IsLoopOrigin(o.Origin) }

// IsLoopOrigin reports whether origin is a member's loop log.
func IsLoopOrigin(origin string) bool {
	_, name, err := schemas.ParseOrigin(origin)
	return err == nil && name == schemas.OriginLoop
}

// LoopKey is a key of a member's keyring as a loop entry is checked
// against it.
type LoopKey struct {
	Public     ed25519.PublicKey
	Name, USCC string
	Anchor     bool
	Revoked    bool
	RevIndex   uint64    // ledger index of the revoking record
	RevCreated time.Time // its created_at
}

// LoopKeys is a member's keyring as its verified ledger leaves it, with
// when each revoked key was revoked (ledger index and created_at). Build it
// with NewLoopKeys and Apply every governance record the ledger's check
// applied, in ledger order (Pipeline does). Not safe for concurrent Apply.
type LoopKeys struct {
	Ledger string // the ledger origin the keys are of
	keys   map[string]*LoopKey
}

// NewLoopKeys returns the keyring of ledger holding its anchors.
func NewLoopKeys(ledger string, anchors []schemas.Anchor) *LoopKeys {
	k := &LoopKeys{Ledger: ledger, keys: map[string]*LoopKey{}}
	for _, a := range anchors {
		k.keys[a.KeyID] = &LoopKey{Public: a.Public, Name: a.Name, USCC: a.USCC, Anchor: true}
	}
	return k
}

// Apply records governance record g at ledger index, created at created,
// which the ledger's keyring accepted (schemas.Keyring.Apply returned nil).
func (k *LoopKeys) Apply(index uint64, created time.Time, g *schemas.Governance) {
	switch g.Action {
	case schemas.ActionAgencyKeyRegister:
		reg := g.AgencyKeyRegister
		if reg == nil {
			return
		}
		pub, err := base64.StdEncoding.Strict().DecodeString(reg.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return // the keyring refused it already
		}
		k.keys[reg.KeyID] = &LoopKey{Public: pub, Name: reg.Agency.Name, USCC: reg.Agency.USCC}
	case schemas.ActionAgencyKeyRevoke:
		if rv := g.AgencyKeyRevoke; rv != nil {
			if c := k.keys[rv.KeyID]; c != nil && !c.Revoked {
				c.Revoked, c.RevIndex, c.RevCreated = true, index, created
			}
		}
	}
}

// Key returns the key with id keyID, or nil.
func (k *LoopKeys) Key(keyID string) *LoopKey { return k.keys[keyID] }

// Check returns the check of one loop entry against k; v validates records
// (nil: schemas.NewValidator(nil)). Errors name the failing rule, and the
// keyring by its ledger origin (k.Ledger). The returned check only reads
// k: it may run on several goroutines once no more Apply calls come.
func (k *LoopKeys) Check(v *schemas.Validator) func(index uint64, e []byte) (schemas.Record, error) {
	return k.CheckNaming(k.Ledger, v)
}

// CheckNaming is Check with errors naming the ledger as ledger: "signing
// key K: not in the keyring of <ledger>", "signing key K revoked by
// <ledger> entry N ..." (the audit says "the member's ledger": its
// failures already name the loop log).
func (k *LoopKeys) CheckNaming(ledger string, v *schemas.Validator) func(index uint64, e []byte) (schemas.Record, error) {
	if v == nil {
		v = schemas.NewValidator(nil)
	}
	return func(_ uint64, e []byte) (schemas.Record, error) {
		sg, err := schemas.ParseSigned(e)
		if err != nil {
			return nil, fmt.Errorf("loop log: not a signed record: %w", err)
		}
		key := k.keys[sg.KeyID]
		if key == nil {
			return nil, fmt.Errorf("signing key %s: not in the keyring of %s: %w", sg.KeyID, ledger, schemas.ErrUnknownKey)
		}
		if err := sg.Verify(key.Public); err != nil {
			return nil, fmt.Errorf("signature by key %s (%s): %w", sg.KeyID, key.Name, err)
		}
		r, err := sg.Decode()
		if err != nil {
			return nil, err
		}
		if err := LoopKind(r); err != nil {
			return nil, err
		}
		if err := v.Validate(r); err != nil {
			return nil, fmt.Errorf("invalid %s: %w", r.SchemaID(), err)
		}
		h := schemas.HeaderOf(r)
		if h.Submitter != key.USCC {
			return nil, fmt.Errorf("record names submitter %s but is signed with key %s of %s", h.Submitter, sg.KeyID, key.USCC)
		}
		if key.Revoked && !h.CreatedAt.Time.Before(key.RevCreated) {
			return nil, fmt.Errorf("signing key %s revoked by %s entry %d (created %s), not after this record's created_at %s: %w",
				sg.KeyID, ledger, key.RevIndex, key.RevCreated.UTC().Format(time.RFC3339), h.CreatedAt.Time.UTC().Format(time.RFC3339), schemas.ErrRevokedKey)
		}
		return r, nil
	}
}

// LoopKind is nil for a record a loop log may hold (a sanction notice or
// feedback), else the error naming its kind.
func LoopKind(r schemas.Record) error {
	if kind := r.Kind(); kind != "sanction_notice" && kind != "feedback" {
		return fmt.Errorf("loop log: a %s is not written to the loop log, only sanction notices and feedback", kind)
	}
	return nil
}

// LoopSchemaCheck is the check of a loop entry when its member's keyring is
// not known: a signed record that decodes, of a loop kind, schema-valid.
// Signatures and keys are not checked: say so.
func LoopSchemaCheck(v *schemas.Validator) func(index uint64, e []byte) error {
	if v == nil {
		v = schemas.NewValidator(nil)
	}
	return func(_ uint64, e []byte) error {
		sg, err := schemas.ParseSigned(e)
		if err != nil {
			return fmt.Errorf("loop log: not a signed record: %w", err)
		}
		r, err := sg.Decode()
		if err != nil {
			return err
		}
		if err := LoopKind(r); err != nil {
			return err
		}
		if err := v.Validate(r); err != nil {
			return fmt.Errorf("invalid %s: %w", r.SchemaID(), err)
		}
		return nil
	}
}
