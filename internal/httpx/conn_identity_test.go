package httpx

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/creditx/creditx/pki"
)

// TestServerIdentityPerConnection: the servers of Timeouts.Server (the
// node's HTTPS API, HTTP/2 over TCP) parse a client certificate once per
// connection and keep each connection's identity to itself. The handler
// renames the parsed certificate of a connection after its first request:
// a second parse would show the new name.
func TestServerIdentityPerConnection(t *testing.T) {
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
	replica := func(id string) pki.Identity {
		return pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: id, Name: "replica " + id}
	}
	srv := Timeouts{}.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rename" {
			r.TLS.VerifiedChains[0][0].Subject.CommonName = "renamed"
		}
		id := pki.IdentityFromRequest(r)
		w.Write([]byte(id.Name + " " + r.Proto))
	}))
	srv.TLSConfig = pki.ServerConfig(issue(replica("zj-1"), "127.0.0.1"), ca.Pool())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	client := func(c tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: pki.ClientConfig(c, ca.Pool(), "127.0.0.1"), ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	a, b := client(issue(replica("zj-2"))), client(issue(replica("zj-3")))
	for _, step := range []struct {
		c          *http.Client
		path, want string
	}{
		{a, "/", "replica zj-2 HTTP/2.0"},
		{b, "/", "replica zj-3 HTTP/2.0"},
		{a, "/rename", "replica zj-2 HTTP/2.0"}, // parsed on the first request, not again
		{a, "/", "replica zj-2 HTTP/2.0"},
		{b, "/", "replica zj-3 HTTP/2.0"},
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
