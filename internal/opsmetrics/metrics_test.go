package opsmetrics

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

type fakeSource struct {
	size    uint64
	err     error
	leader  bool
	st      *exchange.Status
	notices []api.NoticeView
	cp      []byte
}

func (f fakeSource) LedgerSize() (uint64, error)                 { return f.size, f.err }
func (f fakeSource) IsLeader() bool                              { return f.leader }
func (f fakeSource) ExchangeStatus() (*exchange.Status, error)   { return f.st, f.err }
func (f fakeSource) Notices(time.Time) ([]api.NoticeView, error) { return f.notices, f.err }
func (f fakeSource) AccessLog() (uint64, []byte, error)          { return f.size, f.cp, f.err }

// cosigLine is a tlog-cosignature/v1 line by name at ts (key hash and
// signature zero).
func cosigLine(name string, ts time.Time) string {
	raw := make([]byte, 4+8+64)
	binary.BigEndian.PutUint64(raw[4:12], uint64(ts.Unix()))
	return "\u2014 " + name + " " + base64.StdEncoding.EncodeToString(raw)
}

// TestCosignatureTimes keeps the newest time per witness and skips the
// log's own signature.
func TestCosignatureTimes(t *testing.T) {
	t1, t2 := time.Unix(1_700_000_000, 0), time.Unix(1_700_000_100, 0)
	own := "\u2014 log " + base64.StdEncoding.EncodeToString(make([]byte, 68))
	note := "origin\n5\nhash\n\n" + strings.Join([]string{own, cosigLine("w1", t1), cosigLine("w1", t2), cosigLine("w2", t1)}, "\n") + "\n"
	got := CosignatureTimes([]byte(note))
	if len(got) != 2 || !got["w1"].Equal(t2) || !got["w2"].Equal(t1) {
		t.Errorf("CosignatureTimes = %v", got)
	}
	if got := CosignatureTimes([]byte("no signatures")); len(got) != 0 {
		t.Errorf("CosignatureTimes(unsigned) = %v", got)
	}
}

// gather collects cs into "name{label=value,...}" -> value.
func gather(t *testing.T, cs ...prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			k := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[k] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[k] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[k] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// TestOpsCollector: every gauge under its name; a failing source leaves
// its series out.
func TestOpsCollector(t *testing.T) {
	n := func(state, agency string) api.NoticeView {
		v := api.NoticeView{State: state, Notice: &schemas.SanctionNotice{}}
		v.Notice.ExecutingAgency.USCC = agency
		return v
	}
	src := fakeSource{size: 7,
		st:      &exchange.Status{Size: 10, Witnessed: 8, Alerts: 1, Mirrors: []exchange.MirrorStatus{{Origin: "m", Size: 3, Checkpoint: 5}}},
		notices: []api.NoticeView{n("pending", "A"), n("pending", "A"), n("overdue", "B"), n("answered", "A")},
		cp:      []byte("o\n1\nh\n\n" + cosigLine("w", time.Now()) + "\n")}
	got := gather(t, NewOpsCollector(src))
	for k, want := range map[string]float64{
		"creditx_access_log_size{}":               7,
		"creditx_exchange_alerts{}":               1,
		"creditx_ledger_unwitnessed_entries{}":    2,
		"creditx_mirror_behind_entries{origin=m}": 2,
		"creditx_mirror_stopped{origin=m}":        0,
		"creditx_mirror_witnessed{origin=m}":      0,
		"creditx_notices{agency=A,state=pending}": 2,
		"creditx_notices{agency=B,state=overdue}": 1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if age, ok := got["creditx_witness_cosignature_age_seconds{witness=w}"]; !ok || age < 0 || age > 60 {
		t.Errorf("cosignature age = %v (present %v)", age, ok)
	}
	if len(got) != 9 {
		t.Errorf("%d series, want 9: %v", len(got), got)
	}
	if got := gather(t, NewOpsCollector(fakeSource{err: errors.New("down")})); len(got) != 0 {
		t.Errorf("failing source: %v, want no series", got)
	}
}

// TestCollectors: the ledger size is NaN, not 0, when it cannot be read.
func TestCollectors(t *testing.T) {
	got := gather(t, New().Collectors(fakeSource{err: errors.New("down"), leader: true})...)
	if !math.IsNaN(got["creditx_ledger_size{}"]) || got["creditx_raft_is_leader{}"] != 1 {
		t.Errorf("gauges = %v", got)
	}
}

// TestInstrument labels requests by route pattern, and unrouted 429s as
// rate_limited.
func TestInstrument(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/limited" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	for _, p := range []string{"/x", "/limited", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	got := gather(t, m.Requests, m.Latency)
	for _, k := range []string{"creditx_http_requests_total{route=GET /x,status=418}", "creditx_http_requests_total{route=rate_limited,status=429}",
		"creditx_http_requests_total{route=unmatched,status=404}", "creditx_http_request_seconds{route=GET /x}"} {
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1 (all: %v)", k, got[k], got)
		}
	}
}
