package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestCA(t testing.TB, region string) *CA {
	t.Helper()
	ca, err := NewCA(region, "Test credit office "+region, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue returns a ready key pair for id.
func issue(t testing.TB, ca *CA, id Identity, hosts ...string) tls.Certificate {
	t.Helper()
	if id.Name == "" {
		id.Name = "test " + id.ID
	}
	pair, err := ca.IssueTLS(id, hosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM in %q", b)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCA(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	ca, err := NewCA("330000", "Zhejiang credit office", now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if !c.IsCA || !c.MaxPathLenZero || c.MaxPathLen != 0 || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a path-length-0 CA: IsCA=%v MaxPathLen=%d zero=%v usage=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage)
	}
	if c.Subject.CommonName != "Zhejiang credit office" || !slices.Equal(c.Subject.Organization, []string{"creditx 330000"}) {
		t.Errorf("subject %v", c.Subject)
	}
	if !c.NotBefore.Equal(now.Add(-5*time.Minute)) || !c.NotAfter.Equal(time.Date(2036, 2, 27, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("validity %v .. %v", c.NotBefore, c.NotAfter)
	}
	if !slices.Equal(c.PermittedURIDomains, []string{"330000"}) || ca.Region != "330000" {
		t.Errorf("URI constraint %v, region %q", c.PermittedURIDomains, ca.Region)
	}
	for _, bad := range []struct {
		region, name string
		v            time.Duration
	}{
		{"33000", "x", time.Hour}, {"033000", "x", time.Hour}, {"330000", "", time.Hour}, {"330000", "x", 0},
	} {
		if _, err := NewCA(bad.region, bad.name, now, bad.v); err == nil {
			t.Errorf("NewCA(%q, %q, %v) succeeded", bad.region, bad.name, bad.v)
		}
	}
}

func TestIssue(t *testing.T) {
	ca := newTestCA(t, "330000")
	id := Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "Zhejiang ecology department",
		Domains: []string{"tourism", "environment"}}
	certPEM, keyPEM, err := ca.Issue(id, []string{"127.0.0.1", "Node1.Example", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("key does not match cert: %v", err)
	}
	c := parsePEM(t, certPEM)
	got, err := IdentityFromCert(c)
	if err != nil {
		t.Fatal(err)
	}
	want := id
	want.Domains = []string{"environment", "tourism"}
	want.Serial = c.SerialNumber.Text(16)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("identity %+v, want %+v", got, want)
	}
	if !slices.Equal(c.DNSNames, []string{"node1.example"}) || len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("SANs %v %v", c.DNSNames, c.IPAddresses)
	}
	if id.Domains[0] != "tourism" {
		t.Errorf("Issue reordered the caller's slice: %v", id.Domains)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: "node1.example"}); err != nil {
			t.Errorf("verify for usage %v: %v", usage, err)
		}
	}
	if d := c.NotAfter.Sub(c.NotBefore); d != time.Hour+5*time.Minute {
		t.Errorf("validity span %v", d)
	}

	replica := Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-1", Name: "zj-1"}
	bad := []struct {
		name  string
		id    Identity
		hosts []string
		v     time.Duration
		field string // IdentityError field, or "" for a plain error
	}{
		{"other region", Identity{Role: RoleReplica, Region: "320000", Kind: KindReplica, ID: "js-1", Name: "x"}, nil, time.Hour, "region"},
		{"public", Identity{Role: RolePublic, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "x"}, nil, time.Hour, "role"},
		{"no name", Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-1"}, nil, time.Hour, "name"},
		{"dup domain", Identity{Role: RolePublish, Region: "330000", Kind: KindAgency, ID: testUSCC, Name: "x", Domains: []string{"a", "a"}}, nil, time.Hour, "domain"},
		{"bad host", replica, []string{"node_1.example"}, time.Hour, ""},
		{"zero validity", replica, nil, 0, ""},
		{"past CA", replica, nil, 48 * time.Hour, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c, k, err := ca.Issue(tt.id, tt.hosts, tt.v)
			if err == nil || c != nil || k != nil {
				t.Fatalf("Issue succeeded or returned output: %v", err)
			}
			var ie *IdentityError
			if isIE := errors.As(err, &ie); isIE != (tt.field != "") || (isIE && ie.Field != tt.field) {
				t.Fatalf("error %v; want field %q", err, tt.field)
			}
		})
	}
}

// The CA's name constraint makes x509 itself refuse a certificate the CA
// signed for another region.
func TestCANameConstraint(t *testing.T) {
	ca := newTestCA(t, "330000")
	c := rawCert(t, ca, pkix.Name{CommonName: "x", Organization: []string{"creditx 320000"}},
		[]string{"creditx://320000/replica/js-1?role=replica"}, false)
	_, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var ce x509.CertificateInvalidError
	if !errors.As(err, &ce) || ce.Reason != x509.CANotAuthorizedForThisName {
		t.Fatalf("verify: %v; want CANotAuthorizedForThisName", err)
	}
}

func TestSaveLoadCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca := newTestCA(t, "330000")
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key mode %v, %v", fi.Mode(), err)
	}
	got, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) || !got.Key.Equal(ca.Key) || got.Region != "330000" {
		t.Fatal("loaded CA differs")
	}
	before, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	other := newTestCA(t, "330000")
	if err := other.Save(dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Save: %v, want fs.ErrExist", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("refused Save changed ca.key")
	}

	// Key of another CA next to this certificate.
	mixed := t.TempDir()
	os.WriteFile(filepath.Join(mixed, CACertFile), ca.CertPEM(), 0o644)
	os.WriteFile(filepath.Join(mixed, CAKeyFile), after, 0o600)
	if _, err := LoadCA(mixed); err != nil {
		t.Fatalf("control: %v", err)
	}
	os.Remove(filepath.Join(mixed, CACertFile))
	os.WriteFile(filepath.Join(mixed, CACertFile), other.CertPEM(), 0o644)
	if _, err := LoadCA(mixed); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("world-readable key: %v", err)
	}
}

func TestCredentials(t *testing.T) {
	ca := newTestCA(t, "330000")
	certPEM, keyPEM, err := ca.Issue(Identity{Role: RoleReplica, Region: "330000", Kind: KindReplica, ID: "zj-2", Name: "zj-2"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "zj-2")
	if err := WriteCredentials(dir, certPEM, keyPEM, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{CertFile: 0o644, KeyFile: 0o600, CACertFile: 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want %v", name, fi.Mode(), err, mode)
		}
	}
	pair, pool, err := LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("leaf does not verify against loaded pool: %v", err)
	}
	if err := WriteCredentials(dir, certPEM, keyPEM, ca.CertPEM()); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}

	foreign := t.TempDir()
	if err := WriteCredentials(filepath.Join(foreign, "x"), certPEM, keyPEM, newTestCA(t, "330000").CertPEM()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCredentials(filepath.Join(foreign, "x")); err == nil || !strings.Contains(err.Error(), "not issued by") {
		t.Fatalf("foreign ca.crt: %v", err)
	}
}

func TestParseRevoked(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"# none yet\n\n", nil, ""},
		{"ABC\n  00dEf \t\r\n# x\n1", []string{"abc", "def", "1"}, ""},
		{"abc\nabc\n", []string{"abc", "abc"}, ""},
		{strings.Repeat("f", 40), []string{strings.Repeat("f", 40)}, ""},
		{strings.Repeat("f", 41), nil, "line 1"},
		{"abc\n0x12\n", nil, "line 2"},
		{"ab:cd", nil, "line 1"},
		{"12 34", nil, "line 1"},
		{"0", nil, "zero"},
		{"abc # trailing comment", nil, "line 1"},
	}
	for _, tt := range tests {
		got, err := ParseRevoked([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRevoked(%q) = %v, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRevoked(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseRevoked(f *testing.F) {
	f.Add([]byte("# revoked\nabc\r\n  0DEF\n"))
	f.Add([]byte("0x1\n"))
	f.Add([]byte("\n\n0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseRevoked(data)
		if err != nil {
			return
		}
		again, err := ParseRevoked(FormatRevoked(s))
		if err != nil || !slices.Equal(again, s) {
			t.Fatalf("round trip %q -> %q, %v", s, again, err)
		}
	})
}

func TestRevocationListReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), RevokedFile)
	if _, err := LoadRevocationList(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(path, []byte("a1\n"), 0o644)
	rl, err := LoadRevocationList(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("a1\nnot-hex\n"), 0o644)
	if err := rl.Reload(); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad reload: %v", err)
	}
	if !slices.Equal(rl.Serials(), []string{"a1"}) {
		t.Fatalf("failed reload changed the list: %v", rl.Serials())
	}
	os.WriteFile(path, []byte("B2\na1\n"), 0o644)
	if err := rl.Reload(); err != nil || !slices.Equal(rl.Serials(), []string{"a1", "b2"}) {
		t.Fatalf("reload: %v %v", rl.Serials(), err)
	}
	var nilList *RevocationList
	if nilList.Revoked(nil) || nilList.Serials() != nil {
		t.Fatal("nil list revokes")
	}
}
