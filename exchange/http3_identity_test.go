package exchange

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/creditx/creditx/pki"
)

// TestHTTP3ServerIdentityPerConnection: the HTTP/3 server of ServeHTTP3
// parses a client certificate once per QUIC connection and keeps each
// connection's identity to itself. The handler renames the parsed
// certificate of a connection after its first request: a second parse
// would show the new name.
func TestHTTP3ServerIdentityPerConnection(t *testing.T) {
	ca, err := pki.NewCA("330000", "Test credit office", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(id pki.Identity, hosts ...string) tls.Certificate {
		pair, err := ca.IssueTLS(id, hosts, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	member := func(region string) pki.Identity {
		return pki.Identity{Role: pki.RoleMember, Region: region, Kind: pki.KindMember, ID: region, Name: "member " + region}
	}
	cfg := pki.ServerConfig(issue(pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "zj-1", Name: "zj-1"}, "127.0.0.1"), ca.Pool())
	srv := http3Server(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rename" {
			r.TLS.VerifiedChains[0][0].Subject.CommonName = "renamed"
		}
		id := pki.IdentityFromRequest(r)
		w.Write([]byte(id.Name + " " + r.Proto))
	}))
	ln, err := quic.ListenAddrEarly("127.0.0.1:0", http3.ConfigureTLSConfig(cfg), &quic.Config{MaxIdleTimeout: quicIdleTimeout})
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(ln)
	t.Cleanup(func() { srv.Close(); ln.Close() })
	client := func(c tls.Certificate) *http.Client {
		tr := &http3.Transport{TLSClientConfig: pki.ClientConfig(c, ca.Pool(), "127.0.0.1")}
		t.Cleanup(func() { tr.Close() })
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	a, b := client(issue(member("330000"))), client(issue(pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "zj-2", Name: "replica zj-2"}))
	for _, step := range []struct {
		c          *http.Client
		path, want string
	}{
		{a, "/", "member 330000 HTTP/3.0"},
		{b, "/", "replica zj-2 HTTP/3.0"},
		{a, "/rename", "member 330000 HTTP/3.0"}, // parsed on the first request, not again
		{a, "/", "member 330000 HTTP/3.0"},
		{b, "/", "replica zj-2 HTTP/3.0"},
	} {
		resp, err := step.c.Get("https://" + ln.Addr().String() + step.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(body); got != step.want {
			t.Fatalf("GET %s: %q, want %q", step.path, got, step.want)
		}
	}
}
