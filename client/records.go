package client

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/creditx/creditx/schemas"
)

// RegistrationRecord is the governance record, signed by admin, that
// registers agency's signing key with the roles and domains of its
// certificate.
func RegistrationRecord(region string, admin, agency *Credentials) ([]byte, error) {
	if agency.SignKey == nil {
		return nil, fmt.Errorf("%s has no signing key", agency.Dir)
	}
	pub := agency.SignKey.Public().(ed25519.PublicKey)
	g := &schemas.Governance{
		Header: schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Action: schemas.ActionAgencyKeyRegister,
		AgencyKeyRegister: &schemas.AgencyKeyRegister{
			Agency:    schemas.GovAgency{Name: agency.Identity.Name, USCC: agency.Identity.ID, Region: region},
			KeyID:     schemas.KeyID(pub),
			PublicKey: base64.StdEncoding.EncodeToString(pub),
			Roles:     []string{string(agency.Identity.Role)},
			Domains:   agency.Identity.Domains,
		},
	}
	return admin.Sign(g)
}
