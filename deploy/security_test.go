package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node/nodetest"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// Security drills against a running node (a real HTTPS listener on
// loopback). drills_test.go has the others and the list of where each drill
// of issue 7 lives; foreign CA over QUIC is node TestExchangeRefusesForeignCA.

type drillNode struct {
	url   string
	dir   string
	creds map[string]*client.Credentials
}

func startDrillNode(t *testing.T) *drillNode {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "d-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := nodetest.Start(t, *cfgs[0])
	rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer rcancel()
	if err := n.SeedDev(rctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	d := &drillNode{url: n.URL(), dir: dir, creds: map[string]*client.Credentials{}}
	for _, name := range []string{"admin", "publisher", "auditor"} {
		if d.creds[name], err = client.LoadCredentials(filepath.Join(dir, "agencies", name)); err != nil {
			t.Fatal(err)
		}
		if d.creds[name].MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *drillNode) size(t *testing.T) uint64 {
	t.Helper()
	var st node.Status
	if err := d.creds["auditor"].Get(context.Background(), d.url+"/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	return st.Size
}

func (d *drillNode) listing(t *testing.T, i uint64) []byte {
	t.Helper()
	p := d.creds["publisher"]
	l, err := synth.Listing(i, synth.Options{Region: "330000", Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDrillForeignCAOverHTTPS: a publisher certificate for the right region
// and USCC, issued by a CA the node does not trust, writes nothing.
func TestDrillForeignCAOverHTTPS(t *testing.T) {
	d := startDrillNode(t)
	pub := d.creds["publisher"]
	ca, err := pki.NewCA("330000", "rogue CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pub.Identity, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := pub.Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	before := d.size(t)
	body := d.listing(t, 1)
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		check func(code int, err error) bool
	}{
		// Forced onto the server whatever CAs it asks for: the handshake fails.
		// In TLS 1.3 the client may learn it from the server's alert or, when
		// it was still writing the body, from the connection the server
		// closed: either way no answer comes back.
		{"forced", &tls.Config{RootCAs: roots, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogue, nil }},
			func(code int, err error) bool {
				return err != nil && code == 0 && (strings.Contains(err.Error(), "certificate") ||
					strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset"))
			}},
		// Offered normally, crypto/tls does not send it: the caller is the public (401).
		{"offered", &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{rogue}},
			func(code int, err error) bool { return err == nil && code == http.StatusUnauthorized }},
	} {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.cfg}}
		code := 0
		resp, err := c.Post(d.url+"/v1/records", "application/json", bytes.NewReader(body))
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		if !tc.check(code, err) {
			t.Errorf("%s: status %d, err %v", tc.name, code, err)
		}
	}
	if after := d.size(t); after != before {
		t.Fatalf("ledger grew from %d to %d under a foreign-CA certificate", before, after)
	}
}

// countingReader yields n bytes of '[' and counts how many were read.
type countingReader struct {
	n, read int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > r.n-r.read {
		k = r.n - r.read
	}
	for i := range p[:k] {
		p[i] = '['
	}
	atomic.AddInt64(&r.read, k)
	return int(k), nil
}

// TestDrillHugeBody: a 100 MB body is refused after at most the configured
// limit (8 MiB) plus transport buffers has been read, quickly, for an
// authorised publisher as for the public.
func TestDrillHugeBody(t *testing.T) {
	d := startDrillNode(t)
	before := d.size(t)
	pubRoots := d.creds["publisher"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	for _, tc := range []struct {
		name   string
		client *http.Client
		want   int
	}{
		{"publisher", d.creds["publisher"].Client, http.StatusRequestEntityTooLarge},
		{"public", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pubRoots}}}, http.StatusUnauthorized},
	} {
		r := &countingReader{n: 100 << 20}
		req, _ := http.NewRequest("POST", d.url+"/v1/records", r)
		req.ContentLength = r.n
		start := time.Now()
		resp, err := tc.client.Do(req)
		elapsed := time.Since(start)
		code := 0
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		read := atomic.LoadInt64(&r.read)
		t.Logf("%s: 100 MiB body: status %d (err %v) after %v; %.1f MiB left the client", tc.name, code, err, elapsed.Round(time.Millisecond), float64(read)/(1<<20))
		// The server may close the connection while the client still
		// writes; then the client sees a write error instead of the status.
		if err == nil && code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
		if read > 12<<20 {
			t.Errorf("%s: %d MiB of the body were consumed, the limit is 8 MiB", tc.name, read>>20)
		}
		if elapsed > 10*time.Second {
			t.Errorf("%s: refusing took %v", tc.name, elapsed)
		}
	}
	if after := d.size(t); after != before {
		t.Fatalf("ledger grew from %d to %d", before, after)
	}
}

// TestDrillSlowHeaders: a slowloris client trickling its request headers is
// cut off by the server's header timeout (10 s), not held forever.
func TestDrillSlowHeaders(t *testing.T) {
	d := startDrillNode(t)
	roots := d.creds["publisher"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.url, "https://"), &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /v1/records HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		br := bufio.NewReader(conn)
		for {
			if _, err := br.ReadByte(); err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case el := <-closed:
			if el < 9*time.Second {
				t.Fatalf("connection closed after %v, before the 10 s header timeout: something else cut it", el)
			}
			t.Logf("slow-header client cut off after %v", el.Round(100*time.Millisecond))
			return
		case <-tick.C:
			if time.Since(start) > 20*time.Second {
				t.Fatal("slow-header client still connected after 20 s")
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.Write([]byte("a")) // errors once the server closed: the reader reports it
		}
	}
}

// TestDrillConcurrentReplay: the same signed record submitted 8 times at
// once (a client retrying in a panic) lands once, at one index.
func TestDrillConcurrentReplay(t *testing.T) {
	d := startDrillNode(t)
	e := d.listing(t, 42)
	var wg sync.WaitGroup
	var mu sync.Mutex
	idx := map[uint64]int{}
	fresh := 0
	var errs []error
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := d.creds["publisher"].Submit(context.Background(), d.url, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			idx[rs[0].Index]++
			if !rs[0].Duplicate {
				fresh++
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(idx) != 1 || fresh > 1 {
		t.Fatalf("8 concurrent submissions of one record: indexes %v, %d not marked duplicate; want one index, at most one fresh", idx, fresh)
	}
}
