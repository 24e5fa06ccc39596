package interop

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
)

// startMembers prepares a consortium on loopback, lets edit change the
// manifest and each config, and starts every member (real raft, bbolt,
// QUIC, TLS) with its development data seeded.
func startMembers(t *testing.T, specs []provision.MemberSpec, edit func(m *exchange.Manifest, cfgs []*node.Config)) (map[string]*node.Node, []*node.Config, *exchange.Manifest) {
	t.Helper()
	addrs := nodetest.FreeAddrs(t, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	cfgs, m, err := provision.PrepareConsortium(t.TempDir(), specs)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m, cfgs)
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if m, err = exchange.ParseManifest(b); err != nil {
			t.Fatal(err)
		}
		for _, cfg := range cfgs {
			if err := os.WriteFile(cfg.Exchange.Manifest, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]*node.Node{}
	for _, cfg := range cfgs {
		c := *cfg
		x := *c.Exchange
		x.PullInterval, x.PushInterval = 300*time.Millisecond, 50*time.Millisecond
		c.Exchange = &x
		out[c.Region], _ = nodetest.Start(t, c)
	}
	for i, cfg := range cfgs {
		if err := out[cfg.Region].SeedDev(context.Background(), filepath.Join(cfgs[i].DataDir, "agencies")); err != nil {
			t.Fatal(err)
		}
	}
	return out, cfgs, m
}

// publicClient is an HTTPS client trusting the region CA of cfg, with no
// client certificate.
func publicClient(t *testing.T, cfg *node.Config) *http.Client {
	cr, err := client.LoadCredentials(filepath.Join(cfg.DataDir, "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	pool := cr.Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
