package node

import "github.com/creditx/creditx/subjecttoken"

// Subject tokens: package subjecttoken owns the format, issue, verification
// and revocation; the node checks the caller's token (subject.go).

// SubjectToken is the statement a verified subject token carries.
type SubjectToken = subjecttoken.Token

// Subject kinds, and the revocation file under a replica's data directory.
const (
	SubjectOrganisation = subjecttoken.Organisation
	SubjectPerson       = subjecttoken.Person
	SubjectRevokedFile  = subjecttoken.RevokedFile
)
