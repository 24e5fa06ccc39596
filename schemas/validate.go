package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/go-playground/validator/v10"
	"golang.org/x/mod/sumdb/note"
)

// Options configure a Validator. The zero value (or nil) means: the built-in
// USCC allow-list, DefaultDomains, and every schema in KnownSchemas.
type Options struct {
	// USCCAllow lists codes accepted despite failing their check
	// characters. nil means DefaultUSCCAllowList(); an empty non-nil map
	// allows nothing.
	USCCAllow USCCAllowList
	// Domains is the registry of listing domains. nil means DefaultDomains().
	Domains []string
	// AcceptedSchemas limits the schema ids accepted. nil means KnownSchemas().
	AcceptedSchemas []string
}

// DefaultDomains returns a fresh copy of the default domain registry: the
// four key domains of the Delta plus tax and work safety.
func DefaultDomains() []string {
	return []string{"environment", "tourism", "food_drug", "product_quality", "tax", "work_safety"}
}

var subjectTypes = []string{SubjectEnterprise, SubjectNaturalPerson, SubjectSocialOrg,
	SubjectPublicInstitution, SubjectGovernmentBody, SubjectIndividualBusiness}

// FieldError is one reason a record is invalid. Field is the JSON path
// ("subject.uscc", "legal_basis[0].law"); Rule names the rule broken
// ("required", "uscc", "oneof", "order", ...); Message says what to fix.
type FieldError struct {
	Field   string
	Rule    string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationErrors is every FieldError found in one record, in field order.
type ValidationErrors []FieldError

func (ve ValidationErrors) Error() string {
	msgs := make([]string, len(ve))
	for i, e := range ve {
		msgs[i] = e.Error()
	}
	return "invalid record: " + strings.Join(msgs, "; ")
}

// Validator checks records against their schema and cross-field rules. It
// is safe for concurrent use; build one with NewValidator and reuse it.
type Validator struct {
	v        *validator.Validate            // immutable after NewValidator
	allow    USCCAllowList                  // private copy
	domains  []string                       // private copy
	accepted []string                       // private copy
	msgs     map[string]func(string) string // custom tag -> message; read-only
	vetFns   []func(string) string          // msgs[vetCustomTags[i]] (vetplan.go); read-only
}

// NewValidator builds a Validator for opts (nil means defaults). The options
// are copied; later changes to opts do not affect the Validator.
func NewValidator(opts *Options) *Validator {
	if opts == nil {
		opts = &Options{}
	}
	val := &Validator{
		allow:    DefaultUSCCAllowList(),
		domains:  DefaultDomains(),
		accepted: KnownSchemas(),
	}
	if opts.USCCAllow != nil {
		val.allow = make(USCCAllowList, len(opts.USCCAllow))
		for k, why := range opts.USCCAllow {
			val.allow[k] = why
		}
	}
	if opts.Domains != nil {
		val.domains = slices.Clone(opts.Domains)
	}
	if opts.AcceptedSchemas != nil {
		val.accepted = slices.Clone(opts.AcceptedSchemas)
	}
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	val.msgs = val.checks()
	for _, tag := range vetCustomTags {
		val.vetFns = append(val.vetFns, val.msgs[tag])
	}
	for tag, ok := range val.msgs {
		fn := ok
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool {
			return fn(fl.Field().String()) == ""
		}); err != nil {
			panic(fmt.Sprintf("schemas: register %s: %v", tag, err)) // invariant: tags are valid
		}
	}
	val.v = v
	return val
}

// checks maps each custom tag to a function returning "" for a valid value
// or a message for a clerk.
func (val *Validator) checks() map[string]func(string) string {
	idReason := func(err error) string {
		if err == nil {
			return "" // before errors.As, whose target would escape on every call
		}
		var ie *IDError
		if errors.As(err, &ie) {
			return ie.Reason
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	return map[string]func(string) string{
		"uscc":       func(s string) string { return idReason(CheckUSCCAllowing(s, val.allow)) },
		"citizen_id": func(s string) string { return idReason(CheckCitizenID(s)) },
		"division":   func(s string) string { return idReason(CheckDivision(s)) },
		"domain": func(s string) string {
			if slices.Contains(val.domains, s) {
				return ""
			}
			return fmt.Sprintf("unknown domain %q; known domains: %s", s, strings.Join(val.domains, ", "))
		},
		"subject_type": func(s string) string {
			if slices.Contains(subjectTypes, s) {
				return ""
			}
			return fmt.Sprintf("unknown subject type %q; must be one of %s", s, strings.Join(subjectTypes, ", "))
		},
		"idhash": func(s string) string {
			if IsIDHash(s) {
				return ""
			}
			return "must be a person hash: h1: followed by 64 lower-case hex characters"
		},
		"subject_key": func(s string) string {
			if IsIDHash(s) || CheckUSCCAllowing(s, val.allow) == nil {
				return ""
			}
			return "must be the subject's USCC or person hash (h1:...)"
		},
		"masked_id": func(s string) string {
			if isMaskedIDv2(s) || len(s) == 18 && allDigits(s[:6]) && s[6:14] == "********" && allDigits(s[14:17]) &&
				(s[17] == 'X' || s[17] >= '0' && s[17] <= '9') { // the earlier form, in records already in ledgers
				return ""
			}
			return "must be a masked citizen ID like 11***************X"
		},
		"origin": func(s string) string {
			if code, err := ParseLedgerOrigin(s); err == nil && CheckDivision(code) == nil {
				return ""
			}
			return "must be a ledger origin like creditx.330000/ledger"
		},
		"sha256hex": func(s string) string {
			if len(s) == 64 && isLowerHex(s) {
				return ""
			}
			return "must be a SHA-256 digest: 64 lower-case hex characters"
		},
		"keyid": func(s string) string {
			if len(s) == 16 && isLowerHex(s) {
				return ""
			}
			return "must be a key id: 16 lower-case hex characters"
		},
		"ed25519pub": func(s string) string {
			b, err := base64.StdEncoding.Strict().DecodeString(s)
			if err == nil && len(b) == ed25519.PublicKeySize {
				return ""
			}
			return "must be std base64 of a 32-byte Ed25519 public key"
		},
		"witness_vkey": func(s string) string {
			if _, err := cosig.Parse(s); err != nil {
				return "must be a tlog-cosignature verifier key (name+key id+base64, type 0x04 or 0x06): " + err.Error()
			}
			return ""
		},
		"vkey": func(s string) string {
			if _, err := note.NewVerifier(s); err != nil {
				return "must be a signed-note verifier key (name+hash+base64): " + err.Error()
			}
			return ""
		},
		"schema_id": func(s string) string {
			kind, ver, ok := strings.Cut(s, "/")
			if ok && kind != "" && strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz_") == "" &&
				len(ver) > 1 && ver[0] == 'v' && ver[1] != '0' && allDigits(ver[1:]) {
				return ""
			}
			return "must be a schema id like listing/v2"
		},
	}
}

// defaultValidator is built on first use and never changed afterwards.
var defaultValidator = sync.OnceValue(func() *Validator { return NewValidator(nil) })

// Validate checks r with a Validator for opts. With opts == nil it reuses a
// shared default Validator; otherwise it builds one per call, so callers
// validating many records should keep a Validator from NewValidator.
// It returns nil or ValidationErrors.
func Validate(r Record, opts *Options) error {
	if opts == nil {
		return defaultValidator().Validate(r)
	}
	return NewValidator(opts).Validate(r)
}

// Validate checks r: the schema id is accepted, every field has a valid
// value, and the cross-field rules of its kind hold. It returns nil or
// ValidationErrors listing every problem found.
func (val *Validator) Validate(r Record) error {
	if r == nil || reflect.ValueOf(r).IsNil() {
		return ValidationErrors{{Field: "", Rule: "required", Message: "no record"}}
	}
	errs := val.validate(r)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (val *Validator) validate(r Record) ValidationErrors {
	var errs ValidationErrors
	if !slices.Contains(val.accepted, r.SchemaID()) {
		errs = append(errs, FieldError{"schema", "schema", fmt.Sprintf("schema %s is not accepted here", r.SchemaID())})
	}
	// The field rules: vetClean (vetplan.go) answers for a clean record
	// without validator/v10's allocations; validator/v10 names the problems.
	if !val.vetClean(r) {
		var stop bool
		if errs, stop = val.structErrors(r, errs); stop {
			return errs
		}
	}
	errs = append(errs, textErrors(r)...) // text.go: control characters
	return append(errs, val.crossField(r)...)
}

// structErrors appends validator/v10's problems with r's fields to errs;
// stop is true when validator/v10 failed without naming fields.
func (val *Validator) structErrors(r Record, errs ValidationErrors) (_ ValidationErrors, stop bool) {
	err := val.v.Struct(r)
	if err == nil {
		return errs, false
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return append(errs, FieldError{"", "internal", err.Error()}), true
	}
	for _, fe := range verrs {
		if feedbackOnLoop(r, fe) {
			continue
		}
		errs = append(errs, val.fieldError(fe))
	}
	return errs, false
}

// feedbackOnLoop says whether fe is the "origin" rule failing on a
// feedback's notice.origin that names a loop log, creditx.<code>/loop: the
// one reference that may point outside a ledger, since a member with a loop
// log writes its notices there (LoopOrigin; internal/notices/loop.go).
func feedbackOnLoop(r Record, fe validator.FieldError) bool {
	f, ok := r.(*Feedback)
	if !ok || fe.Tag() != "origin" || !strings.HasSuffix(fe.Namespace(), ".notice.origin") {
		return false
	}
	code, name, err := ParseOrigin(f.Notice.Origin)
	return err == nil && name == OriginLoop && CheckDivision(code) == nil
}

func (val *Validator) fieldError(fe validator.FieldError) FieldError {
	path := fe.Namespace()
	if _, rest, ok := strings.Cut(path, "."); ok {
		path = rest
	}
	path = strings.TrimPrefix(path, "Header.")
	tag := fe.Tag()
	s, _ := fe.Value().(string)
	var msg string
	if fn, ok := val.msgs[tag]; ok {
		msg = fn(s)
	} else {
		msg = builtinMessage(fe)
	}
	return FieldError{Field: path, Rule: tag, Message: msg}
}

func builtinMessage(fe validator.FieldError) string {
	isList := fe.Kind() == reflect.Slice
	switch fe.Tag() {
	case "required":
		return "required"
	case "oneof":
		return fmt.Sprintf("%q is not allowed; must be one of %s", fmt.Sprint(fe.Value()), strings.ReplaceAll(fe.Param(), " ", ", "))
	case "min":
		if isList {
			return fmt.Sprintf("needs at least %s entries", fe.Param())
		}
		return fmt.Sprintf("must have at least %s characters", fe.Param())
	case "max":
		if isList {
			return fmt.Sprintf("has more than %s entries", fe.Param())
		}
		return fmt.Sprintf("must have at most %s characters", fe.Param())
	case "unique":
		return "contains duplicate entries"
	case "url":
		return "must be a URL"
	case "startswith":
		return fmt.Sprintf("must start with %s", fe.Param())
	case "base64":
		return "must be std base64"
	}
	return fmt.Sprintf("fails rule %s", fe.Tag())
}
