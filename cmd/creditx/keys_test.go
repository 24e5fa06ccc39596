package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditx/creditx/pki"
)

// runKeys runs "creditx keys args..." and returns its output.
func runKeys(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newKeysCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func initRegion(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := runKeys(t, "init-region", "--region", "330000", "--name", "Zhejiang credit office", "--out", dir)
	if err != nil {
		t.Fatalf("init-region: %v\n%s", err, out)
	}
	for _, want := range []string{"region CA for 330000 (Zhejiang credit office)", filepath.Join(dir, "ca", "ca.key"), "SHA-256"} {
		if !strings.Contains(out, want) {
			t.Errorf("init-region output lacks %q:\n%s", want, out)
		}
	}
	return dir
}

func TestKeysInitRegion(t *testing.T) {
	dir := initRegion(t)
	ca, err := pki.LoadCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	if ca.Region != "330000" || ca.Cert.Subject.CommonName != "Zhejiang credit office" || mode(t, filepath.Join(dir, "ca", "ca.key")) != 0o600 {
		t.Fatalf("CA region %q CN %q", ca.Region, ca.Cert.Subject.CommonName)
	}
	if _, err := runKeys(t, "init-region", "--region", "330000", "--name", "again", "--out", dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second init-region: %v", err)
	}
	if _, err := runKeys(t, "init-region", "--region", "3300", "--name", "x", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("bad region: %v", err)
	}
}

func TestKeysIssueAgency(t *testing.T) {
	dir := initRegion(t)
	agencyDir := filepath.Join(dir, "agency-x")
	out, err := runKeys(t, "issue", "--ca", filepath.Join(dir, "ca"), "--role", "publish", "--region", "330000",
		"--id", "91330000002482032M", "--name", "Zhejiang ecology department", "--domain", "tourism", "--domain", "environment",
		"--host", "127.0.0.1", "--host", "node1.example", "--out", agencyDir)
	if err != nil {
		t.Fatalf("issue: %v\n%s", err, out)
	}
	cert, _, err := pki.LoadCredentials(agencyDir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.IdentityFromCert(cert.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	want := pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency, ID: "91330000002482032M",
		Name: "Zhejiang ecology department", Domains: []string{"environment", "tourism"}, Serial: cert.Leaf.SerialNumber.Text(16)}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	if !strings.Contains(out, "creditx://330000/agency/91330000002482032M?role=publish&domain=environment&domain=tourism") {
		t.Errorf("output lacks the identity URI:\n%s", out)
	}
	if len(cert.Leaf.IPAddresses) != 1 || len(cert.Leaf.DNSNames) != 1 || cert.Leaf.DNSNames[0] != "node1.example" {
		t.Errorf("hosts %v %v", cert.Leaf.IPAddresses, cert.Leaf.DNSNames)
	}

	// The record-signing key: PKCS#8 Ed25519, 0600, matching sign.pub and the printed base64.
	if m := mode(t, filepath.Join(agencyDir, "sign.key")); m != 0o600 {
		t.Errorf("sign.key mode %v", m)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(agencyDir, "sign.key"))
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("sign.key is not a PEM PRIVATE KEY: %q", keyPEM)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("sign.key holds %T", k)
	}
	pubPEM, _ := os.ReadFile(filepath.Join(agencyDir, "sign.pub"))
	pblk, _ := pem.Decode(pubPEM)
	if pblk == nil {
		t.Fatalf("sign.pub: %q", pubPEM)
	}
	p, err := x509.ParsePKIXPublicKey(pblk.Bytes)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(p) {
		t.Fatalf("sign.pub does not match sign.key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	printed, err := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	if err != nil || !bytes.Equal(printed, p.(ed25519.PublicKey)) {
		t.Fatalf("printed public key %q does not match sign.pub (%v)", lines[len(lines)-1], err)
	}
}

func TestKeysIssueReplica(t *testing.T) {
	dir := initRegion(t)
	rdir := filepath.Join(dir, "zj-1")
	if out, err := runKeys(t, "issue", "--ca", filepath.Join(dir, "ca"), "--role", "replica", "--region", "330000",
		"--id", "zj-1", "--name", "zj-1", "--host", "10.0.0.1", "--out", rdir); err != nil {
		t.Fatalf("issue: %v\n%s", err, out)
	}
	cert, pool, err := pki.LoadCredentials(rdir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.PeerConfig(cert, pool); err != nil {
		t.Fatalf("replica credentials unusable for raft: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rdir, "sign.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("replica got a record-signing key: %v", err)
	}
}

func TestKeysIssueErrors(t *testing.T) {
	dir := initRegion(t)
	caDir := filepath.Join(dir, "ca")
	base := map[string]string{"--ca": caDir, "--role": "execute", "--region": "330000", "--id": "91330000002482032M", "--name": "x"}
	tests := []struct {
		name  string
		set   map[string]string
		extra []string
		want  string
	}{
		{"region shape", map[string]string{"--region": "33000"}, nil, "--region: pki: identity region"},
		{"region of other CA", map[string]string{"--region": "320000"}, nil, "differs from the region of the CA"},
		{"unknown role", map[string]string{"--role": "boss"}, nil, `--role "boss"`},
		{"publish without domain", map[string]string{"--role": "publish"}, nil, "--domain: pki: identity domain: role publish needs at least one domain"},
		{"domain on execute", nil, []string{"--domain", "environment"}, "--domain: pki: identity domain: only role publish"},
		{"bad domain", map[string]string{"--role": "publish"}, []string{"--domain", "Environment"}, "--domain:"},
		{"id not a USCC", map[string]string{"--id": "12345"}, nil, "--id: pki: identity id"},
		{"replica id", map[string]string{"--role": "replica", "--id": "ZJ 1"}, nil, "--id: pki: identity id"},
		{"member id", map[string]string{"--role": "member", "--id": "320000"}, nil, "--id: pki: identity id: member code"},
		{"bad host", nil, []string{"--host", "bad host"}, `host "bad host"`},
		{"no CA", map[string]string{"--ca": filepath.Join(dir, "nope")}, nil, "no such file"},
		{"missing name", map[string]string{"--name": ""}, nil, "--name: pki: identity name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"issue", "--out", out}
			for k, v := range base {
				if nv, ok := tt.set[k]; ok {
					v = nv
				}
				args = append(args, k, v)
			}
			args = append(args, tt.extra...)
			_, err := runKeys(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(out, "tls.key")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a refused issue wrote files: %v", err)
			}
		})
	}
}

func TestKeysGen(t *testing.T) {
	dir := t.TempDir()
	out, err := runKeys(t, "gen", "--origin", "creditx.330000/ledger", "--out", dir)
	if err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	skey, _ := os.ReadFile(filepath.Join(dir, "log.key"))
	vkey, _ := os.ReadFile(filepath.Join(dir, "log.vkey"))
	if m := mode(t, filepath.Join(dir, "log.key")); m != 0o600 {
		t.Errorf("log.key mode %v", m)
	}
	if !strings.HasSuffix(out, "\n"+string(vkey)+"\n") {
		t.Errorf("output does not end with the vkey %q:\n%s", vkey, out)
	}
	signer, err := note.NewSigner(string(skey))
	if err != nil {
		t.Fatalf("log.key: %v", err)
	}
	verifier, err := note.NewVerifier(string(vkey))
	if err != nil {
		t.Fatalf("log.vkey: %v", err)
	}
	if signer.Name() != "creditx.330000/ledger" {
		t.Errorf("key name %q", signer.Name())
	}
	msg, err := note.Sign(&note.Note{Text: "creditx.330000/ledger\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(verifier)); err != nil {
		t.Fatalf("a note signed with log.key does not verify with log.vkey: %v", err)
	}
	if _, err := runKeys(t, "gen", "--origin", "creditx.330000/ledger", "--out", dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second gen: %v", err)
	}
	for _, bad := range []string{"creditx.33000/ledger", "example.com/log", "creditx.330000/", "creditx.330000/Ledger", "creditx.330000"} {
		if _, err := runKeys(t, "gen", "--origin", bad, "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--origin") {
			t.Errorf("origin %q: %v", bad, err)
		}
	}
}
