package exchange

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/quic-go/quic-go/http3"
)

// gzipRT answers every request with answer, gzipped when the request asks
// for gzip (as tileserve does for entry bundles), and records whether it
// did.
type gzipRT struct {
	answer, gz []byte
	asked      bool
}

func (g *gzipRT) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	body := g.answer
	if g.asked = r.Header.Get("Accept-Encoding") == "gzip"; g.asked {
		h.Set("Content-Encoding", "gzip")
		body = g.gz
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// TestAnswersReadWithKeptReaders: a client asks for gzip, decodes the
// answer itself, and with the runtime's kept buffers and gzip readers an
// answer costs about its decoded size in allocations, where io.ReadAll
// and a gzip reader per answer cost over twice that (issue 20: 370 MB of
// the 4.3 GB allocated in a 45-member convergence).
func TestAnswersReadWithKeptReaders(t *testing.T) {
	answer := bytes.Repeat([]byte("\x01\x00an entry of a bundle, "), 3000) // ~72 KB
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(answer)
	zw.Close()
	rt := &gzipRT{answer: answer, gz: gz.Bytes()}
	m := parsed(t, testManifest(t, "310000", "320000", "330000"))
	mb, _ := m.Member("310000")
	c := &Client{mb: mb, tr: &http3.Transport{}, hc: &http.Client{Transport: rt}, answers: &answerReaders{}}
	get := func() {
		t.Helper()
		_, b, err := c.do(context.Background(), http.MethodGet, "/ledger/310000/tile/entries/000", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, answer) {
			t.Fatalf("answer of %d bytes, want the %d sent", len(b), len(answer))
		}
	}
	get()
	if !rt.asked {
		t.Fatal("the client did not ask for gzip")
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const n = 20
	for range n {
		get()
	}
	runtime.ReadMemStats(&m1)
	if per, most := (m1.TotalAlloc-m0.TotalAlloc)/n, uint64(len(answer))+16<<10; per > most {
		t.Errorf("%d bytes allocated per answer of %d, want at most %d", per, len(answer), most)
	}
	// Without kept readers (a nil *answerReaders): the same answer.
	c.answers = nil
	get()
}
