package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// identityEcho answers the caller's identity and address. On /rename it
// first changes the Subject CN of the connection's parsed client
// certificate: from then on a fresh parse of that certificate names
// "renamed", while an identity derived earlier on the connection does not.
func identityEcho(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/rename" {
		r.TLS.VerifiedChains[0][0].Subject.CommonName = "renamed"
	}
	json.NewEncoder(w).Encode(echo{IdentityFromRequest(r), r.RemoteAddr, r.Proto})
}

type echo struct {
	ID     Identity
	Remote string
	Proto  string
}

// connIdentityServer serves identityEcho over HTTP/2 on TCP or HTTP/3 on
// QUIC, with a per-connection identity slot if slot is set, and returns the
// base URL and a function that makes a client presenting a certificate.
func connIdentityServer(t *testing.T, ca *CA, proto string, slot bool) (string, func(tls.Certificate) *http.Client) {
	t.Helper()
	srvCfg := ServerConfig(issue(t, ca, replica("330000", "zj-1"), "127.0.0.1"), ca.Pool())
	h := http.HandlerFunc(identityEcho)
	switch proto {
	case "HTTP/2":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: h, TLSConfig: srvCfg}
		if slot {
			hs.ConnContext = func(ctx context.Context, _ net.Conn) context.Context { return WithConnIdentity(ctx) }
		}
		go hs.ServeTLS(ln, "", "")
		t.Cleanup(func() { hs.Close() })
		return "https://" + ln.Addr().String(), func(c tls.Certificate) *http.Client {
			tr := &http.Transport{TLSClientConfig: ClientConfig(c, ca.Pool(), "127.0.0.1"), ForceAttemptHTTP2: true}
			t.Cleanup(tr.CloseIdleConnections)
			return &http.Client{Transport: tr, Timeout: 10 * time.Second}
		}
	case "HTTP/3":
		ln, err := quic.ListenAddrEarly("127.0.0.1:0", http3.ConfigureTLSConfig(srvCfg), nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := &http3.Server{Handler: h}
		if slot {
			hs.ConnContext = func(ctx context.Context, _ *quic.Conn) context.Context { return WithConnIdentity(ctx) }
		}
		go hs.ServeListener(ln)
		t.Cleanup(func() { hs.Close(); ln.Close() })
		return "https://" + ln.Addr().String(), func(c tls.Certificate) *http.Client {
			tr := &http3.Transport{TLSClientConfig: ClientConfig(c, ca.Pool(), "127.0.0.1")}
			t.Cleanup(func() { tr.Close() })
			return &http.Client{Transport: tr, Timeout: 10 * time.Second}
		}
	}
	t.Fatalf("no protocol %s", proto)
	return "", nil
}

// TestConnIdentity: over HTTP/2 and HTTP/3, with a slot per connection
// (WithConnIdentity from ConnContext), two connections with different
// certificates each get their own certificate's identity, and a
// connection's certificate is parsed on its first request only (the
// identity outlives a change to the parsed certificate). Without a slot,
// nothing is remembered: every request parses, so the change shows.
func TestConnIdentity(t *testing.T) {
	for _, proto := range []string{"HTTP/2", "HTTP/3"} {
		for _, slot := range []bool{true, false} {
			name := proto + " without slot"
			if slot {
				name = proto + " with slot"
			}
			t.Run(name, func(t *testing.T) {
				ca := newTestCA(t, "330000")
				base, client := connIdentityServer(t, ca, proto, slot)
				certA, certB := issue(t, ca, agency("330000", RolePublish, "environment")), issue(t, ca, replica("330000", "zj-2"))
				wantA := Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "test " + testUSCC,
					Domains: []string{"environment"}, Serial: serial(certA)}
				wantB := Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-2", Name: "test zj-2", Serial: serial(certB)}
				a, b := client(certA), client(certB)
				get := func(c *http.Client, path string, want Identity) echo {
					t.Helper()
					resp, err := c.Get(base + path)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var e echo
					if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
						t.Fatal(err)
					}
					if e.Proto != proto+".0" && e.Proto != proto {
						t.Fatalf("GET %s over %s, want %s", path, e.Proto, proto)
					}
					if !reflect.DeepEqual(e.ID, want) {
						t.Fatalf("GET %s: identity %+v, want %+v", path, e.ID, want)
					}
					return e
				}
				first := get(a, "/", wantA)
				if other := get(b, "/", wantB); other.Remote == first.Remote {
					t.Fatalf("both clients came from %s: want two connections", first.Remote)
				}
				renamed := wantA
				if !slot {
					renamed.Name = "renamed" // parsed again on every request
				}
				for _, path := range []string{"/rename", "/"} {
					if e := get(a, path, renamed); e.Remote != first.Remote {
						t.Fatalf("GET %s came from %s, want the first connection %s", path, e.Remote, first.Remote)
					}
				}
				get(b, "/", wantB) // the other connection keeps its own
			})
		}
	}
}

// BenchmarkIdentityFromRequest: a request on a connection whose identity
// is already derived (slot) against one that parses the certificate.
func BenchmarkIdentityFromRequest(b *testing.B) {
	ca := newTestCA(b, "330000")
	c := issue(b, ca, agency("330000", RolePublish, "environment", "tourism"))
	for _, slot := range []bool{true, false} {
		b.Run(map[bool]string{true: "slot", false: "parse"}[slot], func(b *testing.B) {
			r, _ := http.NewRequest("GET", "https://node/", nil)
			r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c.Leaf, ca.Cert}}}
			if slot {
				r = r.WithContext(WithConnIdentity(r.Context()))
			}
			for b.Loop() {
				if id := IdentityFromRequest(r); id.Role != RolePublish {
					b.Fatalf("%+v", id)
				}
			}
		})
	}
}
