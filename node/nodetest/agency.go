package nodetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/pki"
)

// Agency issues a new agency id of the node at url whose data directory is
// dataDir: a certificate from the region CA (dataDir/ca) and a fresh signing
// key, written under dataDir/agencies/dir, the key registered by admin
// (client.RegistrationRecord, with the certificate's role and domains). It
// returns the agency's credentials; any failure fails the test.
func Agency(t testing.TB, dataDir, url string, admin *client.Credentials, dir string, id pki.Identity) *client.Credentials {
	t.Helper()
	ca, err := pki.LoadCA(filepath.Join(dataDir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	adir := filepath.Join(dataDir, "agencies", dir)
	certPEM, keyPEM, err := ca.Issue(id, nil, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCredentials(adir, certPEM, keyPEM, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WriteSignKey(filepath.Join(adir, "sign.key"), priv); err != nil {
		t.Fatal(err)
	}
	c, err := client.LoadCredentials(adir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := client.RegistrationRecord(id.Region, admin, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Submit(context.Background(), url, reg); err != nil {
		t.Fatalf("registering %s: %v", id.Name, err)
	}
	return c
}
