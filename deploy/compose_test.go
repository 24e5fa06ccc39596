package deploy_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/deploy"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
)

func TestGenerateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    deploy.Options
		want string
	}{
		{"even replicas", deploy.Options{Replicas: 2}, "replicas: 2"},
		{"bad code", deploy.Options{Members: []string{"31000", "320000"}}, `"31000" is not a 6-digit`},
		{"leading zero", deploy.Options{Members: []string{"010000", "320000"}}, `"010000" is not a 6-digit`},
		{"duplicate", deploy.Options{Members: []string{"310000", "310000"}}, "listed twice"},
		{"city twice", deploy.Options{Members: []string{"310000", "330100"}, City: "330100"}, "listed twice"},
		{"alone", deploy.Options{Members: []string{"310000"}}, "at least two members"},
		{"port", deploy.Options{BasePort: 80}, "base port 80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			_, err := deploy.Generate(dir, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Generate = %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("refused options left %s behind", dir)
			}
		})
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := deploy.Generate(dir, deploy.Options{Members: []string{"310000", "320000"}, Replicas: 1}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Generate into a non-empty dir = %v", err)
	}
}

func TestGenerateLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "delta")
	lay, err := deploy.Generate(dir, deploy.Options{Members: []string{"310000", "330000"}, City: "330100", Replicas: 3, BasePort: 30000, UID: os.Getuid(), GID: os.Getgid()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := exchange.LoadManifest(lay.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Members) != 3 || m.WitnessQuorum != 2 {
		t.Fatalf("manifest: %d members, quorum %d; want 3, 2", len(m.Members), m.WitnessQuorum)
	}
	ports := map[string]bool{}
	for i, mb := range lay.Members {
		if m.Members[i].Endpoint != "https://"+deploy.Alias(mb.Code)+":8443" {
			t.Errorf("%s endpoint %s", mb.Code, m.Members[i].Endpoint)
		}
		wantN := 3
		if mb.Code == "330100" {
			wantN = 1
		}
		if len(mb.Replicas) != wantN {
			t.Fatalf("%s has %d replicas, want %d", mb.Code, len(mb.Replicas), wantN)
		}
		for _, r := range mb.Replicas {
			if ports[r.HostURL] {
				t.Errorf("host URL %s used twice", r.HostURL)
			}
			ports[r.HostURL] = true
			cfg, err := node.LoadConfig(filepath.Join(r.DataDir, "node.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DataDir != "/data" || cfg.RaftAdvertise != r.ID+":9443" || cfg.Exchange == nil || len(cfg.Peers) != wantN || cfg.Region != mb.Code {
				t.Errorf("%s config: %+v", r.ID, cfg)
			}
			// The container sees only its data directory: everything it
			// needs is there, and no CA key or admin signing key is.
			for _, f := range []string{"manifest.yaml", "keys/log.key", "keys/witness.key", "keys/match.key", "tls/replica/tls.crt", "tls/member/tls.crt"} {
				if _, err := os.Stat(filepath.Join(r.DataDir, f)); err != nil {
					t.Errorf("%s: %v", r.ID, err)
				}
			}
			filepath.WalkDir(r.DataDir, func(p string, d fs.DirEntry, err error) error {
				if d != nil && (d.Name() == "ca.key" || d.Name() == "sign.key") {
					t.Errorf("%s holds offline material %s", r.ID, p)
				}
				if d != nil && strings.HasSuffix(d.Name(), ".key") {
					if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
						t.Errorf("%s is mode %v", p, fi.Mode().Perm())
					}
				}
				return nil
			})
			b, _ := os.ReadFile(filepath.Join(r.DataDir, "tls", "replica", "tls.crt"))
			blk, _ := pem.Decode(b)
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(c.DNSNames, mb.Alias) || !slices.Contains(c.DNSNames, r.ID) {
				t.Errorf("%s certificate names %v, want %s and %s", r.ID, c.DNSNames, mb.Alias, r.ID)
			}
		}
	}
	// Every match key is the consortium's one.
	var keys []string
	ms, _ := filepath.Glob(filepath.Join(dir, "*", "*", "keys", "match.key"))
	ag, _ := filepath.Glob(filepath.Join(dir, "*", "agencies", "*", "match.key"))
	for _, f := range append(ms, ag...) {
		b, _ := os.ReadFile(f)
		if !slices.Contains(keys, string(b)) {
			keys = append(keys, string(b))
		}
	}
	if len(ms) != 7 || len(keys) != 1 {
		t.Errorf("%d replica match keys, %d distinct match keys; want 7, 1", len(ms), len(keys))
	}
	compose, _ := os.ReadFile(lay.Compose)
	if n := strings.Count(string(compose), `- "127.0.0.1:`); n != 7 {
		t.Errorf("compose file publishes %d ports on 127.0.0.1, want 7", n)
	}
	if strings.Contains(string(compose), `- "0.0.0.0`) || strings.Contains(string(compose), "/ca:") {
		t.Errorf("compose file publishes on all interfaces or mounts a CA directory:\n%s", compose)
	}
	back, err := deploy.LoadLayout(dir)
	if err != nil || len(back.Members) != 3 || back.Members[2].Replicas[0].ID != "hz-1" {
		t.Errorf("LoadLayout = %+v, %v", back, err)
	}
}

func ExampleGenerate() {
	dir, _ := os.MkdirTemp("", "delta-")
	defer os.RemoveAll(dir)
	lay, err := deploy.Generate(filepath.Join(dir, "delta"), deploy.Options{Members: []string{"310000", "330000"}, City: "330100", Replicas: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range lay.Members {
		var ids []string
		for _, r := range m.Replicas {
			ids = append(ids, r.ID)
		}
		fmt.Println(m.Code, m.Endpoint, strings.Join(ids, " "))
	}
	// Output:
	// 310000 https://sh:8443 sh-1 sh-2 sh-3
	// 330000 https://zj:8443 zj-1 zj-2 zj-3
	// 330100 https://hz:8443 hz-1
}
