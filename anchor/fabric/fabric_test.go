package fabric_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/anchor/anchortest"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/anchor/fabric"
	"golang.org/x/mod/sumdb/tlog"
)

func TestConfig(t *testing.T) {
	for _, e := range []string{"FABRIC_PEER_ENDPOINT", "FABRIC_SERVER_NAME", "FABRIC_TLS_CA", "FABRIC_MSP_ID", "FABRIC_CERT", "FABRIC_KEY", "FABRIC_CHANNEL", "FABRIC_CHAINCODE"} {
		t.Setenv(e, "")
	}
	if c := fabric.ConfigFromEnv(fabric.Config{}); c.Set() {
		t.Fatalf("empty env gives a set config: %+v", c)
	}
	t.Setenv("FABRIC_PEER_ENDPOINT", "localhost:7051")
	t.Setenv("FABRIC_CHANNEL", "from-env")
	c := fabric.ConfigFromEnv(fabric.Config{Channel: "from-flag"})
	if !c.Set() || c.PeerEndpoint != "localhost:7051" || c.Channel != "from-flag" {
		t.Fatalf("ConfigFromEnv: %+v (flags must win over the environment)", c)
	}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "FABRIC_TLS_CA is required") || !strings.Contains(err.Error(), "--fabric-tls-ca") {
		t.Fatalf("Validate: %v, want it to name FABRIC_TLS_CA and its flag", err)
	}
	if got := strings.Join(fabric.FlagNames(), ","); !strings.HasPrefix(got, "fabric-peer-endpoint,fabric-server-name,fabric-tls-ca") {
		t.Fatalf("FlagNames = %s", got)
	}
}

func TestDialRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	twoFiles := filepath.Join(dir, "keystore")
	os.Mkdir(twoFiles, 0o700)
	os.WriteFile(filepath.Join(twoFiles, "a_sk"), nil, 0o600)
	os.WriteFile(filepath.Join(twoFiles, "b_sk"), nil, 0o600)
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	base := fabric.Config{PeerEndpoint: "localhost:7051", TLSCACert: certFile, MSPID: "Org1MSP", Cert: certFile, Key: keyFile, Channel: "c", Chaincode: "cc"}
	for _, tc := range []struct {
		name string
		edit func(*fabric.Config)
		want string
	}{
		{"missing ca file", func(c *fabric.Config) { c.TLSCACert = filepath.Join(dir, "none") }, "FABRIC_TLS_CA"},
		{"ca not PEM", func(c *fabric.Config) { c.TLSCACert = notPEM }, "FABRIC_TLS_CA: " + notPEM + " holds no PEM certificate"},
		{"cert not PEM", func(c *fabric.Config) { c.Cert = notPEM }, "FABRIC_CERT: " + notPEM},
		{"key not PEM", func(c *fabric.Config) { c.Key = notPEM }, "FABRIC_KEY: " + notPEM},
		{"key dir with two files", func(c *fabric.Config) { c.Key = twoFiles }, "holds 2 files"},
		{"no chaincode", func(c *fabric.Config) { c.Chaincode = "" }, "FABRIC_CHAINCODE is required"},
	} {
		c := base
		tc.edit(&c)
		if _, err := fabric.Dial(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// With good files Dial succeeds without contacting anything; the first
	// call fails against a port where no peer listens, naming the call.
	c := base
	c.PeerEndpoint = "127.0.0.1:1"
	cl, err := fabric.Dial(c)
	if err != nil {
		t.Fatalf("Dial with good files: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.Latest(ctx, "330000"); err == nil || !strings.Contains(err.Error(), "LatestAnchor 330000") {
		t.Fatalf("Latest without a peer: %v", err)
	}
}

// selfSigned returns a self-signed ECDSA P-256 certificate and its PKCS#8
// key, as Fabric's cryptogen writes them.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "User1@org1.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// TestFabricIntegration anchors into a running Fabric network with the
// chaincode deployed (anchor/README.md). It runs only when
// FABRIC_PEER_ENDPOINT is set; the other FABRIC_* variables complete the
// config.
func TestFabricIntegration(t *testing.T) {
	cfg := fabric.ConfigFromEnv(fabric.Config{})
	if cfg.PeerEndpoint == "" {
		t.Skip("FABRIC_PEER_ENDPOINT not set: no Fabric network to anchor to (anchor/README.md)")
	}
	c, err := fabric.Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A fresh member code per run keeps runs independent on a long-lived
	// channel: 9xxxxx is no real division code.
	member := fmt.Sprintf("9%05d", time.Now().UnixNano()/1e6%100000)
	tr := anchortest.NewTree(32, member)
	a1, a2 := tr.Anchor(member, 16), tr.Anchor(member, 32)
	if _, err := c.Latest(ctx, member); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("Latest of a new member: %v, want ErrNotFound", err)
	}
	if wrote, err := c.Put(ctx, a1, nil); err != nil || !wrote {
		t.Fatalf("first Put: %v, %v", wrote, err)
	}
	p, err := tlog.ProveTree(32, 16, tr)
	if err != nil {
		t.Fatal(err)
	}
	if wrote, err := c.Put(ctx, a2, p); err != nil || !wrote {
		t.Fatalf("extending Put: %v, %v", wrote, err)
	}
	if wrote, err := c.Put(ctx, a2, nil); err != nil || wrote {
		t.Fatalf("repeated Put: %v, %v; want unchanged", wrote, err)
	}
	if l, err := c.Latest(ctx, member); err != nil || l != a2 {
		t.Fatalf("Latest = %+v, %v", l, err)
	}
	if g, err := c.Get(ctx, member, 16); err != nil || g != a1 {
		t.Fatalf("Get(16) = %+v, %v", g, err)
	}
	fork := anchortest.NewTree(32, "fork").Anchor(member, 32)
	if _, err := c.Put(ctx, fork, nil); err == nil || !strings.Contains(err.Error(), "different root") {
		t.Fatalf("a conflicting anchor: %v, want the chaincode's refusal", err)
	}
	if _, err := c.Put(ctx, a1, nil); err != nil {
		t.Fatalf("re-putting an older anchored size: %v", err)
	}
	if _, err := c.Put(ctx, tr.Anchor(member, 20), nil); err == nil || !strings.Contains(err.Error(), "rollback refused") {
		t.Fatalf("a rollback: %v, want the chaincode's refusal", err)
	}
	if l, err := c.Latest(ctx, member); err != nil || l != a2 {
		t.Fatalf("after the refused puts, Latest = %+v, %v", l, err)
	}
}
