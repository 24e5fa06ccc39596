package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

const testUSCC = "91330100MA27XL5D3K"

func TestIdentityRoundTrip(t *testing.T) {
	tests := []struct {
		id   Identity
		want string // written out by hand, not by URI()
	}{
		{Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Domains: []string{"environment"}},
			"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=environment"},
		{Identity{Role: RolePublish, Region: "310000", Kind: KindAgency, ID: testUSCC, Domains: []string{"food-drugs", "tourism", "x_y"}},
			"creditx://310000/agency/91330100MA27XL5D3K?role=publish&domain=food-drugs&domain=tourism&domain=x_y"},
		{Identity{Role: RoleExecute, Region: "320000", Kind: KindAgency, ID: testUSCC},
			"creditx://320000/agency/91330100MA27XL5D3K?role=execute"},
		{Identity{Role: RoleAudit, Region: "340000", Kind: KindAgency, ID: testUSCC},
			"creditx://340000/agency/91330100MA27XL5D3K?role=audit"},
		{Identity{Role: RoleAdmin, Region: "330000", Kind: KindAgency, ID: testUSCC},
			"creditx://330000/agency/91330100MA27XL5D3K?role=admin"},
		{Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-1"},
			"creditx://330000/replica/zj-1?role=replica"},
		{Identity{Role: RoleMember, Region: "330300", Kind: KindMember, ID: "330300"},
			"creditx://330300/member/330300?role=member"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.id.URI().String(); got != tt.want {
				t.Fatalf("URI() = %q, want %q", got, tt.want)
			}
			got, err := IdentityFromURI(tt.want)
			if err != nil {
				t.Fatalf("IdentityFromURI: %v", err)
			}
			if !reflect.DeepEqual(got, tt.id) {
				t.Fatalf("IdentityFromURI = %+v, want %+v", got, tt.id)
			}
		})
	}
}

func TestIdentityFromURIMalformed(t *testing.T) {
	const good = "creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=environment"
	if _, err := IdentityFromURI(good); err != nil {
		t.Fatalf("baseline %q: %v", good, err)
	}
	tests := []struct {
		raw, field string
	}{
		{"", "scheme"},
		{"https://330000/agency/91330100MA27XL5D3K?role=audit", "scheme"},
		{"CREDITX://330000/agency/91330100MA27XL5D3K?role=audit", "uri"},
		{"creditx:330000/agency/91330100MA27XL5D3K?role=audit", "uri"},
		{"creditx://u@330000/agency/91330100MA27XL5D3K?role=audit", "uri"},
		{"creditx://330000:1/agency/91330100MA27XL5D3K?role=audit", "region"},
		{"creditx://33000/agency/91330100MA27XL5D3K?role=audit", "region"},
		{"creditx://030000/agency/91330100MA27XL5D3K?role=audit", "region"},
		{"creditx://33000a/agency/91330100MA27XL5D3K?role=audit", "region"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=audit#x", "uri"},
		{"creditx://330000/agency/91330100MA27XL5D3K?", "uri"},
		{"creditx://330000/agency/91330100MA27XL5D3K", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K/?role=audit", "uri"},
		{"creditx://330000/agency?role=audit", "uri"},
		{"creditx://330000//91330100MA27XL5D3K?role=audit", "kind"},
		{"creditx://330000/Agency/91330100MA27XL5D3K?role=audit", "kind"},
		{"creditx://330000/person/91330100MA27XL5D3K?role=audit", "kind"},
		{"creditx://330000/agency/91330100MA27XL5D3?role=audit", "id"},
		{"creditx://330000/agency/91330100MA27XL5D3I?role=audit", "id"},
		{"creditx://330000/agency/913301A0MA27XL5D3K?role=audit", "id"},
		{"creditx://330000/agency/91330100ma27xl5d3k?role=audit", "id"},
		{"creditx://330000/agency/%391330100MA27XL5D3K?role=audit", "uri"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=replica", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=public", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=audit&role=audit", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=audit&x=1", "uri"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=audit;x", "role"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=audit&domain=environment", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=Environment", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=1env", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=tourism&domain=environment", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=tourism&domain=tourism", "domain"},
		{"creditx://330000/agency/91330100MA27XL5D3K?domain=environment&role=publish", "uri"},
		{"creditx://330000/agency/91330100MA27XL5D3K?role=%70ublish&domain=environment", "uri"},
		{"creditx://330000/replica/zj-1?role=publish", "role"},
		{"creditx://330000/replica/ZJ-1?role=replica", "id"},
		{"creditx://330000/replica/zj-?role=replica", "id"},
		{"creditx://330000/replica/1zj?role=replica", "id"},
		{"creditx://330000/replica/zj.1?role=replica", "id"},
		{"creditx://330000/member/320000?role=member", "id"},
		{"creditx://330000/member/330000?role=replica", "role"},
		{"creditx://330000/replica/zj%2D1?role=replica", "uri"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			id, err := IdentityFromURI(tt.raw)
			var ie *IdentityError
			if !errors.As(err, &ie) {
				t.Fatalf("IdentityFromURI(%q) = %+v, %v; want *IdentityError", tt.raw, id, err)
			}
			if ie.Field != tt.field {
				t.Fatalf("IdentityFromURI(%q) field %q (%v), want %q", tt.raw, ie.Field, err, tt.field)
			}
			if !reflect.DeepEqual(id, Identity{}) {
				t.Fatalf("returned non-zero identity %+v with error", id)
			}
		})
	}
}

func FuzzIdentityFromURI(f *testing.F) {
	for _, s := range []string{
		"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=environment&domain=tourism",
		"creditx://330000/replica/zj-1?role=replica",
		"creditx://330000/member/330000?role=member",
		"creditx://330000/agency/91330100MA27XL5D3K?role=audit",
		"creditx://330000/agency/%391330100MA27XL5D3K?role=audit",
		"creditx://330000:80/replica/zj-1?role=replica#f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := IdentityFromURI(raw)
		if err != nil {
			var ie *IdentityError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not *IdentityError", err)
			}
			return
		}
		// Accepted strings are canonical and valid.
		if got := id.URI().String(); got != raw {
			t.Fatalf("accepted %q but it encodes as %q", raw, got)
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate: %v", raw, err)
		}
	})
}

// rawCert signs a leaf with arbitrary subject and URIs under ca.
func rawCert(t *testing.T, ca *CA, subject pkix.Name, uris []string, isCA bool) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0xabc), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true}
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, p)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIdentityFromCert(t *testing.T) {
	ca := newTestCA(t, "330000")
	const u = "creditx://330000/replica/zj-1?role=replica"
	o := []string{"creditx 330000"}
	tests := []struct {
		name    string
		subject pkix.Name
		uris    []string
		isCA    bool
		field   string // "" = ok
	}{
		{"ok", pkix.Name{CommonName: "replica one", Organization: o}, []string{u}, false, ""},
		{"no URI", pkix.Name{CommonName: "x", Organization: o}, nil, false, "san"},
		{"two URIs", pkix.Name{CommonName: "x", Organization: o}, []string{u, u}, false, "san"},
		{"CA", pkix.Name{CommonName: "x", Organization: o}, []string{u}, true, "san"},
		{"bad URI", pkix.Name{CommonName: "x", Organization: o}, []string{"creditx://330000/replica/zj-1?role=audit"}, false, "role"},
		{"no CN", pkix.Name{Organization: o}, []string{u}, false, "name"},
		{"CN spaces", pkix.Name{CommonName: " x", Organization: o}, []string{u}, false, "name"},
		{"CN control", pkix.Name{CommonName: "a\nb", Organization: o}, []string{u}, false, "name"},
		{"no O", pkix.Name{CommonName: "x"}, []string{u}, false, "organization"},
		{"O other region", pkix.Name{CommonName: "x", Organization: []string{"creditx 320000"}}, []string{u}, false, "organization"},
		{"two O", pkix.Name{CommonName: "x", Organization: []string{"creditx 330000", "b"}}, []string{u}, false, "organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawCert(t, ca, tt.subject, tt.uris, tt.isCA)
			id, err := IdentityFromCert(c)
			if tt.field == "" {
				want := Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-1", Name: "replica one", Serial: "abc"}
				if err != nil || !reflect.DeepEqual(id, want) {
					t.Fatalf("got %+v, %v; want %+v", id, err, want)
				}
				return
			}
			var ie *IdentityError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("got %+v, %v; want *IdentityError on %q", id, err, tt.field)
			}
		})
	}
}

func TestIdentityFromRequest(t *testing.T) {
	ca := newTestCA(t, "330000")
	good := rawCert(t, ca, pkix.Name{CommonName: "Env dept", Organization: []string{"creditx 330000"}},
		[]string{"creditx://330000/agency/91330100MA27XL5D3K?role=publish&domain=environment"}, false)
	bad := rawCert(t, ca, pkix.Name{CommonName: "x"}, nil, false)
	public := Identity{Role: RolePublic}
	tests := []struct {
		name string
		tls  *tls.ConnectionState
		want Identity
	}{
		{"plain HTTP", nil, public},
		{"TLS no cert", &tls.ConnectionState{}, public},
		{"unverified cert", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{good}}, public},
		{"verified, no identity", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{bad, ca.Cert}}}, public},
		{"verified", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{good, ca.Cert}}},
			Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "Env dept",
				Domains: []string{"environment"}, Serial: "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "https://node/", nil)
			r.TLS = tt.tls
			// Without a connection slot, then twice with one (the second
			// answer is the remembered one).
			slotted := r.WithContext(WithConnIdentity(r.Context()))
			for pass, r := range []*http.Request{r, slotted, slotted} {
				got := IdentityFromRequest(r)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("pass %d: got %+v, want %+v", pass, got, tt.want)
				}
				if len(got.Domains) > 0 {
					got.Domains[0] = "changed by the caller" // must not reach the next answer
				}
			}
		})
	}
}

// TestIdentityFromCertKeepsNothing: IdentityFromCert answers from the
// certificate it is given, every time. A process-wide cache keyed by the
// DER (stop 33's) would answer the second call with the first name.
func TestIdentityFromCertKeepsNothing(t *testing.T) {
	ca := newTestCA(t, "330000")
	c := rawCert(t, ca, pkix.Name{CommonName: "one", Organization: []string{"creditx 330000"}},
		[]string{"creditx://330000/replica/zj-1?role=replica"}, false)
	for _, name := range []string{"one", "two"} {
		c.Subject.CommonName = name // the DER (c.Raw) stays the same
		id, err := IdentityFromCert(c)
		if err != nil || id.Name != name {
			t.Fatalf("got %+v, %v; want name %q", id, err, name)
		}
	}
}
