package node

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus collectors; main registers them under
// the creditx_ namespace.
type metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	accepted     prometheus.Counter
	rejected     *prometheus.CounterVec
	applyLatency prometheus.Histogram
	accessLogged prometheus.Counter
	// restrictedBundles counts reads of non-public entry bundles by role (privacy.go).
	restrictedBundles *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "creditx", Name: "http_request_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "creditx", Name: "records_accepted_total",
			Help: "Records acknowledged as durable and checkpointed."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "records_rejected_total",
			Help: "Records rejected at admission, by HTTP status."}, []string{"status"}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "creditx", Name: "raft_apply_seconds",
			Help: "Time from raft Apply to applied and checkpointed on the leader.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		accessLogged: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "creditx", Name: "personal_data_reads_logged_total",
			Help: "Reads of personal data recorded in the access log."}),
		restrictedBundles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "restricted_bundle_reads_total",
			Help: "Reads of entry bundles holding non-public records, by the reader's role."}, []string{"role"}),
	}
}

func (m *metrics) collectors(n *Node) []prometheus.Collector {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "creditx", Name: "ledger_size",
		Help: "Entries in the region's own ledger on this replica."}, func() float64 {
		var s uint64
		if err := n.fsm.view(func(tx *ledger.ReadTx) error { s = tx.Log(n.origin).Size(); return nil }); err != nil {
			return math.NaN() // unknown, not zero
		}
		return float64(s)
	})
	leader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "creditx", Name: "raft_is_leader",
		Help: "1 if this replica leads the region's raft cluster."}, func() float64 {
		if n.IsLeader() {
			return 1
		}
		return 0
	})
	return []prometheus.Collector{m.requests, m.latency, m.accepted, m.rejected, m.applyLatency, m.accessLogged, m.restrictedBundles, size, leader}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// Unwrap lets http.ResponseController reach the connection (per-route write
// deadlines, limits.go).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts requests by the mux pattern that served them; requests
// refused by the rate limit before routing count as route "rate_limited".
func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		switch {
		case route == "" && sw.status == http.StatusTooManyRequests:
			route = "rate_limited"
		case route == "":
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
