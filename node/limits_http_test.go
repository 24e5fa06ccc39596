package node_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/node"
)

// TestSlowReaderIsCut: a client that sends requests for large answers and
// never reads them (issue 11 item 7: 20 such readers held connections past
// 150 s) has its connection closed once the per-route write deadline
// passes, instead of holding it until it resumes reading.
func TestSlowReaderIsCut(t *testing.T) {
	rn := runNodeWith(t, 2, func(c *node.Config) {
		c.Timeouts.Write = time.Second
		c.RateLimit.TilesPerSecond = -1
	})
	code := strings.TrimSuffix(strings.TrimPrefix(rn.n.Origin(), "creditx."), "/ledger")
	path := fmt.Sprintf("/ledger/%s/tile/entries/000.p/%d", code, rn.size)
	resp, err := rn.aud.Client.Get(rn.n.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("bundle: %d, %d bytes", resp.StatusCode, len(body))
	}
	requests := 1 + (32<<20)/len(body) // 32 MiB of answers: far beyond socket buffers

	tc := rn.aud.Client.Transport.(*http.Transport).TLSClientConfig.Clone()
	tc.NextProtos = []string{"http/1.1"} // pipelining
	tc.ServerName = "127.0.0.1"
	raw, err := net.Dial("tcp", rn.n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.TCPConn).SetReadBuffer(4096)
	conn := tls.Client(raw, tc)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	go func() {
		req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
		conn.Write([]byte(strings.Repeat(req, requests)))
	}()
	time.Sleep(4 * time.Second) // never read, well past the 1s write deadline

	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	complete := 0
	var rerr error
	for complete < requests {
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			rerr = err
			break
		}
		complete++
	}
	if complete == requests {
		t.Fatalf("all %d answers delivered to a client that did not read for 4s: the connection was held, not cut", requests)
	}
	if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
		t.Fatalf("after %d answers the connection hung until our read deadline: not closed by the server", complete)
	}
	t.Logf("%d of %d answers before the server cut the connection (%v) after %v", complete, requests, rerr, time.Since(start))
}
