package node

import (
	"crypto/ed25519"
	"time"

	"github.com/creditx/creditx/subjecttoken"
)

// Subject tokens: package subjecttoken owns the format, issue, verification
// and revocation; the node checks the caller's token (subject.go). These
// names keep the node's handlers and pages unchanged.

// SubjectToken is the statement a verified subject token carries.
type SubjectToken = subjecttoken.Token

// Subject kinds, and the revocation file under a replica's data directory.
const (
	SubjectOrganisation = subjecttoken.Organisation
	SubjectPerson       = subjecttoken.Person
	SubjectRevokedFile  = subjecttoken.RevokedFile
)

// VerifySubjectToken is subjecttoken.Verify.
//
// Deprecated: use subjecttoken.Verify.
func VerifySubjectToken(s string, office ed25519.PublicKey, region string, now time.Time, revoked func(serial string) bool) (*SubjectToken, error) {
	return subjecttoken.Verify(s, office, region, now, revoked)
}

// ReadRevokedSerials is subjecttoken.ReadRevoked.
//
// Deprecated: use subjecttoken.ReadRevoked.
func ReadRevokedSerials(path string) (map[string]bool, error) { return subjecttoken.ReadRevoked(path) }
