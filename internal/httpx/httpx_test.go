package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
)

func TestSplitBatch(t *testing.T) {
	for _, tc := range []struct {
		body   string
		n      int
		status int
	}{
		{`  {"a":1} `, 1, 0},
		{`[{"a":1}, {"b":[2]}]`, 2, 0},
		{``, 0, 400},
		{`[]`, 0, 400},
		{`[{"a":`, 0, 400},
		{`[{}, {}, {}]`, 0, 413},
	} {
		out, aerr := SplitBatch([]byte(tc.body), 2)
		if tc.status != 0 {
			if aerr == nil || aerr.Status != tc.status {
				t.Errorf("%q: got %v, want status %d", tc.body, aerr, tc.status)
			}
			continue
		}
		if aerr != nil || len(out) != tc.n {
			t.Errorf("%q: got %d records, %v", tc.body, len(out), aerr)
		}
	}
	out, _ := SplitBatch([]byte(`[{"a": 1} ,{"b":2}]`), 10)
	if string(out[0]) != `{"a": 1}` || string(out[1]) != `{"b":2}` {
		t.Errorf("records not as sent: %q", out)
	}
}

func TestReadBodyLimit(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 11)))
	if _, aerr := ReadBody(w, r, 10); aerr == nil || aerr.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("11 bytes over a limit of 10: %v", aerr)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("0123456789"))
	if b, aerr := ReadBody(w, r, 10); aerr != nil || len(b) != 10 {
		t.Fatalf("10 bytes: %q, %v", b, aerr)
	}
}

// TestReadBodyDeclaredLength: the body is read whole whatever length the
// request declares (ReadBody sizes its buffer from it), and the limit holds.
func TestReadBodyDeclaredLength(t *testing.T) {
	body := strings.Repeat("y", 3000)
	for _, declared := range []int64{-1, 0, 1, 2999, 3000, 3001, 100000} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.ContentLength = declared
		b, aerr := ReadBody(httptest.NewRecorder(), r, 4000)
		if aerr != nil || string(b) != body {
			t.Errorf("declared %d: %d bytes, %v", declared, len(b), aerr)
		}
		r = httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.ContentLength = declared
		if _, aerr := ReadBody(httptest.NewRecorder(), r, 2000); aerr == nil || aerr.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("declared %d, 3000 bytes over a limit of 2000: %v", declared, aerr)
		}
	}
}

func TestRequirePublic(t *testing.T) {
	w := httptest.NewRecorder()
	if _, ok := Require(w, httptest.NewRequest("GET", "/v1/x", nil)); ok || w.Code != http.StatusUnauthorized {
		t.Fatalf("no client certificate: ok=%v, %d", ok, w.Code)
	}
	var e api.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
}

func TestReadErrorHidesInternals(t *testing.T) {
	var log bytes.Buffer
	l := slog.New(slog.NewTextHandler(&log, nil))
	for _, tc := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("bbolt: /data/ledger.db page 7: %w", ledger.ErrDamaged), 500},
		{fmt.Errorf("ledger: entry 9: %w", ledger.ErrNotFound), 404},
		{errors.New("bbolt: /data/ledger.db: disk I/O"), 500},
	} {
		e := ReadError(l, "record x/9", tc.err)
		if e.Status != tc.status || strings.Contains(e.Error, "bbolt") || strings.Contains(e.Error, "ledger:") {
			t.Errorf("%v: %d %q", tc.err, e.Status, e.Error)
		}
	}
	if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), "disk I/O") {
		t.Errorf("damage and failures not logged: %s", log.String())
	}
	if e := TilePathError("tile/x", errors.New("ledger: bad tile path: bad level")); strings.Contains(e.Error, "ledger:") || e.Status != 400 {
		t.Errorf("tile path error: %+v", e)
	}
}

func TestTimeouts(t *testing.T) {
	s := Timeouts{Write: 2 * time.Second}.Server(http.NotFoundHandler())
	if s.ReadHeaderTimeout != 10*time.Second || s.IdleTimeout != time.Minute || s.WriteTimeout != MaxLongPoll+2*time.Second {
		t.Fatalf("server timeouts: %v %v %v", s.ReadHeaderTimeout, s.IdleTimeout, s.WriteTimeout)
	}
	h := Timeouts{}.WithDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	w := httptest.NewRecorder() // no deadline support: served anyway
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/notices?wait=1h", nil))
	if w.Body.String() != "ok" {
		t.Fatalf("got %q", w.Body)
	}
	w = httptest.NewRecorder()
	RefuseRate(w, "slow down")
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "slow down") {
		t.Fatalf("refuse: %d %s", w.Code, w.Body)
	}
}

func TestDecodeJSONAndParseAt(t *testing.T) {
	var v struct{ A int }
	if err := DecodeJSON(strings.NewReader(`{"A":1,"B":2}`), 100, &v); err == nil {
		t.Fatal("unknown field accepted")
	}
	if err := DecodeJSON(strings.NewReader(`{"A":1}`), 3, &v); err == nil {
		t.Fatal("body beyond the limit decoded")
	}
	if at, err := ParseAt("2026-01-02T03:04:05Z"); err != nil || at.Year() != 2026 {
		t.Fatalf("%v %v", at, err)
	}
	if _, err := ParseAt("yesterday"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("bad at: %v", err)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("x", 65)
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"short", "short"}, {long[:64], long[:64]}, {long, long[:64] + "…"},
	} {
		if got := Clip(c.in); got != c.want {
			t.Errorf("Clip(%d bytes) = %q, want %q", len(c.in), got, c.want)
		}
	}
}
