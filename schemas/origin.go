package schemas

import (
	"fmt"
	"strings"
)

// Origin names. Every log and witness key of a member is named
//
//	creditx.<code>/<name>
//
// where <code> is the member's 6-digit division code (first digit not 0) and
// <name> is 1 to 32 bytes of a-z, 0-9 and '-': "ledger" for the member's
// ledger (the checkpoint origin line, a contract: DESIGN.md section 4),
// "access" for its personal-data access log, "loop" for its closed loop of
// sanction notices and feedback (when the member writes them apart from its
// ledger; node config sanctions.loop_log), "witness" for its witness key.
// These strings are signed into every checkpoint and cosignature, so
// changing them breaks every existing ledger.
const (
	OriginPrefix = "creditx."
	// OriginLedger, OriginAccess and OriginWitness are the <name> parts.
	OriginLedger  = "ledger"
	OriginAccess  = "access"
	OriginLoop    = "loop"
	OriginWitness = "witness"
)

// LedgerOrigin is the checkpoint origin of member code's ledger,
// "creditx.<code>/ledger".
func LedgerOrigin(code string) string { return OriginPrefix + code + "/" + OriginLedger }

// AccessOrigin is the checkpoint origin of member code's personal-data
// access log, "creditx.<code>/access".
func AccessOrigin(code string) string { return OriginPrefix + code + "/" + OriginAccess }

// LoopOrigin is the checkpoint origin of member code's loop log (sanction
// notices and their feedback), "creditx.<code>/loop".
func LoopOrigin(code string) string { return OriginPrefix + code + "/" + OriginLoop }

// WitnessOrigin is the key name of member code's witness,
// "creditx.<code>/witness".
func WitnessOrigin(code string) string { return OriginPrefix + code + "/" + OriginWitness }

// OriginError says why a string is not a creditx origin.
type OriginError struct {
	Origin string
	Reason string
}

func (e *OriginError) Error() string {
	return fmt.Sprintf("origin %q: %s (want creditx.<6-digit division code>/<name>, e.g. creditx.330000/ledger)", e.Origin, e.Reason)
}

// ParseOrigin splits "creditx.<code>/<name>" into code and name. It checks
// the form only (see the constants above), not that the code is a known
// division: a wrong origin returns an [*OriginError] saying which part is
// wrong.
func ParseOrigin(origin string) (code, name string, err error) {
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", &OriginError{Origin: origin, Reason: fmt.Sprintf(format, args...)}
	}
	rest, ok := strings.CutPrefix(origin, OriginPrefix)
	if !ok {
		return bad("does not start with %q", OriginPrefix)
	}
	code, name, ok = strings.Cut(rest, "/")
	if !ok {
		return bad("no '/' after the code")
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return bad("code %q is not 6 digits", code)
	}
	if code[0] == '0' {
		return bad("code %q starts with 0", code)
	}
	if name == "" || len(name) > 32 {
		return bad("name is %d bytes, want 1 to 32", len(name))
	}
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return bad("name %q has a byte other than a-z, 0-9 and '-'", name)
	}
	return code, name, nil
}

// ParseLedgerOrigin returns the member code of a ledger origin
// "creditx.<code>/ledger", or an [*OriginError].
func ParseLedgerOrigin(origin string) (string, error) {
	code, name, err := ParseOrigin(origin)
	if err != nil {
		return "", err
	}
	if name != OriginLedger {
		return "", &OriginError{Origin: origin, Reason: fmt.Sprintf("names a %q, not a ledger", name)}
	}
	return code, nil
}
