package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// handshake runs one TLS handshake over 127.0.0.1 and returns the errors
// each side saw. The server writes one byte after its handshake so that the
// client learns of a TLS 1.3 client-certificate refusal on its read.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, serverCfg)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = tc.Write([]byte("x"))
		done <- err
	}()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: clientCfg}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 1))
		c.Close()
	}
	return <-done, err
}

// caNoConstraint makes a CA for region without the URI name constraint,
// as a CA made by other software might be.
func caNoConstraint(t *testing.T, region string) *CA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other", Organization: []string{Organization(region)}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key, Region: region}
}

// crossIssue has ca sign a leaf for id even if id is of another region.
func crossIssue(t *testing.T, ca *CA, id Identity) tls.Certificate {
	return signRaw(t, ca, id.Region, id.URI().String())
}

// signRaw has ca sign a leaf with O "creditx <region>" and the given URI SAN.
func signRaw(t *testing.T, ca *CA, region, uri string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse(uri)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "x", Organization: []string{Organization(region)}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), URIs: []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func agency(region string, role Role, domains ...string) Identity {
	return Identity{Role: role, Region: region, Kind: KindAgency, ID: testUSCC, Domains: domains}
}

func replica(region, id string) Identity {
	return Identity{Role: RoleReplica, Region: region, Kind: KindReplica, ID: id}
}

func member(region string) Identity {
	return Identity{Role: RoleMember, Region: region, Kind: KindMember, ID: region}
}

func serial(c tls.Certificate) string {
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return leaf.SerialNumber.Text(16)
}

// refusal classifies a server-side error for the tables below.
func refusal(err error) string {
	var re *RefusedError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return "refused: " + re.Reason
	case errors.As(err, &ua):
		return "unknown authority"
	case errors.As(err, &ci):
		return fmt.Sprintf("invalid %d", ci.Reason)
	}
	return "other: " + err.Error()
}

func TestServerConfig(t *testing.T) {
	zj, js, stranger := newTestCA(t, "330000"), newTestCA(t, "320000"), newTestCA(t, "330000")
	loose := caNoConstraint(t, "320000")
	pool := zj.Pool()
	pool.AddCert(js.Cert)
	pool.AddCert(loose.Cert)
	revokedAgency := issue(t, zj, agency("330000", RoleExecute))
	rl, err := NewRevocationList(serial(revokedAgency))
	if err != nil {
		t.Fatal(err)
	}
	srv := ServerConfig(issue(t, zj, replica("330000", "zj-1"), "127.0.0.1"), pool, WithRevocation(rl))
	if !reflect.DeepEqual(srv.NextProtos, []string{"h3", "h2", "http/1.1"}) || srv.MinVersion != tls.VersionTLS13 {
		t.Fatalf("NextProtos %v MinVersion %x", srv.NextProtos, srv.MinVersion)
	}
	tests := []struct {
		name   string
		cert   *tls.Certificate
		refuse string // prefix of refusal(serverErr)
	}{
		{"no cert", nil, ""},
		{"publisher", ptr(issue(t, zj, agency("330000", RolePublish, "environment"))), ""},
		{"replica", ptr(issue(t, zj, replica("330000", "zj-2"))), ""},
		{"member of other region", ptr(issue(t, js, member("320000"))), ""},
		{"publisher of other region", ptr(issue(t, js, agency("320000", RolePublish, "food"))), "refused: role publish is only accepted from region 330000"},
		{"foreign CA", ptr(issue(t, stranger, agency("330000", RoleAudit))), "unknown authority"},
		{"foreign region via name constraint", ptr(crossIssue(t, js, member("330000"))), fmt.Sprintf("invalid %d", x509.CANotAuthorizedForThisName)},
		{"foreign region", ptr(crossIssue(t, loose, member("330000"))), "refused: issued by the CA of region 320000"},
		{"revoked", &revokedAgency, "refused: certificate serial is revoked"},
		{"no valid identity", ptr(signRaw(t, zj, "330000", "creditx://330000/agency/91330100MA27XL5D3K?role=superuser")), "other: pki: identity role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c tls.Certificate
			if tt.cert != nil {
				c = *tt.cert
			}
			serverErr, clientErr := handshake(t, srv, ClientConfig(c, zj.Pool(), "127.0.0.1"))
			if got := refusal(serverErr); !strings.HasPrefix(got, tt.refuse) || (tt.refuse == "") != (got == "") {
				t.Fatalf("server: %q (%v), want %q", got, serverErr, tt.refuse)
			}
			if (clientErr == nil) != (tt.refuse == "") {
				t.Fatalf("client error %v, want failure=%v", clientErr, tt.refuse != "")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestClientConfig(t *testing.T) {
	zj := newTestCA(t, "330000")
	good := issue(t, zj, replica("330000", "zj-1"), "127.0.0.1", "node1.example")
	revoked := issue(t, zj, replica("330000", "zj-2"), "127.0.0.1")
	rl, _ := NewRevocationList(serial(revoked))
	client := issue(t, zj, agency("330000", RoleAudit))
	tests := []struct {
		name       string
		server     tls.Certificate
		serverName string
		roots      *x509.CertPool
		ok         bool
	}{
		{"ok by IP", good, "127.0.0.1", zj.Pool(), true},
		{"ok by name", good, "node1.example", zj.Pool(), true},
		{"wrong name", good, "node2.example", zj.Pool(), false},
		{"foreign roots", good, "127.0.0.1", newTestCA(t, "330000").Pool(), false},
		{"revoked server", revoked, "127.0.0.1", zj.Pool(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, clientErr := handshake(t, ServerConfig(tt.server, zj.Pool()), ClientConfig(client, tt.roots, tt.serverName, WithRevocation(rl)))
			if (clientErr == nil) != tt.ok {
				t.Fatalf("client error %v, want ok=%v", clientErr, tt.ok)
			}
		})
	}
}

func TestPeerConfig(t *testing.T) {
	zj, js, stranger := newTestCA(t, "330000"), newTestCA(t, "320000"), newTestCA(t, "330000")
	revoked := issue(t, zj, replica("330000", "zj-3"))
	rl, _ := NewRevocationList(serial(revoked))
	peer := func(c tls.Certificate, pool *x509.CertPool) *tls.Config {
		cfg, err := PeerConfig(c, pool, WithRevocation(rl))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	srv := peer(issue(t, zj, replica("330000", "zj-1")), zj.Pool())

	if _, err := PeerConfig(issue(t, zj, agency("330000", RoleAdmin)), zj.Pool()); err == nil {
		t.Fatal("PeerConfig accepted an admin certificate as its own")
	}
	// Dialers built by hand, which check nothing, so that the listener's
	// refusal is what is tested.
	raw := func(c tls.Certificate, alpn ...string) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: alpn,
			// Send c even if the listener does not name its issuer as acceptable.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }}
	}

	tests := []struct {
		name   string
		client *tls.Config
		refuse string
	}{
		{"replica", peer(issue(t, zj, replica("330000", "zj-2")), zj.Pool()), ""},
		{"no cert", &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{PeerProtocol}}, "other: tls: client didn't provide a certificate"},
		{"wrong role", raw(issue(t, zj, agency("330000", RoleAdmin)), PeerProtocol), "refused: peer traffic needs role replica of region 330000"},
		{"foreign CA", raw(issue(t, stranger, replica("330000", "zj-2")), PeerProtocol), "unknown authority"},
		{"other region", raw(issue(t, js, replica("320000", "js-1")), PeerProtocol), "unknown authority"},
		{"revoked", raw(revoked, PeerProtocol), "refused: certificate serial is revoked"},
		{"no ALPN", raw(issue(t, zj, replica("330000", "zj-2"))), "other: pki: peer did not negotiate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr, clientErr := handshake(t, srv, tt.client)
			if got := refusal(serverErr); !strings.HasPrefix(got, tt.refuse) || (tt.refuse == "") != (got == "") {
				t.Fatalf("server: %q, want %q", got, tt.refuse)
			}
			if (clientErr == nil) != (tt.refuse == "") {
				t.Fatalf("client error %v", clientErr)
			}
		})
	}

	// The dialing side refuses a listener that is not a replica of its region.
	client := peer(issue(t, zj, replica("330000", "zj-2")), zj.Pool())
	for name, srvCert := range map[string]tls.Certificate{
		"agency server":  issue(t, zj, agency("330000", RoleAdmin), "127.0.0.1"),
		"foreign server": issue(t, stranger, replica("330000", "zj-9")),
	} {
		sc := ServerConfig(srvCert, zj.Pool())
		sc.NextProtos = []string{PeerProtocol}
		sc.ClientAuth = tls.RequireAnyClientCert
		if _, clientErr := handshake(t, sc, client); clientErr == nil {
			t.Errorf("%s: dialer accepted it", name)
		}
	}
}

// End to end over HTTP/2: IdentityFromRequest sees what the handshake verified.
func TestServerConfigHTTP(t *testing.T) {
	zj := newTestCA(t, "330000")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(struct {
				ID    Identity
				Proto string
			}{IdentityFromRequest(r), r.Proto})
		}),
		TLSConfig: ServerConfig(issue(t, zj, replica("330000", "zj-1"), "127.0.0.1"), zj.Pool()),
	}
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })

	get := func(c tls.Certificate) (Identity, string) {
		tr := &http.Transport{TLSClientConfig: ClientConfig(c, zj.Pool(), "127.0.0.1"), ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ID    Identity
			Proto string
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.ID, out.Proto
	}
	if id, proto := get(tls.Certificate{}); id.Role != RolePublic || proto != "HTTP/2.0" {
		t.Fatalf("no cert: %+v over %s", id, proto)
	}
	pub := issue(t, zj, agency("330000", RolePublish, "environment"))
	id, _ := get(pub)
	want := Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "test " + testUSCC,
		Domains: []string{"environment"}, Serial: serial(pub)}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
}

func BenchmarkIdentityFromCert(b *testing.B) {
	ca := newTestCA(b, "330000")
	c := issue(b, ca, agency("330000", RolePublish, "environment", "tourism"))
	for b.Loop() {
		if _, err := IdentityFromCert(c.Leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeerHandshake measures one mutual-TLS 1.3 handshake between
// replicas (both sides' work, in memory).
func BenchmarkPeerHandshake(b *testing.B) {
	ca := newTestCA(b, "330000")
	srv, _ := PeerConfig(issue(b, ca, replica("330000", "zj-1")), ca.Pool())
	cli, _ := PeerConfig(issue(b, ca, replica("330000", "zj-2")), ca.Pool())
	for b.Loop() {
		a, c := net.Pipe()
		errc := make(chan error, 1)
		go func() { errc <- tls.Server(a, srv).Handshake() }()
		if err := tls.Client(c, cli).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		a.Close()
		c.Close()
	}
}
