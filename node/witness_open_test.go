package node_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// foreignLog is a log nobody in the consortium runs: an in-memory RFC 6962
// tree (x/mod tlog) with its own signed-note key.
type foreignLog struct {
	origin string
	signer note.Signer
	vkey   string
	hashes []tlog.Hash // tlog.StoredHashes storage
	size   int64
}

func newForeignLog(t testing.TB, origin string) *foreignLog {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &foreignLog{origin: origin, signer: s, vkey: vkey}
}

func (l *foreignLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

// grow appends n entries.
func (l *foreignLog) grow(t testing.TB, n int) {
	for range n {
		hs, err := tlog.StoredHashes(l.size, fmt.Appendf(nil, "entry %d", l.size), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.size++
	}
}

func (l *foreignLog) root(t testing.TB, size int64) tlog.Hash {
	if size == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := tlog.TreeHash(size, l)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (l *foreignLog) checkpoint(t testing.TB, size int64) []byte {
	b, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(func() []byte { h := l.root(t, size); return h[:] }()))}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (l *foreignLog) proof(t testing.TB, old, size int64) tlog.TreeProof {
	if old == 0 || old == size {
		return nil
	}
	p, err := tlog.ProveTree(size, old, l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startWitnessMember starts a one-member consortium whose node witnesses
// logs (exchange.witness_logs).
func startWitnessMember(t *testing.T, logs ...node.WitnessLogConfig) (*member, *exchange.Manifest) {
	t.Helper()
	addrs := freeAddrs(t, 2)
	cfgs, m, err := provision.PrepareConsortium(t.TempDir(), []provision.MemberSpec{{Region: "310000", Name: "Shanghai", API: addrs[0], Raft: addrs[1]}})
	if err != nil {
		t.Fatal(err)
	}
	c := *cfgs[0]
	x := *c.Exchange
	x.WitnessLogs = logs
	c.Exchange = &x
	mb := &member{code: c.Region, cfg: c, creds: map[string]*client.Credentials{}}
	cr, err := client.LoadCredentials(filepath.Join(c.DataDir, "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	mb.creds["auditor"] = cr
	mb.start(t)
	return mb, m
}

// publicClient is an HTTPS client with no client certificate.
func publicClient(mb *member) *http.Client {
	pool := mb.creds["auditor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableCompression: true}}
}

type witnessAnswer struct {
	status int
	ctype  string
	body   []byte
}

func addCheckpoint(t *testing.T, c *http.Client, base string, body []byte) witnessAnswer {
	t.Helper()
	resp, err := c.Post(base+exchange.AddCheckpointPath, "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return witnessAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// TestOpenWitnessStatusCodes submits checkpoints of logs the consortium does
// not run (exchange.witness_logs) over plain HTTPS with no client
// certificate, and checks every status code of C2SP tlog-witness's
// add-checkpoint, quoting the spec for each.
func TestOpenWitnessStatusCodes(t *testing.T) {
	a := newForeignLog(t, "example.com/behind-the-sofa")
	b := newForeignLog(t, "example.com/second")
	mb, m := startWitnessMember(t, node.WitnessLogConfig{Origin: a.origin, VKey: a.vkey}, node.WitnessLogConfig{Origin: b.origin, VKey: b.vkey})
	self, _ := m.Member("310000")
	wv, err := exchange.ParseWitnessVKey(self.WitnessVKey)
	if err != nil {
		t.Fatal(err)
	}
	logV, _ := note.NewVerifier(a.vkey)
	c := publicClient(mb)
	base := mb.n.URL()
	req := func(l *foreignLog, old, size int64, proof tlog.TreeProof, cp []byte) []byte {
		if cp == nil {
			cp = l.checkpoint(t, size)
		}
		return exchange.AddCheckpoint{OldSize: uint64(old), Proof: proof, Checkpoint: cp}.Encode()
	}
	expect := func(what string, got witnessAnswer, status int) {
		t.Helper()
		if got.status != status {
			t.Fatalf("%s: status %d (%s), want %d", what, got.status, bytes.TrimSpace(got.body), status)
		}
	}
	a.grow(t, 5)

	// "If all the checks above pass, the witness MUST update its record of
	// the latest cosigned checkpoint and respond with a "200 Success"" —
	// the body is cosignature lines that verify with the published vkey.
	got := addCheckpoint(t, c, base, req(a, 0, 5, nil, nil))
	expect("first checkpoint", got, 200)
	cosigned5 := exchange.AddSignatures(a.checkpoint(t, 5), got.body)
	n, err := note.Open(append(a.checkpoint(t, 5)[:0:0], cosigned5...), note.VerifierList(logV, wv))
	if err != nil {
		t.Fatalf("cosignature does not verify with the manifest's witness vkey: %v", err)
	}
	if len(n.Sigs) != 2 {
		t.Fatalf("verified signatures: %d", len(n.Sigs))
	}
	// "The cosignature MUST NOT omit the timestamp".
	if ts, err := fnote.CoSigV1Timestamp(n.Sigs[1]); err != nil || ts.Unix() == 0 {
		t.Fatalf("cosignature timestamp %v, %v", ts, err)
	}

	// "If it doesn't match, the witness MUST respond with a "409 Conflict"
	// [...] The response body MUST consist of the tree size of the latest
	// cosigned checkpoint in decimal, followed by a newline [...]
	// Content-Type of text/x.tlog.size."
	a.grow(t, 4)
	got = addCheckpoint(t, c, base, req(a, 0, 9, nil, nil))
	expect("stale old size", got, 409)
	if string(got.body) != "5\n" || got.ctype != exchange.SizeContentType {
		t.Fatalf("409 body %q, content type %q", got.body, got.ctype)
	}
	// "Otherwise, the consistency proof lines MUST encode a Merkle
	// Consistency Proof from the old size to the checkpoint size".
	expect("consistent growth", addCheckpoint(t, c, base, req(a, 5, 9, a.proof(t, 5, 9), nil)), 200)

	// "If [...] a Merkle Consistency Proof doesn't verify, the witness MUST
	// respond with a 422 Unprocessable Entity".
	a.grow(t, 3)
	bad := a.proof(t, 9, 12)
	bad[0][0] ^= 1
	expect("bad proof", addCheckpoint(t, c, base, req(a, 9, 12, bad, nil)), 422)
	// "If the old size matches the checkpoint size, the witness MUST check
	// that the root hashes are also identical. If they don't match, the
	// witness MUST respond with a "422 Unprocessable Entity"".
	forged, _ := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n9\n%s\n", a.origin, base64.StdEncoding.EncodeToString(make([]byte, 32)))}, a.signer)
	expect("same size, other root", addCheckpoint(t, c, base, req(a, 9, 9, nil, forged)), 422)
	// "The old size MUST be equal to or lower than the checkpoint size.
	// Otherwise, the witness MUST respond with a "400 Bad Request"".
	expect("old size above size", addCheckpoint(t, c, base, req(a, 12, 9, nil, nil)), 400)
	expect("malformed body", addCheckpoint(t, c, base, []byte("old 01\n\n"+string(a.checkpoint(t, 9)))), 400)

	// "If the checkpoint origin is unknown, the witness MUST respond with a
	// "404 Not Found"".
	u := newForeignLog(t, "example.com/unknown")
	expect("unknown origin", addCheckpoint(t, c, base, req(u, 0, 0, nil, nil)), 404)
	// "The witness MUST respond with a "403 Forbidden" HTTP status code if
	// either no signature from a trusted key for the origin is present, or a
	// signature line's key name and ID match a trusted key but the signature
	// itself fails to verify".
	impostor := newForeignLog(t, a.origin)
	impostor.hashes, impostor.size = a.hashes, a.size
	expect("unknown key only", addCheckpoint(t, c, base, req(impostor, 9, 12, a.proof(t, 9, 12), nil)), 403)
	tampered := a.checkpoint(t, 12)
	i := bytes.LastIndex(tampered, []byte(" ")) + 1
	tampered[i+10] ^= 'A' ^ 'B'
	if tampered[i+10] == '\n' {
		t.Fatal("tampered the newline")
	}
	expect("trusted key, bad signature", addCheckpoint(t, c, base, req(a, 9, 12, a.proof(t, 9, 12), tampered)), 403)
	// The witness "MUST ignore signatures from unknown keys": the same
	// checkpoint with an extra unknown signature is cosigned.
	extra, _ := note.Sign(&note.Note{Text: string(a.checkpoint(t, 12)[:bytes.Index(a.checkpoint(t, 12), []byte("\n\n"))+1])}, a.signer, impostor.signer)
	expect("extra unknown signature", addCheckpoint(t, c, base, req(a, 9, 12, a.proof(t, 9, 12), extra)), 200)

	// "If the proof is not empty when the old size is zero [...] 422".
	b.grow(t, 3)
	expect("old size 0 with a proof", addCheckpoint(t, c, base, req(b, 0, 3, tlog.TreeProof{{1}}, nil)), 422)
	// "A checkpoint of size zero MUST have the root hash of the empty tree
	// [...] Otherwise, the witness MUST respond with a "422"".
	empty, _ := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n0\n%s\n", b.origin, base64.StdEncoding.EncodeToString(make([]byte, 32)))}, b.signer)
	expect("empty tree, other root", addCheckpoint(t, c, base, req(b, 0, 0, nil, empty)), 422)
	expect("empty tree", addCheckpoint(t, c, base, req(b, 0, 0, nil, nil)), 200)

	// Monitoring: "GET <monitoring prefix>/<origin hash>/checkpoint [...]
	// MUST include the cosignature(s) from the witness's key(s) that were
	// returned from add-checkpoint and the cosignature from the log key(s)".
	h := sha256.Sum256([]byte(a.origin))
	resp, err := c.Get(base + node.MonitorPathPrefix + hex.EncodeToString(h[:]) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	mon, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("monitoring: %d %s", resp.StatusCode, mon)
	}
	mn, err := note.Open(mon, note.VerifierList(logV, wv))
	if err != nil || len(mn.Sigs) != 2 || !strings.HasPrefix(mn.Text, a.origin+"\n12\n") {
		t.Fatalf("monitoring checkpoint %q: %v", mon, err)
	}
	// "If the witness has never cosigned a checkpoint for that log, it MUST
	// respond with a "404 Not Found"".
	h = sha256.Sum256([]byte(u.origin))
	resp, err = c.Get(base + node.MonitorPathPrefix + hex.EncodeToString(h[:]) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("monitoring an unknown log: %d", resp.StatusCode)
	}

	// The state is in raft: a restart keeps the last cosigned size.
	mb.stop()
	mb.start(t)
	got = addCheckpoint(t, c, base, req(a, 0, 12, nil, nil))
	if got.status != 409 || string(got.body) != "12\n" {
		t.Fatalf("after restart: %d %q, want 409 12", got.status, got.body)
	}
}

func TestWitnessLogsConfigRefused(t *testing.T) {
	a := newForeignLog(t, "example.com/log")
	addrs := freeAddrs(t, 2)
	cfgs, _, err := provision.PrepareConsortium(t.TempDir(), []provision.MemberSpec{{Region: "310000", Name: "Shanghai", API: addrs[0], Raft: addrs[1]}})
	if err != nil {
		t.Fatal(err)
	}
	for what, logs := range map[string][]node.WitnessLogConfig{
		"member ledger": {{Origin: "creditx.310000/ledger", VKey: a.vkey}},
		"twice":         {{Origin: a.origin, VKey: a.vkey}, {Origin: a.origin, VKey: a.vkey}},
		"bad vkey":      {{Origin: a.origin, VKey: "nope"}},
	} {
		c := *cfgs[0]
		x := *c.Exchange
		x.WitnessLogs = logs
		c.Exchange = &x
		n, err := node.New(c)
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			n.Run(ctx)
			t.Errorf("%s: accepted", what)
			continue
		}
		if !strings.Contains(err.Error(), "exchange.witness_logs[") {
			t.Errorf("%s: error %v does not name the entry", what, err)
		}
	}
}

// TestTileHeaders: tlog-tiles "This endpoint is immutable, so its caching
// headers SHOULD be long-lived" (partial tiles included), and "Entry bundles
// SHOULD be compressed at the HTTP layer".
func TestTileHeaders(t *testing.T) {
	mb, _ := startWitnessMember(t)
	if err := mb.n.SeedDev(context.Background(), filepath.Join(mb.cfg.DataDir, "agencies")); err != nil {
		t.Fatal(err)
	}
	var size uint64
	eventually(t, 10*time.Second, "a checkpoint", func() bool { size = mb.status(t).Size; return size > 0 })
	c := publicClient(mb)
	get := func(path, enc string) (*http.Response, []byte) {
		r, _ := http.NewRequest("GET", mb.n.URL()+"/ledger/310000/"+path, nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, cpb := get("checkpoint", "")
	if resp.StatusCode != 200 {
		t.Fatalf("checkpoint: %d", resp.StatusCode)
	}
	lines := strings.Split(string(cpb), "\n")
	var n uint64
	fmt.Sscan(lines[1], &n)
	w := n % 256
	if w == 0 {
		t.Skip("tree size is a multiple of 256")
	}
	tile := fmt.Sprintf("tile/0/%03d.p/%d", n/256, w)
	resp, _ = get(tile, "")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("partial tile %s: %d, Cache-Control %q", tile, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	bundle := fmt.Sprintf("tile/entries/%03d.p/%d", n/256, w)
	resp, plain := get(bundle, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("bundle without Accept-Encoding: %d, %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	resp, zipped := get(bundle, "gzip, identity")
	// A public client only ever gets public bundles: shared caches may keep them.
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("bundle with gzip accepted: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, plain) {
		t.Fatal("gzipped bundle differs from the plain one")
	}
	if _, err := ledger.ParseEntryBundle(unz); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(bundle, "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 got gzip")
	}
}
