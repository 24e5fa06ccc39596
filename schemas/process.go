package schemas

import "encoding/json"

// Objection (异议) disputes an earlier entry.
type Objection struct {
	Header
	Target Ref `json:"target,omitzero" validate:"required"`
	// SubjectKey identifies the objecting subject: a USCC or a person id_hash.
	SubjectKey    string   `json:"subject_key,omitempty" validate:"required,subject_key"`
	Grounds       []string `json:"grounds,omitempty" validate:"required,min=1,max=6,unique,dive,oneof=fact_error omission over_period wrong_listing not_removed privacy"`
	Statement     string   `json:"statement,omitempty" validate:"required,max=4000"`
	FiledAt       Time     `json:"filed_at,omitzero" validate:"required"`
	ProvidingUnit Agency   `json:"providing_unit,omitzero" validate:"required"`
}

func (*Objection) SchemaID() string { return SchemaObjection }
func (*Objection) Kind() string     { return "objection" }

// ObjectionDecision decides an objection. Actions are required unless the
// decision is rejected, and forbidden when it is.
type ObjectionDecision struct {
	Header
	Objection Ref      `json:"objection,omitzero" validate:"required"`
	Decision  string   `json:"decision,omitempty" validate:"required,oneof=upheld partial rejected"`
	Actions   []string `json:"actions,omitempty" validate:"omitempty,max=4,unique,dive,oneof=correct supplement stop_disclosure remove"`
	DecidedAt Time     `json:"decided_at,omitzero" validate:"required"`
	Authority Agency   `json:"authority,omitzero" validate:"required"`
}

func (*ObjectionDecision) SchemaID() string { return SchemaObjectionDecision }
func (*ObjectionDecision) Kind() string     { return "objection_decision" }

// RepairApplication is the subject's application for repair.
type RepairApplication struct {
	Date     Date       `json:"date,omitzero" validate:"required"`
	Evidence []Evidence `json:"evidence,omitempty" validate:"omitempty,max=100,dive"`
}

// RepairDecision is the authority's decision on a repair.
type RepairDecision struct {
	Authority Agency `json:"authority,omitzero" validate:"required"`
	DocNo     string `json:"doc_no,omitempty" validate:"required,max=128"`
	Date      Date   `json:"date,omitzero" validate:"required"`
}

// Repair (信用修复 / 移出) ends or softens a listing. History stays: the
// listing remains in the ledger; Repair records how and why it ended.
// An application is required for early_repair.
type Repair struct {
	Header
	Listing      Ref                `json:"listing,omitzero" validate:"required"`
	Type         string             `json:"type,omitempty" validate:"required,oneof=expiry early_repair decision_revoked objection_upheld error_correction"`
	Application  *RepairApplication `json:"application,omitempty"`
	Decision     RepairDecision     `json:"decision,omitzero" validate:"required"`
	Effects      []string           `json:"effects,omitempty" validate:"required,min=1,max=5,unique,dive,oneof=remove stop_publicity annotate shield erase_payload"`
	MinPeriodMet bool               `json:"min_period_met,omitempty"`
}

func (*Repair) SchemaID() string { return SchemaRepair }
func (*Repair) Kind() string     { return "repair" }

// Correction amends or withdraws an earlier entry by reference; the earlier
// entry is never edited. Replacement is required iff Action is amend: the
// full amended record in canonical JSON, of the same kind as the target
// (Validate checks it is a valid record other than a correction; admission
// checks its kind against the target entry).
type Correction struct {
	Header
	Target      Ref             `json:"target,omitzero" validate:"required"`
	Action      string          `json:"action,omitempty" validate:"required,oneof=amend withdraw"`
	Reason      string          `json:"reason,omitempty" validate:"required,max=4000"`
	Replacement json.RawMessage `json:"replacement,omitempty"`
}

func (*Correction) SchemaID() string { return SchemaCorrection }
func (*Correction) Kind() string     { return "correction" }
