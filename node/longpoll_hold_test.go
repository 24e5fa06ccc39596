package node_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/quic-go/quic-go/http3"
)

// TestLongPollsOutliveWriteTimeout: with a write timeout shorter than
// their hold, the long polls still deliver their answers, over HTTP/2
// (the API's TLS listener) and over HTTP/3 (the exchange's UDP listener,
// the same handler): a member's ledger and loop checkpoint long-polls,
// GET /v1/changes and GET /v1/notices ?wait=. Each handler moves its write
// deadline past its wait once it knows it (httpx.Timeouts.Hold); with the
// route's write deadline alone the answer is lost on both transports
// (internal/httpx TestHoldDeliversPastWrite).
func TestLongPollsOutliveWriteTimeout(t *testing.T) {
	const write, hold = 300 * time.Millisecond, 1500 * time.Millisecond
	ms, m := startConsortiumCfg(t, append([]provision.MemberSpec(nil), deltaMembers[:3]...), nil, func(c *node.Config) {
		c.Sanctions.LoopLog = true
		c.Timeouts.Write = write
	})
	sh, zj := ms["310000"], ms["330000"]
	shm, _ := m.Member("310000")
	// Who asks: 330000's member certificate for the exchange's long-polls,
	// 310000's auditor and executing agency for the feeds; all trust
	// 310000's CA.
	roots := sh.creds["auditor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	memberTLS := &tls.Config{Certificates: []tls.Certificate{tlsCert(t, zj)}, RootCAs: roots}
	tlsOf := func(c *client.Credentials) *tls.Config {
		return c.Client.Transport.(*http.Transport).TLSClientConfig
	}
	exe := sh.agency(t, "executor")
	h2, h3 := sh.n.URL(), shm.Endpoint
	clients := func(tc *tls.Config) (c2, c3 *http.Client) {
		tc = tc.Clone()
		tc.ServerName = "127.0.0.1"
		t2 := &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: true}
		tc3 := tc.Clone()
		tc3.NextProtos = []string{http3.NextProtoH3}
		t3 := &http3.Transport{TLSClientConfig: tc3}
		t.Cleanup(func() { t2.CloseIdleConnections(); t3.Close() })
		return &http.Client{Transport: t2, Timeout: 10 * time.Second}, &http.Client{Transport: t3, Timeout: 10 * time.Second}
	}
	mem2, mem3 := clients(memberTLS)
	aud2, aud3 := clients(tlsOf(sh.creds["auditor"]))
	exe2, exe3 := clients(tlsOf(exe))
	// A listing: its notices give 310000's loop log a checkpoint.
	e, _ := sh.listing(t, 1)
	if _, err := sh.creds["publisher"].Submit(context.Background(), h2, e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "310000's loop log has a checkpoint", func() bool {
		status, _ := loopCheckpoint(t, sh, "310000")
		return status == 200
	})
	// The feeds' cursors at their end: a wait= read past them is held.
	next := func(hc *http.Client, url string) string {
		t.Helper()
		status, b := do(t, hc, "GET", url, nil)
		var p struct{ Next string }
		if status != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("GET %s: %d %s", url, status, b)
		}
		return p.Next
	}
	changes := next(aud2, h2+"/v1/changes")
	notices := next(exe2, h2+"/v1/notices")
	far := "1099511627776" // a size no log reaches: held for the whole wait
	wait := "&wait=" + hold.String()
	type poll struct {
		name, url string
		hc        *http.Client
		major     int
	}
	var polls []poll
	for _, p := range []struct {
		proto    string
		base     string
		mem, aud *http.Client
		exe      *http.Client
		major    int
	}{{"HTTP/2", h2, mem2, aud2, exe2, 2}, {"HTTP/3", h3, mem3, aud3, exe3, 3}} {
		polls = append(polls,
			poll{p.proto + " ledger checkpoint", p.base + "/ledger/310000/checkpoint?after=" + far + wait, p.mem, p.major},
			poll{p.proto + " loop checkpoint", p.base + "/loop/310000/checkpoint?after=" + far + "&proof=1" + wait, p.mem, p.major},
			poll{p.proto + " changes", p.base + "/v1/changes?since=" + changes + wait, p.aud, p.major},
			poll{p.proto + " notices", p.base + "/v1/notices?since=" + notices + wait, p.exe, p.major},
		)
	}
	var wg sync.WaitGroup
	for _, p := range polls {
		wg.Go(func() {
			start := time.Now()
			resp, err := p.hc.Get(p.url)
			if err != nil {
				t.Errorf("%s held %v with a write timeout of %v: %v", p.name, hold, write, err)
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			took := time.Since(start)
			switch {
			case err != nil || resp.StatusCode != http.StatusOK || len(b) == 0:
				t.Errorf("%s: %d, %d bytes (%v), want 200 with the answer", p.name, resp.StatusCode, len(b), err)
			case resp.ProtoMajor != p.major:
				t.Errorf("%s: answered over %s", p.name, resp.Proto)
			case took < hold-100*time.Millisecond:
				t.Errorf("%s: answered after %v, not held %v: %.200s", p.name, took, hold, b)
			case strings.Contains(p.name, "checkpoint") && !strings.HasPrefix(string(b), "creditx.310000/"):
				t.Errorf("%s: %q, want 310000's checkpoint", p.name, b)
			}
		})
	}
	wg.Wait()
}
