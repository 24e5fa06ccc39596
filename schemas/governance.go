package schemas

// Governance actions.
const (
	ActionAgencyKeyRegister = "agency_key_register"
	ActionAgencyKeyRevoke   = "agency_key_revoke"
	ActionMemberApprove     = "member_approve"
	ActionMemberRemove      = "member_remove"
	ActionSchemaAdopt       = "schema_adopt"
	ActionCatalogueAdopt    = "catalogue_adopt"
	ActionCalendarAdopt     = "calendar_adopt"   // calendar.go
	ActionManifestPropose   = "manifest_propose" // membership.go
	ActionManifestApprove   = "manifest_approve" // membership.go
)

// Governance changes the consortium's state: agency keys, members, schema
// and catalogue versions, working-day calendar years. Exactly one parameter object is present: the one
// named by Action ({"action":"member_remove","member_remove":{"code":...}});
// the others must be absent.
type Governance struct {
	Header
	Action            string             `json:"action,omitempty" validate:"required,oneof=agency_key_register agency_key_revoke member_approve member_remove schema_adopt catalogue_adopt calendar_adopt manifest_propose manifest_approve"`
	AgencyKeyRegister *AgencyKeyRegister `json:"agency_key_register,omitempty"`
	AgencyKeyRevoke   *AgencyKeyRevoke   `json:"agency_key_revoke,omitempty"`
	MemberApprove     *MemberApprove     `json:"member_approve,omitempty"`
	MemberRemove      *MemberRemove      `json:"member_remove,omitempty"`
	SchemaAdopt       *SchemaAdopt       `json:"schema_adopt,omitempty"`
	CatalogueAdopt    *CatalogueAdopt    `json:"catalogue_adopt,omitempty"`
	CalendarAdopt     *CalendarAdopt     `json:"calendar_adopt,omitempty"`
	ManifestPropose   *ManifestPropose   `json:"manifest_propose,omitempty"`
	ManifestApprove   *ManifestApprove   `json:"manifest_approve,omitempty"`
}

func (*Governance) SchemaID() string { return SchemaGovernance }
func (*Governance) Kind() string     { return "governance" }

// GovAgency is an agency with the region it belongs to.
type GovAgency struct {
	Name   string `json:"name,omitempty" validate:"required,max=200"`
	USCC   string `json:"uscc,omitempty" validate:"required,uscc"`
	Region string `json:"region,omitempty" validate:"required,division"`
}

// AgencyKeyRegister registers an agency's Ed25519 key. KeyID must equal
// KeyID(public key); PublicKey is std base64 of the 32-byte key.
type AgencyKeyRegister struct {
	Agency    GovAgency `json:"agency,omitzero" validate:"required"`
	KeyID     string    `json:"key_id,omitempty" validate:"required,keyid"`
	PublicKey string    `json:"public_key,omitempty" validate:"required,ed25519pub"`
	Roles     []string  `json:"roles,omitempty" validate:"required,min=1,max=2,unique,dive,oneof=publish execute"`
	Domains   []string  `json:"domains,omitempty" validate:"omitempty,max=32,unique,dive,domain"`
}

// AgencyKeyRevoke revokes an agency key from the entry's index on.
type AgencyKeyRevoke struct {
	KeyID  string `json:"key_id,omitempty" validate:"required,keyid"`
	Reason string `json:"reason,omitempty" validate:"required,max=2000"`
}

// MemberApprove admits a member. LogVKey is a signed-note verifier key
// ("name+hash+base64"); WitnessVKey a tlog-cosignature vkey (type 0x04 or
// 0x06 with the key ID of the cosignature lines; a type 0x01 Ed25519 vkey of
// an older approval is still read, see internal/cosig).
type MemberApprove struct {
	Code        string `json:"code,omitempty" validate:"required,division"`
	Name        string `json:"name,omitempty" validate:"required,max=200"`
	Endpoint    string `json:"endpoint,omitempty" validate:"required,url,startswith=https://"`
	LogVKey     string `json:"log_vkey,omitempty" validate:"required,vkey"`
	WitnessVKey string `json:"witness_vkey,omitempty" validate:"required,witness_vkey"`
}

// MemberRemove removes a member.
type MemberRemove struct {
	Code string `json:"code,omitempty" validate:"required,division"`
}

// SchemaAdopt adopts a record schema version, e.g. "listing/v2".
type SchemaAdopt struct {
	Schema string `json:"schema,omitempty" validate:"required,schema_id"`
}

// CatalogueAdopt adopts a measures catalogue version by digest.
type CatalogueAdopt struct {
	Version string `json:"version,omitempty" validate:"required,max=32"`
	SHA256  string `json:"sha256,omitempty" validate:"required,sha256hex"`
}
