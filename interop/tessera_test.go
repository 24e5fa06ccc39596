package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// TestTesseraLogWitnessedByCreditx runs a Tessera POSIX log whose own
// witness client (tessera.NewWitness, WithWitnesses, no fail-open) must get
// a creditx member's cosignature before it publishes a checkpoint. The
// creditx node lists the log in exchange.witness_logs; Tessera reaches it
// over plain HTTPS tlog-witness with no client certificate. The witness vkey
// given to Tessera is the one the manifest publishes (type 0x04).
func TestTesseraLogWitnessedByCreditx(t *testing.T) {
	const origin = "tessera.example/interop"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	nodes, cfgs, m := startMembers(t, []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}}, func(_ *exchange.Manifest, cfgs []*node.Config) {
		x := *cfgs[0].Exchange
		x.WitnessLogs = []node.WitnessLogConfig{{Origin: origin, VKey: vkey}}
		cfgs[0].Exchange = &x
	})
	self, _ := m.Member("310000")
	w, err := tessera.NewWitness(self.WitnessVKey, must(url.Parse(nodes["310000"].URL()+"/witness")))
	if err != nil {
		t.Fatalf("Tessera does not read the manifest's witness vkey %q: %v", self.WitnessVKey, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	driver, err := posix.New(ctx, posix.Config{Path: dir, HTTPClient: publicClient(t, cfgs[0])})
	if err != nil {
		t.Fatal(err)
	}
	opts := tessera.NewAppendOptions().WithCheckpointSigner(signer).
		WithCheckpointInterval(200*time.Millisecond).
		WithBatching(16, 50*time.Millisecond).
		WithWitnesses(tessera.NewWitnessGroup(1, w), &tessera.WitnessOptions{Timeout: 5 * time.Second})
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 50*time.Millisecond)
	wv, err := fnote.NewVerifierForCosignatureV1(self.WitnessVKey)
	if err != nil {
		t.Fatal(err)
	}
	logV, _ := note.NewVerifier(vkey)
	for round := range 3 {
		var last tessera.IndexFuture
		for i := range 5 {
			last = app.Add(ctx, tessera.NewEntry(fmt.Appendf(nil, "round %d entry %d", round, i)))
		}
		actx, acancel := context.WithTimeout(ctx, 20*time.Second)
		idx, cp, err := awaiter.Await(actx, last)
		acancel()
		if err != nil {
			t.Fatalf("round %d: entry not published: %v", round, err)
		}
		// The published checkpoint carries creditx's cosignature, which
		// verifies with x/mod's note package and formats' verifier.
		n, err := note.Open(cp, note.VerifierList(logV, wv))
		if err != nil {
			t.Fatalf("round %d: published checkpoint %q: %v", round, cp, err)
		}
		if len(n.Sigs) != 2 {
			t.Fatalf("round %d: %d verified signatures, want the log's and creditx's", round, len(n.Sigs))
		}
		if ts, err := fnote.CoSigV1Timestamp(n.Sigs[1]); err != nil || ts.IsZero() {
			t.Fatalf("cosignature timestamp %v %v", ts, err)
		}
		t.Logf("round %d: index %d, checkpoint cosigned by %s", round, idx.Index, n.Sigs[1].Name)
	}
	// Tessera's file on disk is the cosigned one too.
	onDisk, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(onDisk, note.VerifierList(wv)); err != nil {
		t.Fatalf("checkpoint file lacks creditx's cosignature: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
