package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestExportExchangeMember: an exchange member's data directory exports,
// stopped (from bbolt, mirrors with their origins' keys from the manifest)
// and running (through its tlog-tiles API with the auditor's certificate),
// and the bundle verifies offline against the manifest: PASSED. "creditx
// verify" verifies the mirrors with the manifest's keys. "export --node"
// builds the same bundle from a live node.
func TestExportExchangeMember(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	// Stopped: the demo ran with --data and --exit, its data stays.
	data := filepath.Join(t.TempDir(), "data")
	var out syncBuffer
	if err := runDemo(context.Background(), &out, slog.New(slog.DiscardHandler),
		demoOptions{dir: data, exit: true, perMember: 2, timeout: 60 * time.Second}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	manifest := filepath.Join(data, "manifest.yaml")
	member := filepath.Join(data, "320000")
	if o, err := run(t, "verify", "--data", member); err != nil || strings.Contains(o, "NOT VERIFIED") || strings.Count(o, ": OK,") < 4 {
		t.Fatalf("verify of an exchange member: %v\n%s", err, o)
	}
	stopped := filepath.Join(t.TempDir(), "stopped.tgz")
	if o, err := run(t, "export", "--data", member, "--bundle", stopped); err != nil {
		t.Fatalf("export of a stopped exchange member: %v\n%s", err, o)
	}
	auditPasses(t, stopped, manifest, 4)

	// Running: a live demo on its own data.
	url, live := startLiveDemo(t)
	running := filepath.Join(t.TempDir(), "running.tgz")
	o, err := run(t, "export", "--data", filepath.Join(live, "330000"), "--bundle", running)
	if err != nil || !strings.Contains(o, "in use by a running node") {
		t.Fatalf("export of a running exchange member: %v\n%s", err, o)
	}
	auditPasses(t, running, filepath.Join(live, "manifest.yaml"), 4)

	fromNode := filepath.Join(t.TempDir(), "node.tgz")
	if o, err := run(t, "export", "--node", url, "--manifest", filepath.Join(live, "manifest.yaml"),
		"--creds", filepath.Join(live, "310000", "agencies", "auditor"), "--bundle", fromNode); err != nil {
		t.Fatalf("export --node: %v\n%s", err, o)
	}
	auditPasses(t, fromNode, filepath.Join(live, "manifest.yaml"), 4)

	// The bundle against another consortium's manifest: the differences are
	// named, and the keys do not match.
	o, err = runAudit(t, "audit", "--bundle", fromNode, "--manifest", manifest, "--quiet")
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 || !strings.Contains(o, "manifest: the audited data's manifest differs from the independent one at members[310000].log_vkey") {
		t.Errorf("bundle against another manifest: %v, want exit 1 naming the field\n%s", err, o)
	}
}

// auditPasses audits bundle against manifest and wants PASSED over copies
// ledger copies.
func auditPasses(t *testing.T, bundle, manifest string, copies int) {
	t.Helper()
	o, err := runAudit(t, "audit", "--bundle", bundle, "--manifest", manifest, "--quiet")
	if err != nil || !strings.Contains(o, ": PASSED: ") || !strings.Contains(o, fmt.Sprintf("Merkle trees of %d ledger copies", copies)) {
		t.Fatalf("audit --bundle %s --manifest: %v\n%s", filepath.Base(bundle), err, o)
	}
}

// TestExportRunningReplicatedRegion: "creditx export --data" of one replica
// of a running 3-replica region reads the region's tlog-tiles API (the
// ledger.db is locked) with the region's auditor certificate; the bundle
// verifies offline with every record check; a lone region has no witnesses,
// so the verdict is UNVERIFIED for that one check only.
func TestExportRunningReplicatedRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three replicas")
	}
	dir := t.TempDir()
	addrs := nodetest.FreeAddrs(t, 6)
	var specs []provision.ReplicaSpec
	for i := range 3 {
		specs = append(specs, provision.ReplicaSpec{ID: fmt.Sprintf("zj-%d", i+1), API: addrs[2*i], Raft: addrs[2*i+1]})
	}
	cfgs, err := provision.PrepareRegion(dir, "330000", specs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	nodes := make([]*node.Node, len(cfgs))
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() { defer wg.Done(); nodes[i], _ = nodetest.Start(t, *cfg) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var leader *node.Node
	for _, n := range nodes {
		if n.IsLeader() {
			leader = n
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	agencies := filepath.Join(dir, "agencies")
	if err := leader.SeedDev(context.Background(), agencies); err != nil {
		t.Fatal(err)
	}
	p, err := client.LoadCredentials(filepath.Join(agencies, "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	if p.MatchKey, err = provision.DevMatchKey(agencies); err != nil {
		t.Fatal(err)
	}
	var batch [][]byte
	for i := range 20 {
		l, err := synth.Listing(uint64(i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
			MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-2 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := p.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	if _, err := p.Submit(context.Background(), leader.URL(), batch...); err != nil {
		t.Fatal(err)
	}
	// a follower's directory: its own API serves the tiles
	follower := cfgs[0]
	for i, n := range nodes {
		if n != leader {
			follower = cfgs[i]
			break
		}
	}
	bundle := filepath.Join(t.TempDir(), "region.tgz")
	o, err := run(t, "export", "--data", follower.DataDir, "--bundle", bundle)
	if err != nil || !strings.Contains(o, "in use by a running node") || !strings.Contains(o, "creditx.330000/ledger") {
		t.Fatalf("export of a running replica: %v\n%s", err, o)
	}
	o, err = runAudit(t, "audit", "--bundle", bundle, "--trust", filepath.Join(t.TempDir(), "none.yaml"), "--quiet")
	if err == nil {
		t.Fatalf("a missing --trust file was accepted\n%s", o)
	}
	trustFile := filepath.Join(t.TempDir(), "trust.yaml")
	tf, _, err := dataDirTrust(follower.DataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.Save(trustFile); err != nil {
		t.Fatal(err)
	}
	o, err = runAudit(t, "audit", "--bundle", bundle, "--trust", trustFile, "--quiet")
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(o, "Checked: every agency signature") ||
		!strings.Contains(o, "Not checked: witness cosignature quorum: no witness keys known") || strings.Count(o, "Not checked") != 1 {
		t.Fatalf("audit of the running region's bundle: %v, want UNVERIFIED for the witnesses only\n%s", err, o)
	}
	if !strings.Contains(o, "20 listings") {
		t.Errorf("the bundle lacks the 20 listings:\n%s", o)
	}
}
