package deploy_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/note"
)

// The security drills of issue 7, item 4, each against a real node: a
// single-replica region running in this process on real listeners (HTTPS and
// raft on port 0, TLS 1.3 with the region CA), a real ledger.db in
// t.TempDir(), restarted where a drill needs it. Together with the drills in
// security_test.go and the node package they cover:
//
//   - foreign CA refused: HTTPS (TestDrillForeignCAOverHTTPS), raft
//     (TestDrillForeignCAOverRaft), HTTP/3 exchange endpoint (node
//     TestExchangeRefusesForeignCA, against a running consortium);
//   - revoked agency key refused, also after a restart and when the
//     revocation races the key's own submissions (TestDrillRevokedAgencyKey,
//     TestDrillRevocationRace);
//   - replayed record idempotent: concurrently (TestDrillConcurrentReplay),
//     sequentially after a restart (TestDrillRevokedAgencyKey);
//   - oversize and malformed requests bounded (TestDrillHugeBody,
//     TestDrillSlowHeaders, TestDrillMalformedRequests);
//   - per-client rate limits (TestDrillRateLimits, TestDrillRateLimitsByDefault);
//   - no endpoint reveals personal plaintext, and every read of personal
//     data is in the access log (TestDrillNoPersonalPlaintext).

// drill is one running region node with credentials for every role.
type drill struct {
	t      *testing.T
	dir    string
	cfg    node.Config
	n      *node.Node
	url    string
	creds  map[string]*client.Credentials // admin, publisher, executor, auditor, member, replica
	public *http.Client                   // no client certificate
	stop   func()
}

// newDrill prepares region 330000 in a temporary directory, lets tune adjust
// the replica's config, and starts the node. Sanction notices are off unless
// tune sets an agency directory, so that the ledger grows only by what a
// drill submits.
func newDrill(t *testing.T, tune func(*node.Config)) *drill {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "d-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	cfg.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml") // absent: no notices
	if tune != nil {
		tune(&cfg)
	}
	// A member certificate, as another member's node would present.
	ca, err := pki.LoadCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleMember, Region: "330000", Kind: pki.KindMember, ID: "330000", Name: "member 330000"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCredentials(filepath.Join(dir, "agencies", "member"), certPEM, keyPEM, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	d := &drill{t: t, dir: dir, cfg: cfg, creds: map[string]*client.Credentials{}}
	for _, name := range []string{"admin", "publisher", "executor", "auditor", "member"} {
		if d.creds[name], err = client.LoadCredentials(filepath.Join(dir, "agencies", name)); err != nil {
			t.Fatal(err)
		}
		if d.creds[name].MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
			t.Fatal(err)
		}
	}
	if d.creds["replica"], err = client.LoadCredentials(filepath.Join(dir, "tls", "replica")); err != nil {
		t.Fatal(err)
	}
	roots := d.creds["auditor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	d.public = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	d.start()
	return d
}

func (d *drill) start() {
	d.t.Helper()
	n, err := node.New(d.cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	d.stop = func() { once.Do(func() { cancel(); <-done }) }
	d.t.Cleanup(d.stop)
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	if err := n.WaitReady(rctx); err != nil {
		d.t.Fatal(err)
	}
	if err := n.SeedDev(rctx, filepath.Join(d.dir, "agencies")); err != nil {
		d.t.Fatal(err)
	}
	d.n, d.url = n, n.URL()
}

// restart stops the node and starts it again on the same data directory.
func (d *drill) restart() {
	d.t.Helper()
	d.stop()
	d.start()
}

func (d *drill) size() uint64 {
	d.t.Helper()
	var st node.Status
	if err := d.creds["auditor"].Get(context.Background(), d.url+"/v1/status", &st); err != nil {
		d.t.Fatal(err)
	}
	return st.Size
}

// signed makes synthetic listing seq, signed by c, optionally changed first.
func (d *drill) signed(seq uint64, c *client.Credentials, mutate func(*schemas.Listing)) []byte {
	d.t.Helper()
	l, err := synth.Listing(seq, synth.Options{Region: "330000", Authority: schemas.Agency{Name: c.Identity.Name, USCC: c.Identity.ID},
		MatchKey: *c.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		d.t.Fatal(err)
	}
	if mutate != nil {
		mutate(l)
	}
	e, err := c.Sign(l)
	if err != nil {
		d.t.Fatal(err)
	}
	return e
}

// rotatedKey registers a second signing key for the publisher (a key
// rotation) and returns the publisher's credentials holding it.
func (d *drill) rotatedKey() *client.Credentials {
	d.t.Helper()
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		d.t.Fatal(err)
	}
	k2 := *d.creds["publisher"]
	k2.SignKey = sk
	reg, err := client.RegistrationRecord("330000", d.creds["admin"], &k2)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.creds["admin"].Submit(context.Background(), d.url, reg); err != nil {
		d.t.Fatal(err)
	}
	return &k2
}

// revoke has the admin revoke c's signing key; it returns the index of the
// revocation record.
func (d *drill) revoke(c *client.Credentials) uint64 {
	d.t.Helper()
	admin := d.creds["admin"]
	g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: keyID(c), Reason: "key compromised (drill)"}}
	rev, err := admin.Sign(g)
	if err != nil {
		d.t.Fatal(err)
	}
	rs, err := admin.Submit(context.Background(), d.url, rev)
	if err != nil {
		d.t.Fatal(err)
	}
	return rs[0].Index
}

func keyID(c *client.Credentials) string {
	return schemas.KeyID(c.SignKey.Public().(ed25519.PublicKey))
}

// entries fetches the region's whole ledger through the public tlog-tiles
// API and verifies it against the ledger key, as a mirror or auditor would.
func (d *drill) entries() [][]byte {
	d.t.Helper()
	vk, err := os.ReadFile(filepath.Join(d.dir, "keys", "log.vkey"))
	if err != nil {
		d.t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vk)))
	if err != nil {
		d.t.Fatal(err)
	}
	src := tileReader{base: d.url + "/ledger/330000/", c: d.public}
	cp, err := src.get("checkpoint")
	if err != nil {
		d.t.Fatal(err)
	}
	var out [][]byte
	if _, err := ledger.Verify(context.Background(), src, cp, schemas.LedgerOrigin("330000"), v, func(_ uint64, e []byte) error {
		out = append(out, append([]byte(nil), e...))
		return nil
	}, nil); err != nil {
		d.t.Fatal(err)
	}
	return out
}

type tileReader struct {
	base string
	c    *http.Client
}

func (r tileReader) get(p string) ([]byte, error) {
	resp, err := r.c.Get(r.base + p)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", p, resp.Status)
	}
	return b, err
}

func (r tileReader) ReadTile(level int, n uint64, width int) ([]byte, error) {
	return r.get(ledger.TilePath(level, n, width))
}

func (r tileReader) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	return r.get(ledger.EntriesPath(n, width))
}

// TestDrillForeignCAOverRaft: the raft transport of a running node refuses
// every peer that is not a replica of its region CA: a replica certificate
// from a foreign CA (same region code, same CA name), and the region CA's
// own publisher and member certificates. Each sends a vote request with a
// huge term, which would depose the leader if it were processed. A genuine
// replica certificate, through the same code path, gets answers before and
// after, with the leader's term unchanged.
func TestDrillForeignCAOverRaft(t *testing.T) {
	d := newDrill(t, nil)
	target := raft.ServerAddress(d.n.RaftAddr())
	load := func(dir string) tls.Certificate {
		c, _, err := pki.LoadCredentials(dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	genuine := load(filepath.Join(d.dir, "tls", "replica"))
	rogueCA, err := pki.NewCA("330000", "creditx region CA 330000", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := rogueCA.Issue(pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "d-2", Name: "replica d-2"}, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	// transport dials the node presenting cert; it does not check the
	// node's certificate, so that only the node's refusal can fail a call.
	transport := func(cert tls.Certificate) *raft.NetworkTransport {
		cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, NextProtos: []string{pki.PeerProtocol}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: pki.NewTLSStreamLayer(ln, nil, cfg, cfg),
			MaxPool: 1, Timeout: 5 * time.Second, Logger: hclog.NewNullLogger()})
		t.Cleanup(func() { tr.Close() })
		return tr
	}
	// A stale heartbeat (term 0) is harmless; the answer carries the term.
	term := func() uint64 {
		t.Helper()
		tr := transport(genuine)
		var resp raft.AppendEntriesResponse
		req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("d-1"), Addr: []byte(tr.LocalAddr())}, Term: 0}
		if err := tr.AppendEntries("d-1", target, req, &resp); err != nil {
			t.Fatalf("genuine replica certificate: %v (the drill cannot reach the raft transport)", err)
		}
		if resp.Term == 0 || resp.Success {
			t.Fatalf("genuine replica certificate: answer %+v, want a refusal carrying the leader's term", resp)
		}
		return resp.Term
	}
	before := term()
	for _, c := range []struct {
		name string
		cert tls.Certificate
	}{
		{"replica certificate from a foreign CA", rogue},
		{"publisher certificate from the region CA", load(filepath.Join(d.dir, "agencies", "publisher"))},
		{"member certificate from the region CA", load(filepath.Join(d.dir, "agencies", "member"))},
	} {
		tr := transport(c.cert)
		var resp raft.RequestVoteResponse
		req := &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("d-2"), Addr: []byte(tr.LocalAddr())},
			Term: 1 << 40, LastLogIndex: 1 << 40, LastLogTerm: 1 << 40}
		err := tr.RequestVote("d-2", target, req, &resp)
		if err == nil {
			t.Errorf("%s: the raft transport answered a vote request (granted %v, term %d)", c.name, resp.Granted, resp.Term)
			continue
		}
		t.Logf("%s refused: %v", c.name, err)
	}
	if after := term(); after != before {
		t.Fatalf("leader's term moved from %d to %d: a refused peer's vote request was processed", before, after)
	}
	if !d.n.IsLeader() {
		t.Fatal("the node lost leadership")
	}
}

// submitErr returns the node's answer to a refused submission.
func submitErr(t *testing.T, err error) *client.SubmitError {
	t.Helper()
	var se *client.SubmitError
	if !errors.As(err, &se) {
		t.Fatalf("want a refusal from the node, got %v", err)
	}
	return se
}

// TestDrillRevokedAgencyKey: a registered agency key publishes; once a
// governance record revokes it, the next record it signs is refused with 403
// naming the key and the revocation, and nothing is appended; the agency's
// other key still publishes. After a restart (keyring rebuilt from the
// ledger) the revoked key is still refused, and replaying an accepted record
// (also one the revoked key signed before its revocation) returns its
// original index without appending.
func TestDrillRevokedAgencyKey(t *testing.T) {
	d := newDrill(t, nil)
	ctx := context.Background()
	pub := d.creds["publisher"]
	k2 := d.rotatedKey()
	e1 := d.signed(1, k2, nil)
	first, err := k2.Submit(ctx, d.url, e1)
	if err != nil {
		t.Fatalf("registered key: %v", err)
	}
	if first[0].Duplicate {
		t.Fatal("first record marked duplicate")
	}
	rev := d.revoke(k2)
	refused := func(when string) {
		t.Helper()
		before := d.size()
		_, err := k2.Submit(ctx, d.url, d.signed(2, k2, nil))
		se := submitErr(t, err)
		if se.Status != http.StatusForbidden || len(se.Body.Errors) != 1 || se.Body.Errors[0].Field != "key" ||
			!strings.Contains(se.Body.Errors[0].Message, "revoked") || !strings.Contains(se.Body.Errors[0].Message, keyID(k2)) {
			t.Fatalf("%s: record signed by the revoked key: %v; want 403 on field key naming the key and its revocation", when, err)
		}
		if after := d.size(); after != before {
			t.Fatalf("%s: ledger grew from %d to %d on a refused record", when, before, after)
		}
	}
	refused("after the revocation")
	third := d.signed(3, pub, nil)
	other, err := pub.Submit(ctx, d.url, third)
	if err != nil {
		t.Fatalf("the agency's other key after the revocation of %s: %v", keyID(k2), err)
	}
	if other[0].Index <= rev {
		t.Fatalf("record at %d, before the revocation at %d", other[0].Index, rev)
	}

	d.restart()
	refused("after a restart")
	size := d.size()
	again, err := pub.Submit(ctx, d.url, third)
	if err != nil {
		t.Fatalf("replay after a restart: %v", err)
	}
	if !again[0].Duplicate || again[0].Index != other[0].Index || again[0].LeafHash != other[0].LeafHash {
		t.Fatalf("replay after a restart: receipt %+v, want duplicate at %d", again[0], other[0].Index)
	}
	if d.size() != size {
		t.Fatal("replay after a restart appended")
	}
	// A record the key signed while it was valid stays acknowledged: its
	// replay answers with the original receipt, not a 403.
	old, err := k2.Submit(ctx, d.url, e1)
	if err != nil {
		t.Fatalf("replay of a record signed before the revocation: %v", err)
	}
	if !old[0].Duplicate || old[0].Index != first[0].Index {
		t.Fatalf("replay of a record signed before the revocation: receipt %+v, want duplicate at %d", old[0], first[0].Index)
	}
	if d.size() != size {
		t.Fatal("replay of a pre-revocation record appended")
	}
}

// TestDrillRevocationRace: while four clients submit records signed by an
// agency key as fast as the node takes them (a stolen key being abused), the
// credit office revokes the key. No record signed by that key may be
// acknowledged at or after the revocation's index, and the ledger as every
// mirror verifies it must not hold one there: a mirror refuses such an
// entry (schemas.Keyring.Lookup), which would stop the member's replication
// for good.
func TestDrillRevocationRace(t *testing.T) {
	d := newDrill(t, func(c *node.Config) { c.RateLimit = node.RateLimitConfig{PerSecond: -1, PublicPerSecond: -1} })
	k2 := d.rotatedKey()
	kid := keyID(k2)
	var stop atomic.Bool
	var seq atomic.Uint64
	seq.Store(1000)
	var mu sync.Mutex
	var acked []uint64
	var refused, failed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				rs, err := k2.Submit(context.Background(), d.url, d.signed(seq.Add(1), k2, nil))
				var se *client.SubmitError
				switch {
				case err == nil:
					mu.Lock()
					acked = append(acked, rs[0].Index)
					mu.Unlock()
				case errors.As(err, &se) && se.Status == http.StatusForbidden:
					refused.Add(1)
				default:
					failed.Add(1)
					t.Logf("submission failed: %v", err)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	rev := d.revoke(k2)
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("revoked at %d; %d records acknowledged, %d refused, %d failed", rev, len(acked), refused.Load(), failed.Load())
	if len(acked) == 0 || refused.Load() == 0 {
		t.Fatalf("the drill did not race: %d acknowledged, %d refused", len(acked), refused.Load())
	}
	for _, idx := range acked {
		if idx >= rev {
			t.Errorf("record signed by key %s acknowledged at %d, after its revocation at %d", kid, idx, rev)
		}
	}
	for i, e := range d.entries() {
		s, err := schemas.ParseSigned(e)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if s.KeyID == kid && uint64(i) >= rev {
			t.Errorf("ledger entry %d is signed by key %s, revoked at %d: every mirror refuses the ledger from here on", i, kid, rev)
		}
	}
}

// TestDrillMalformedRequests: malformed, deeply nested and over-counted
// requests each get a 4xx whose error names what is wrong (the field, rule or
// parameter), within a deadline, and write nothing; a body of millions of
// tiny objects costs the node a bounded amount of memory.
func TestDrillMalformedRequests(t *testing.T) {
	d := newDrill(t, nil)
	good := d.signed(1, d.creds["publisher"], nil)
	deepArray := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	// deeper than encoding/json's limit (10000), within the 64 KiB record limit
	deepRecord := `{"key":"x","record":` + strings.Repeat(`{"a":`, 10_500) + "1" + strings.Repeat("}", 10_500) + `,"sig":"x"}`
	batch := func(n int, obj string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(obj+",", n), ",") + "]"
	}
	cases := []struct {
		name, role, method, path, body string
		status                         int
		mention                        string // must appear in the error answer
		maxAlloc                       uint64 // if set, bytes this process may allocate while the request is handled
	}{
		{"truncated JSON", "publisher", "POST", "/v1/records", `[{"key":`, 400, `"rule": "json"`, 0},
		{"deeply nested array", "publisher", "POST", "/v1/records", deepArray, 400, `"rule": "json"`, 0},
		{"deeply nested record", "publisher", "POST", "/v1/records", deepRecord, 400, `"rule": "envelope"`, 0},
		{"trailing garbage", "publisher", "POST", "/v1/records", string(good) + "garbage", 400, `"rule": "envelope"`, 0},
		{"invalid UTF-8", "publisher", "POST", "/v1/records", strings.Replace(string(good), "合成", "\xff\xfe", 1), 400, `"rule": "envelope"`, 0},
		{"record is not an object", "publisher", "POST", "/v1/records", `{"key":"x","record":"listing","sig":"x"}`, 400, `"rule": "envelope"`, 0},
		{"1001 records", "publisher", "POST", "/v1/records", batch(1001, string(good)), 413, `"rule": "max_batch"`, 0},
		{"2 million empty objects (6 MB)", "publisher", "POST", "/v1/records", batch(2_000_000, "{}"), 413, `"rule": "max_batch"`, 64 << 20},
		{"batch check: deeply nested", "executor", "POST", "/v1/check", deepArray, 400, "malformed batch check", 0},
		{"batch check: unknown field", "executor", "POST", "/v1/check", `{"subjects":["91350100M000100Y43"],"acton":"land"}`, 400, "acton", 0},
		{"batch check: 1001 subjects", "executor", "POST", "/v1/check", `{"subjects":[` + strings.TrimSuffix(strings.Repeat(`"91350100M000100Y43",`, 1001), ",") + `]}`, 400, "subjects", 0},
		{"batch check: bad subject", "executor", "POST", "/v1/check", `{"subjects":["91350100M000100Y43","nobody"]}`, 400, `"field": "subjects"`, 0},
		{"batch check: body over 1 MiB", "executor", "POST", "/v1/check", `{"subjects":["` + strings.Repeat("9", 2<<20) + `"]}`, 400, "malformed batch check", 0},
		{"index overflows uint64", "executor", "GET", "/v1/records/330000/99999999999999999999999", "", 400, "index", 0},
		{"check: 8 KB subject", "executor", "GET", "/v1/check?subject=" + strings.Repeat("9", 8<<10), "", 400, "subject", 0},
		{"check: bad time", "executor", "GET", "/v1/check?subject=91350100M000100Y43&at=yesterday", "", 400, "at:", 0},
		{"notices: bad wait", "executor", "GET", "/v1/notices?wait=forever", "", 400, "wait", 0},
		{"subject: not an identifier", "auditor", "GET", "/v1/subjects/" + strings.Repeat("x", 4096), "", 400, "subject", 0},
	}
	before := d.size()
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, err := http.NewRequestWithContext(ctx, c.method, d.url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		resp, err := d.creds[c.role].Client.Do(req)
		runtime.ReadMemStats(&m1)
		if err != nil {
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: no answer within 30 s", c.name)
			} else {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		if resp.StatusCode != c.status || !bytes.Contains(b, []byte(c.mention)) {
			t.Errorf("%s: %d %.300s; want %d mentioning %s", c.name, resp.StatusCode, b, c.status, c.mention)
		}
		// The node runs in this process: what it allocates is counted here.
		if alloc := m1.TotalAlloc - m0.TotalAlloc; c.maxAlloc > 0 && alloc > c.maxAlloc {
			t.Errorf("%s: %d MiB allocated for a %d MiB request, want at most %d MiB", c.name, alloc>>20, len(c.body)>>20, c.maxAlloc>>20)
		}
	}
	if after := d.size(); after != before {
		t.Fatalf("ledger grew from %d to %d", before, after)
	}
}
