package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/anchor/sidecar"
	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// syncBuffer is a bytes.Buffer safe for one writer and polling readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAnchorAgainstDemo runs the four demo members in process (real nodes:
// raft, ledger, exchange, witnessing), then anchors their witnessed
// checkpoints with "creditx anchor run --once --memory" and with the
// sidecar loop over an in-memory chaincode, publishes more listings, anchors
// again (with consistency proofs from the nodes' tiles), and audits the
// live nodes against those anchors, once as anchored and once with a
// tampered anchor.
func TestAnchorAgainstDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := filepath.Join(t.TempDir(), "data")
	var out syncBuffer
	demoDone := make(chan error, 1)
	go func() {
		demoDone <- runDemo(ctx, &out, slog.New(slog.DiscardHandler), demoOptions{dir: data, perMember: 3, timeout: 90 * time.Second})
	}()
	defer func() {
		cancel()
		if err := <-demoDone; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	for deadline := time.Now().Add(150 * time.Second); !strings.Contains(out.String(), "Running; press Ctrl-C"); {
		select {
		case err := <-demoDone:
			t.Fatalf("demo ended: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not running after 150s:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "Converged in") {
		t.Fatalf("demo did not converge:\n%s", out.String())
	}
	manifestPath := filepath.Join(data, "manifest.yaml")

	// The command: one round into an in-process chaincode.
	var cmdOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&cmdOut)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"anchor", "run", "--manifest", manifestPath, "--once", "--memory"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("anchor run --once --memory: %v\n%s", err, cmdOut.String())
	}
	if n := strings.Count(cmdOut.String(), "anchored at size"); n != 4 {
		t.Fatalf("anchor run anchored %d members, want 4:\n%s", n, cmdOut.String())
	}

	// The loop, twice, with the ledgers growing in between.
	m, err := exchange.LoadManifest(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.CAPool()}}}
	backend := anchor.NewMemory()
	loop, err := sidecar.New(sidecar.Config{Manifest: m, Backend: backend, Client: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loop.Round(ctx); err != nil {
		t.Fatalf("first round: %v", err)
	}
	first, err := backend.Latest(ctx, "330000")
	if err != nil {
		t.Fatal(err)
	}
	zj, _ := m.Member("330000")
	pub, err := client.LoadCredentials(filepath.Join(data, "330000", "agencies", "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	if pub.MatchKey, err = provision.DevMatchKey(filepath.Join(data, "330000", "agencies")); err != nil {
		t.Fatal(err)
	}
	var batch [][]byte
	for i := range 5 {
		l, err := synth.Listing(uint64(100+i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
			MatchKey: *pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	if _, err := pub.Submit(ctx, zj.Endpoint, batch...); err != nil {
		t.Fatal(err)
	}
	// Anchors follow once the new checkpoint is witnessed by the others.
	var grown anchor.Anchor
	for deadline := time.Now().Add(60 * time.Second); grown.Size < first.Size+5; {
		if time.Now().After(deadline) {
			t.Fatalf("330000 still anchored at %d (was %d) after 60s", grown.Size, first.Size)
		}
		if _, err := loop.Round(ctx); err != nil {
			t.Fatalf("round: %v", err)
		}
		if grown, err = backend.Latest(ctx, "330000"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The audit of the live nodes cross-checks the anchors.
	tr, err := audit.LoadTrustFiles(manifestPath, "")
	if err != nil {
		t.Fatal(err)
	}
	// Each member's own ledger from its own node (the witnessed checkpoint
	// the anchors were made from).
	in := audit.Inputs{Trust: tr}
	for _, mb := range m.Members {
		// Entry bundles of non-public records need a consortium credential
		// (issue 14): each member's ledger is read with its own auditor's.
		aud, err := client.LoadCredentials(filepath.Join(data, mb.Code, "agencies", "auditor"))
		if err != nil {
			t.Fatal(err)
		}
		one, err := audit.FromNodes(ctx, aud.Client, []string{mb.Endpoint}, []string{mb.Code}, tr)
		if err != nil {
			t.Fatal(err)
		}
		in.Copies = append(in.Copies, one.Copies...)
	}
	rep, err := audit.Run(ctx, in, audit.Options{Anchors: backend})
	if err != nil {
		t.Fatalf("audit with anchors: %v", err)
	}
	for _, a := range rep.Anchors {
		if !a.OK {
			t.Errorf("anchor cross-check of %s: %+v", a.Member, a)
		}
	}
	if len(rep.Anchors) != 4 {
		t.Errorf("%d anchor results, want 4", len(rep.Anchors))
	}
	tampered := anchor.NewMemory()
	bad := first
	bad.Root[5] ^= 1
	tampered.Put(ctx, bad, nil)
	_, err = audit.Run(ctx, in, audit.Options{Anchors: tampered})
	var ie *audit.IntegrityError
	if !errors.As(err, &ie) || ie.First.Check != audit.CheckAnchor || !strings.Contains(ie.First.Reason, "member 330000") {
		t.Fatalf("audit with a tampered anchor: %v", err)
	}
}
