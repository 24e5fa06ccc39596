package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// TestProvenanceCLI runs the demo with --out, then "creditx provenance" on
// a listing of 330000: the signer is the key a governance record of the
// same ledger registered, signed by the member's credit-office anchor from
// the manifest. A receipt made from the demo's witnessed checkpoint passes
// "creditx verify-receipt" and names the same entry to "provenance
// --receipt"; the receipt with one changed proof hash fails naming the step.
func TestProvenanceCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	data, outDir := filepath.Join(t.TempDir(), "data"), t.TempDir()
	var demoOut bytes.Buffer
	if err := runDemo(context.Background(), &demoOut, slog.New(slog.DiscardHandler),
		demoOptions{dir: data, out: outDir, exit: true, perMember: 2, timeout: 60 * time.Second}); err != nil {
		t.Fatalf("demo: %v\n%s", err, demoOut.String())
	}
	manifest := filepath.Join(outDir, "manifest.yaml")
	m, err := exchange.LoadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	zj, _ := m.Member("330000")
	anchorIDs := map[string]bool{}
	for _, a := range zj.Anchors {
		pub, _ := base64.StdEncoding.DecodeString(a.PublicKey)
		anchorIDs[schemas.KeyID(ed25519.PublicKey(pub))] = true
	}
	// The first listing of 330000's own tree and the registration of its key.
	tree := ledger.DirSource(filepath.Join(outDir, "330000", "330000"))
	entry := func(i uint64) []byte {
		b, err := tree.ReadEntryBundle(i/ledger.TileWidth, ledger.TileWidth)
		if err != nil { // a partial bundle
			cp, _ := tree.Checkpoint()
			size, _ := strconv.ParseUint(strings.Split(string(cp), "\n")[1], 10, 64)
			b, err = tree.ReadEntryBundle(i/ledger.TileWidth, int(size%ledger.TileWidth))
		}
		if err != nil {
			t.Fatal(err)
		}
		es, err := ledger.ParseEntryBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		return es[i%ledger.TileWidth]
	}
	var idx uint64
	for ; ; idx++ {
		if bytes.Contains(entry(idx), []byte(`"schema":"listing/`)) {
			break
		}
	}
	out, err := run(t, "provenance", "330000#"+strconv.FormatUint(idx, 10), "--dir", outDir, "--json")
	if err != nil {
		t.Fatalf("provenance: %v\n%s", err, out)
	}
	var p audit.Provenance
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s, err := schemas.ParseSigned(entry(idx))
	if err != nil {
		t.Fatal(err)
	}
	if p.Signer.KeyID != s.KeyID || p.Signer.Anchor || !p.Signer.ValidAtIndex || p.Signer.RegisteredAt >= idx {
		t.Fatalf("signer %+v, want key %s registered before %d", p.Signer, s.KeyID, idx)
	}
	reg := entry(p.Signer.RegisteredAt)
	if !bytes.Contains(reg, []byte(`"agency_key_register"`)) || !bytes.Contains(reg, []byte(`"key_id":"`+s.KeyID+`"`)) {
		t.Fatalf("entry %d named as the registering record is not the registration of %s:\n%s", p.Signer.RegisteredAt, s.KeyID, reg)
	}
	if !anchorIDs[p.Signer.RegisteredBy] {
		t.Fatalf("registered by %s, not an anchor of 330000 in the manifest", p.Signer.RegisteredBy)
	}
	if !p.Checkpoint.Witnessed || len(p.Mirrors) != 3 || len(p.Related) == 0 {
		t.Fatalf("checkpoint %+v, %d mirrors, %d related", p.Checkpoint, len(p.Mirrors), len(p.Related))
	}
	html := filepath.Join(t.TempDir(), "p.html")
	out, err = run(t, "provenance", "creditx.330000/ledger#"+strconv.FormatUint(idx, 10), "--dir", outDir, "--html", html)
	if err != nil || !strings.Contains(out, "key registered by governance record creditx.330000/ledger#"+strconv.FormatUint(p.Signer.RegisteredAt, 10)) {
		t.Fatalf("text: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(b, []byte("<section")) {
		t.Fatalf("html: %v", err)
	}

	// A receipt of the entry against the demo's witnessed checkpoint.
	cpb, err := tree.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.OpenCheckpoint(cpb, zj.Origin(), zj.LogVerifier())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := tlog.ProveRecord(int64(cp.Size), int64(idx), ledger.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, tree))
	if err != nil {
		t.Fatal(err)
	}
	leaf := tlog.RecordHash(entry(idx))
	rdir := t.TempDir()
	good, bad := filepath.Join(rdir, "good.tlog-proof"), filepath.Join(rdir, "bad.tlog-proof")
	os.WriteFile(good, ledger.FormatProof(ledger.Proof{Extra: leaf[:], Index: idx, Hashes: proof, Checkpoint: cpb}), 0o644)
	proof[0][0] ^= 1
	os.WriteFile(bad, ledger.FormatProof(ledger.Proof{Extra: leaf[:], Index: idx, Hashes: proof, Checkpoint: cpb}), 0o644)
	if out, err := run(t, "verify-receipt", good, "--manifest", manifest); err != nil || !strings.HasPrefix(out, "OK: entry "+strconv.FormatUint(idx, 10)) {
		t.Fatalf("verify-receipt: %v\n%s", err, out)
	}
	out, err = run(t, "verify-receipt", bad, "--manifest", manifest)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 || !strings.Contains(out, `FAILED at step "inclusion proof"`) {
		t.Fatalf("bad receipt: %v\n%s", err, out)
	}
	if out, err := run(t, "provenance", "--receipt", good, "--dir", outDir); err != nil || !strings.Contains(out, "signed by key "+s.KeyID) {
		t.Fatalf("provenance --receipt: %v\n%s", err, out)
	}
	// A bundle's own manifest is not independent trust.
	if _, err := run(t, "provenance", "330000#0", "--bundle", filepath.Join(rdir, "x.tar.gz")); err == nil || !strings.Contains(err.Error(), "--manifest") {
		t.Fatalf("--bundle without --manifest: %v", err)
	}
}

// TestSubmitProofLive: against the live demo, "submit --proof DIR" writes a
// witnessed receipt that "verify-receipt" accepts against the manifest, and
// "provenance --receipt --node" answers for the same entry from the node.
func TestSubmitProofLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	url, data := startLiveDemo(t)
	pub := filepath.Join(data, "310000", "agencies", "publisher")
	manifest := filepath.Join(data, "manifest.yaml")
	sample, err := run(t, "sample", "listing", "--creds", pub, "--responsible-person=false", "--n", "4242")
	if err != nil {
		t.Fatalf("sample: %v\n%s", err, sample)
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "listing.json")
	if err := os.WriteFile(rec, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	proofs := filepath.Join(dir, "proofs")
	out, err := run(t, "submit", "--node", url, "--creds", pub, "--proof", proofs, "--wait", "30s", rec)
	if err != nil {
		t.Fatalf("submit --proof: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(proofs, "310000-*.tlog-proof"))
	if len(files) != 1 || !strings.Contains(out, "receipt: "+files[0]) {
		t.Fatalf("receipts %v\n%s", files, out)
	}
	out, err = run(t, "verify-receipt", files[0], "--manifest", manifest)
	if err != nil || !strings.HasPrefix(out, "OK: entry ") || !strings.Contains(out, "witness_quorum 2") {
		t.Fatalf("verify-receipt: %v\n%s", err, out)
	}
	out, err = run(t, "provenance", "--receipt", files[0], "--node", url, "--manifest", manifest,
		"--creds", filepath.Join(data, "310000", "agencies", "auditor"))
	if err != nil || !strings.Contains(out, "listing of ") || !strings.Contains(out, "key registered by governance record creditx.310000/ledger#") {
		t.Fatalf("provenance --receipt --node: %v\n%s", err, out)
	}
}
