package httpx

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/testpki"
	"github.com/quic-go/quic-go/http3"
)

// TestHoldDeliversPastWrite: a long poll's handler that moves its write
// deadline past its wait (Hold) delivers an answer written after the
// route's write timeout, over HTTP/2 and over HTTP/3 (the API's
// transports, whose response writers both take the deadline through
// http.ResponseController); without Hold the same answer is lost on both,
// so the deadline is in force there and Hold is what lifts it.
func TestHoldDeliversPastWrite(t *testing.T) {
	const write, hold = 200 * time.Millisecond, 700 * time.Millisecond
	c := Timeouts{Write: write}
	h := c.WithDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hold") {
			c.Hold(w, hold)
		}
		time.Sleep(hold) // held: nothing written meanwhile
		io.WriteString(w, "answer")
	}))
	cert := testpki.ServerCert(t)

	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	h2.StartTLS()
	defer h2.Close()

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h3 := &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
	go h3.Serve(udp)
	defer func() { h3.Close(); udp.Close() }()
	tr3 := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr3.Close()

	for _, tc := range []struct {
		proto string
		major int
		url   string
		hc    *http.Client
	}{
		{"HTTP/2", 2, h2.URL, h2.Client()},
		{"HTTP/3", 3, "https://" + udp.LocalAddr().String(), &http.Client{Transport: tr3}},
	} {
		tc.hc.Timeout = 5 * time.Second
		get := func(q string) (string, error) {
			resp, err := tc.hc.Get(tc.url + "/poll" + q)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != tc.major {
				t.Fatalf("%s: answered over %s", tc.proto, resp.Proto)
			}
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
		start := time.Now()
		if got, err := get("?hold"); got != "answer" || err != nil {
			t.Errorf("%s: held %v past a write timeout of %v with Hold: %q, %v; want the answer", tc.proto, hold, write, got, err)
		}
		if took := time.Since(start); took < hold {
			t.Errorf("%s: answered after %v, not held %v", tc.proto, took, hold)
		}
		got, err := get("")
		if got == "answer" && err == nil {
			t.Errorf("%s: held past the write timeout without Hold, the answer still came: the deadline is not in force", tc.proto)
		}
		t.Logf("%s without Hold: %q, %v", tc.proto, got, err)
	}
}
