package node

import (
	"crypto/ed25519"

	"github.com/creditx/creditx/client"
)

// The client side of the API (credentials, submission, the records an
// office signs with them) is package client. These names remain so that
// callers outside node keep building while they move to it.
type (
	// Deprecated: use client.Credentials.
	Credentials = client.Credentials
	// Deprecated: use client.SubmitError.
	SubmitError = client.SubmitError
	// Deprecated: use client.AgencyInfo.
	AgencyInfo = client.AgencyInfo
)

// Deprecated: use client.LoadCredentials.
func LoadCredentials(dir string) (*client.Credentials, error) { return client.LoadCredentials(dir) }

// Deprecated: use client.ReadSignKey.
func ReadSignKey(path string) (ed25519.PrivateKey, error) { return client.ReadSignKey(path) }

// Deprecated: use client.WriteSignKey.
func WriteSignKey(path string, k ed25519.PrivateKey) error { return client.WriteSignKey(path, k) }

// Deprecated: use client.RegistrationRecord.
func RegistrationRecord(region string, admin, agency *client.Credentials) ([]byte, error) {
	return client.RegistrationRecord(region, admin, agency)
}
