package node_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node/nodetest"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// testNode is a single-replica region node running in this process.
type testNode struct {
	dir   string
	n     *node.Node
	url   string
	creds map[string]*client.Credentials // admin, publisher, executor, auditor, replica
	cfg   node.Config
	stop  func()
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith is startNode with the replica's configuration changed by
// mutate (nil: as provisioned).
func startNodeWith(t *testing.T, mutate func(*node.Config)) *testNode {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	if mutate != nil {
		mutate(&cfg)
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	n, stop := nodetest.Start(t, cfg)
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	if err := n.SeedDev(rctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{dir: dir, n: n, url: n.URL(), creds: map[string]*client.Credentials{}, cfg: cfg, stop: stop}
	for _, name := range []string{"admin", "publisher", "executor", "auditor"} {
		c, err := client.LoadCredentials(filepath.Join(dir, "agencies", name))
		if err != nil {
			t.Fatal(err)
		}
		// The test plays the credit office: agencies hold no match key.
		if c.MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
			t.Fatal(err)
		}
		tn.creds[name] = c
	}
	c, err := client.LoadCredentials(filepath.Join(dir, "tls", "replica"))
	if err != nil {
		t.Fatal(err)
	}
	tn.creds["replica"] = c
	return tn
}

// listing makes synthetic listing number i signed by the publisher.
func (tn *testNode) listing(t *testing.T, i uint64, mutate func(*schemas.Listing)) []byte {
	t.Helper()
	p := tn.creds["publisher"]
	l, err := synth.Listing(i, synth.Options{Region: "330000", Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *p.MatchKey, Rand: nil, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(l)
	}
	e, err := p.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (tn *testNode) size(t *testing.T) uint64 {
	t.Helper()
	var st node.Status
	if err := tn.creds["auditor"].Get(context.Background(), tn.url+"/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	return st.Size
}

// settledSize waits until the ledger stops growing (the notice loop issues
// sanction notices asynchronously after each listing) and returns its size.
func (tn *testNode) settledSize(t *testing.T) uint64 {
	t.Helper()
	last, stable := tn.size(t), 0
	for stable < 5 {
		time.Sleep(100 * time.Millisecond)
		if s := tn.size(t); s == last {
			stable++
		} else {
			last, stable = s, 0
		}
	}
	return last
}
