package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Example runs a one-replica region node, submits a signed listing as its
// publishing agency, and checks the receipt offline: the checkpoint's
// signature with the region's log key, and the listing's inclusion under it.
// The receipt comes back only once the listing is durable and checkpointed.
func Example() {
	dir, err := os.MkdirTemp("", "creditx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "ex-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		log.Fatal(err)
	}
	n, err := node.New(*cfgs[0])
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { stop(); <-done }()
	if err := n.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	agencies := filepath.Join(dir, "agencies")
	if err := n.SeedDev(ctx, agencies); err != nil { // registers the sample agencies' keys
		log.Fatal(err)
	}

	pub, err := client.LoadCredentials(filepath.Join(agencies, "publisher"))
	if err != nil {
		log.Fatal(err)
	}
	if pub.MatchKey, err = provision.DevMatchKey(agencies); err != nil {
		log.Fatal(err)
	}
	l, err := synth.Listing(1, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
		MatchKey: *pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	entry, err := pub.Sign(l)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := pub.Submit(ctx, n.URL(), entry)
	if err != nil {
		log.Fatal(err)
	}
	r := rs[0]

	vkey, err := os.ReadFile(filepath.Join(dir, "keys", "log.vkey"))
	if err != nil {
		log.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		log.Fatal(err)
	}
	cp, err := ledger.OpenCheckpoint([]byte(r.Checkpoint), r.Origin, v)
	if err != nil {
		log.Fatal(err)
	}
	p, err := ledger.ParseProof([]byte(r.Proof))
	if err != nil {
		log.Fatal(err)
	}
	err = tlog.CheckRecord(p.Hashes, int64(cp.Size), cp.Root, int64(r.Index), tlog.RecordHash(entry))
	fmt.Println(r.Origin, r.Index, err == nil)
	// Output: creditx.330000/ledger 2 true
}
