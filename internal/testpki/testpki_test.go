package testpki

import (
	"crypto/x509"
	"net"
	"testing"
)

func TestServerCert(t *testing.T) {
	pair := ServerCert(t)
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("not for 127.0.0.1: %v", err)
	}
	if len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IP SANs %v", c.IPAddresses)
	}
}
