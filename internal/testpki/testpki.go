// Package testpki gives tests a TLS server certificate from a new
// creditx CA (package pki), for servers whose clients do not check it
// (tests of timeouts, long-polls and dead peers over HTTP/2 and HTTP/3).
// Tests of identity and trust build their CAs with pki itself.
package testpki

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/creditx/creditx/pki"
)

// ServerCert is a replica certificate for 127.0.0.1, valid for an hour,
// from a new CA of region 330000; t fails if either cannot be made.
func ServerCert(t testing.TB) tls.Certificate {
	t.Helper()
	ca, err := pki.NewCA("330000", "Test credit office", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "zj-1", Name: "replica zj-1"}
	pair, err := ca.IssueTLS(id, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}
