package schemas

import "fmt"

// Membership governed on the ledger (issue 16). A change of membership is
// proposed by one member's credit office (manifest_propose, on its own
// ledger) and approved by others (manifest_approve, each on its own ledger)
// naming the proposal's result by hash. A proposal is bound to the manifest
// it changes (base), so proposals form a hash chain from the genesis
// manifest and no cross-ledger order is needed to decide which manifest a
// change applies to. exchange.Reconstruct applies the rule (more than half of
// the members effective under the base manifest, the proposer included);
// this file only checks the records' form.
//
// Wire form, inside a governance/v1 record (canonical JSON, see Encode):
//
//	{"action":"manifest_propose","manifest_propose":{
//	   "base":"<64 hex: exchange.ManifestHash of the manifest in force>",
//	   "change":{"op":"join","code":"330100","name":"杭州市","endpoint":"https://...",
//	             "log_vkey":"...","witness_vkey":"...","ca":"-----BEGIN CERTIFICATE-----...",
//	             "anchors":[{"name":"...","uscc":"...","public_key":"<std base64>"}]},
//	   "sha256":"<64 hex: exchange.ManifestHash of the manifest that results>"}}
//	{"action":"manifest_approve","manifest_approve":{"sha256":"<64 hex>"}}
//
// Exactly one of change (a delta) and manifest (a whole new manifest, YAML)
// is present. Versioning rule: new ops may be added to oneof; a change of an
// existing op's meaning needs a new action.

// Membership change operations (MembershipChange.Op).
const (
	ChangeJoin       = "join"        // a new member: every field but op and code required
	ChangeLeave      = "leave"       // the member's status becomes removed: only code
	ChangeEndpoint   = "endpoint"    // the member moves: endpoint
	ChangeRotateCA   = "rotate_ca"   // a new region CA: ca
	ChangeRotateKeys = "rotate_keys" // new ledger/witness/anchor keys: at least one of log_vkey, witness_vkey, anchors
)

// ManifestPropose proposes the manifest that results from applying Change
// to, or replacing with Manifest, the manifest whose hash is Base.
type ManifestPropose struct {
	Base     string            `json:"base,omitempty" validate:"required,sha256hex"`
	Change   *MembershipChange `json:"change,omitempty"`
	Manifest string            `json:"manifest,omitempty" validate:"omitempty,max=1048576"`
	SHA256   string            `json:"sha256,omitempty" validate:"required,sha256hex"`
}

// ManifestApprove approves the proposal whose resulting manifest has hash SHA256.
type ManifestApprove struct {
	SHA256 string `json:"sha256,omitempty" validate:"required,sha256hex"`
}

// MembershipChange is a delta to a manifest (exchange.ApplyChange applies it).
type MembershipChange struct {
	Op          string         `json:"op,omitempty" validate:"required,oneof=join leave endpoint rotate_ca rotate_keys"`
	Code        string         `json:"code,omitempty" validate:"required,division"`
	Name        string         `json:"name,omitempty" validate:"omitempty,max=200"`
	Endpoint    string         `json:"endpoint,omitempty" validate:"omitempty,url,startswith=https://"`
	LogVKey     string         `json:"log_vkey,omitempty" validate:"omitempty,vkey"`
	WitnessVKey string         `json:"witness_vkey,omitempty" validate:"omitempty,witness_vkey"`
	CA          string         `json:"ca,omitempty" validate:"omitempty,max=16384"`
	Anchors     []ChangeAnchor `json:"anchors,omitempty" validate:"omitempty,max=16,dive"`
}

// ChangeAnchor is a credit-office admin key named in a change.
type ChangeAnchor struct {
	Name      string `json:"name,omitempty" validate:"required,max=200"`
	USCC      string `json:"uscc,omitempty" validate:"required,uscc"`
	PublicKey string `json:"public_key,omitempty" validate:"required,ed25519pub"`
}

// manifestPropose checks which change fields an op requires and excludes.
func (c *checker) manifestPropose(p *ManifestPropose) {
	const at = "manifest_propose."
	if (p.Change == nil) == (p.Manifest == "") {
		c.add(at+"change", "required_without", "give exactly one of change (a delta) and manifest (a whole manifest)")
	}
	if p.Base != "" && p.Base == p.SHA256 {
		c.add(at+"sha256", "ne", "the proposed manifest is the base manifest: nothing changes")
	}
	ch := p.Change
	if ch == nil {
		return
	}
	fields := []struct {
		name    string
		present bool
	}{
		{"name", ch.Name != ""}, {"endpoint", ch.Endpoint != ""}, {"log_vkey", ch.LogVKey != ""},
		{"witness_vkey", ch.WitnessVKey != ""}, {"ca", ch.CA != ""}, {"anchors", len(ch.Anchors) > 0},
	}
	allowed := map[string][]string{
		ChangeJoin:       {"name", "endpoint", "log_vkey", "witness_vkey", "ca", "anchors"},
		ChangeLeave:      {},
		ChangeEndpoint:   {"endpoint"},
		ChangeRotateCA:   {"ca"},
		ChangeRotateKeys: {"log_vkey", "witness_vkey", "anchors"},
	}
	want, ok := allowed[ch.Op]
	if !ok {
		return // the oneof rule reports it
	}
	n := 0
	for _, f := range fields {
		in := false
		for _, w := range want {
			in = in || w == f.name
		}
		switch {
		case f.present && !in:
			c.add(at+"change."+f.name, "excluded_unless", fmt.Sprintf("must be absent when op is %s", ch.Op))
		case !f.present && in && ch.Op != ChangeRotateKeys:
			c.add(at+"change."+f.name, "required_if", fmt.Sprintf("required when op is %s", ch.Op))
		case f.present:
			n++
		}
	}
	if ch.Op == ChangeRotateKeys && n == 0 {
		c.add(at+"change", "required_if", "rotate_keys needs at least one of log_vkey, witness_vkey, anchors")
	}
}
