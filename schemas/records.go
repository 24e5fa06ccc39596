package schemas

// Record is implemented by every record type. SchemaID is the value of the
// record's "schema" member ("listing/v1"); Kind is the part before the slash.
type Record interface {
	SchemaID() string
	Kind() string
}

// Schema ids of version 1 of every record kind.
const (
	SchemaListing           = "listing/v1"
	SchemaSanctionNotice    = "sanction_notice/v1"
	SchemaFeedback          = "feedback/v1"
	SchemaObjection         = "objection/v1"
	SchemaObjectionDecision = "objection_decision/v1"
	SchemaRepair            = "repair/v1"
	SchemaCorrection        = "correction/v1"
	SchemaGovernance        = "governance/v1"
)

// Header is carried by every record. Region is the division code of the
// member in whose ledger the record is published; Submitter is the USCC of
// the submitting agency.
type Header struct {
	Region    string `json:"region,omitempty" validate:"required,division"`
	Submitter string `json:"submitter,omitempty" validate:"required,uscc"`
	CreatedAt Time   `json:"created_at,omitzero" validate:"required"`
}

// Ref points at an earlier ledger entry: the ledger's checkpoint origin
// ("creditx.330000/ledger"), the entry index, and the hex SHA-256 RFC 6962
// leaf hash of the entry. Index is always encoded, even when 0.
type Ref struct {
	Origin string `json:"origin,omitempty" validate:"required,origin"`
	Index  uint64 `json:"index"`
	Hash   string `json:"hash,omitempty" validate:"required,sha256hex"`
}

// Agency names an organisation by name and USCC.
type Agency struct {
	Name string `json:"name,omitempty" validate:"required,max=200"`
	USCC string `json:"uscc,omitempty" validate:"required,uscc"`
}

// Evidence is the digest of an evidence file; the file itself never enters
// the ledger.
type Evidence struct {
	Name   string `json:"name,omitempty" validate:"required,max=200"`
	SHA256 string `json:"sha256,omitempty" validate:"required,sha256hex"`
}

// Subject types.
const (
	SubjectEnterprise         = "enterprise"
	SubjectNaturalPerson      = "natural_person"
	SubjectSocialOrg          = "social_org"
	SubjectPublicInstitution  = "public_institution"
	SubjectGovernmentBody     = "government_body"
	SubjectIndividualBusiness = "individual_business"
)

// Subject is the listed party. Organisations (every type but natural_person)
// carry a USCC and no Person; a natural person carries a Person and no USCC.
type Subject struct {
	Type               string              `json:"type,omitempty" validate:"required,subject_type"`
	Name               string              `json:"name,omitempty" validate:"required,max=200"`
	USCC               string              `json:"uscc,omitempty" validate:"omitempty,uscc"`
	Person             *Person             `json:"person,omitempty"`
	ResponsiblePersons []ResponsiblePerson `json:"responsible_persons,omitempty" validate:"omitempty,max=50,dive"`
}

// ResponsiblePerson is a person answerable for an organisation's conduct.
type ResponsiblePerson struct {
	Role   string `json:"role,omitempty" validate:"required,oneof=legal_representative principal directly_responsible"`
	Person Person `json:"person,omitzero" validate:"required"`
}

// Programme names the list and the version of its listing criteria.
type Programme struct {
	Code            string `json:"code,omitempty" validate:"required,max=64"`
	CriteriaVersion string `json:"criteria_version,omitempty" validate:"required,max=32"`
}

// DocRef is a decision document: its number (文号) and date.
type DocRef struct {
	DocNo string `json:"doc_no,omitempty" validate:"required,max=128"`
	Date  Date   `json:"date,omitzero" validate:"required"`
}

// LegalBasis cites a law and article.
type LegalBasis struct {
	Law     string `json:"law,omitempty" validate:"required,max=200"`
	Article string `json:"article,omitempty" validate:"required,max=64"`
}

// UnderlyingDecision is a legally effective decision the listing rests on.
type UnderlyingDecision struct {
	Kind  string `json:"kind,omitempty" validate:"required,oneof=penalty judgment other"`
	DocNo string `json:"doc_no,omitempty" validate:"required,max=128"`
	Date  Date   `json:"date,omitzero" validate:"required"`
}

// PreNotice records the notice given to the subject before listing.
type PreNotice struct {
	Date              Date `json:"date,omitzero" validate:"required"`
	StatementDeadline Date `json:"statement_deadline,omitzero" validate:"required"`
}

// Listing is an entry on a severe-dishonesty list (严重失信主体名单).
type Listing struct {
	Header
	Subject             Subject              `json:"subject,omitzero" validate:"required"`
	Domain              string               `json:"domain,omitempty" validate:"required,domain"`
	Programme           Programme            `json:"programme,omitzero" validate:"required"`
	Authority           Agency               `json:"authority,omitzero" validate:"required"`
	Decision            DocRef               `json:"decision,omitzero" validate:"required"`
	LegalBasis          []LegalBasis         `json:"legal_basis,omitempty" validate:"required,min=1,max=20,dive"`
	UnderlyingDecisions []UnderlyingDecision `json:"underlying_decisions,omitempty" validate:"omitempty,max=50,dive"`
	Reason              string               `json:"reason,omitempty" validate:"required,max=4000"`
	PreNotice           PreNotice            `json:"pre_notice,omitzero" validate:"required"`
	ListedOn            Date                 `json:"listed_on,omitzero" validate:"required"`
	PublicityEnd        Date                 `json:"publicity_end,omitzero" validate:"required"`
	RemovalConditions   string               `json:"removal_conditions,omitempty" validate:"required,max=2000"`
	Remedies            string               `json:"remedies,omitempty" validate:"required,max=2000"`
	Disclosure          string               `json:"disclosure,omitempty" validate:"required,oneof=public restricted none"`
	SourceUnit          Agency               `json:"source_unit,omitzero" validate:"required"`
	Evidence            []Evidence           `json:"evidence,omitempty" validate:"omitempty,max=100,dive"`
}

func (*Listing) SchemaID() string { return SchemaListing }
func (*Listing) Kind() string     { return "listing" }

// Measure is one joint-punishment measure from the versioned catalogue.
type Measure struct {
	Code             string   `json:"code,omitempty" validate:"required,max=64"`
	CatalogueVersion string   `json:"catalogue_version,omitempty" validate:"required,max=32"`
	Memorandum       string   `json:"memorandum,omitempty" validate:"required,max=128"`
	Item             string   `json:"item,omitempty" validate:"required,max=32"`
	Text             string   `json:"text,omitempty" validate:"required,max=2000"`
	LegalBasis       string   `json:"legal_basis,omitempty" validate:"max=1000"`
	Mandatory        bool     `json:"mandatory,omitempty"`
	Scope            string   `json:"scope,omitempty" validate:"required,oneof=general special"`
	AppliesTo        []string `json:"applies_to,omitempty" validate:"required,min=1,max=2,unique,dive,oneof=enterprise responsible_persons"`
}

// ExecutingAgency is the agency that applies a measure.
type ExecutingAgency struct {
	Name     string `json:"name,omitempty" validate:"required,max=200"`
	USCC     string `json:"uscc,omitempty" validate:"required,uscc"`
	DeptType string `json:"dept_type,omitempty" validate:"required,max=64"`
}

// Target is whom a sanction notice applies to: the listed enterprise (by
// USCC) or a responsible person (by id_hash). A listed natural person is
// targeted as a responsible_person.
type Target struct {
	Kind   string `json:"kind,omitempty" validate:"required,oneof=enterprise responsible_person"`
	USCC   string `json:"uscc,omitempty" validate:"omitempty,uscc"`
	IDHash string `json:"id_hash,omitempty" validate:"omitempty,idhash"`
}

// SanctionNotice (联合惩戒措施通知) asks an executing agency to apply a
// measure to a listed subject.
type SanctionNotice struct {
	Header
	Listing         Ref             `json:"listing,omitzero" validate:"required"`
	Measure         Measure         `json:"measure,omitzero" validate:"required"`
	ExecutingAgency ExecutingAgency `json:"executing_agency,omitzero" validate:"required"`
	Target          Target          `json:"target,omitzero" validate:"required"`
	Start           Date            `json:"start,omitzero" validate:"required"`
	End             Date            `json:"end,omitzero" validate:"required"`
	FeedbackDue     Date            `json:"feedback_due,omitzero" validate:"required"`
	// FeedbackDueProvisional says FeedbackDue reaches past the last year
	// of the issuer's adopted holiday calendar and was counted on weekends
	// only; the issuer recomputes it once that year is adopted (issue 12).
	FeedbackDueProvisional bool `json:"feedback_due_provisional,omitempty"`
}

func (*SanctionNotice) SchemaID() string { return SchemaSanctionNotice }
func (*SanctionNotice) Kind() string     { return "sanction_notice" }

// Feedback (反馈) reports what an executing agency did with a notice.
type Feedback struct {
	Header
	Notice  Ref    `json:"notice,omitzero" validate:"required"`
	Agency  Agency `json:"agency,omitzero" validate:"required"`
	Outcome string `json:"outcome,omitempty" validate:"required,oneof=applied prioritised refused stricter key_supervision not_applicable"`
	Reason  string `json:"reason,omitempty" validate:"max=2000"`
	CaseRef string `json:"case_ref,omitempty" validate:"max=128"`
	ActedAt Time   `json:"acted_at,omitzero" validate:"required"`
}

func (*Feedback) SchemaID() string { return SchemaFeedback }
func (*Feedback) Kind() string     { return "feedback" }
