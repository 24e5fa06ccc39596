// Package opsmetrics holds the region replica's Prometheus collectors: the
// counters and histograms package node updates as it serves and applies
// ([Metrics]), the HTTP middleware that counts every request by route
// ([Metrics.Instrument]), and the gauges computed at each scrape from what
// the node reports through a small interface ([Source], [OpsSource]).
//
// Every metric is named creditx_<name> (the metric names are an interface
// to operators' dashboards and deploy/alerts.yml: changing one breaks
// them). Registration is the caller's: node.Metrics returns the
// collectors, main registers them.
//
// # Failures
//
// Nothing here returns an error. A gauge whose source fails at a scrape is
// NaN (ledger size) or left out of that scrape (the ops gauges), never
// reported as 0.
package opsmetrics

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the node's counters and histograms. The fields are fixed
// after New; package node updates them.
type Metrics struct {
	Requests          *prometheus.CounterVec   // creditx_http_requests_total{route,status} (Instrument)
	Latency           *prometheus.HistogramVec // creditx_http_request_seconds{route} (Instrument)
	Accepted          prometheus.Counter       // records acknowledged as durable and checkpointed
	Rejected          *prometheus.CounterVec   // records rejected at admission, by HTTP status
	ApplyLatency      prometheus.Histogram     // raft Apply to applied and checkpointed, on the leader
	AccessLogged      prometheus.Counter       // reads of personal data recorded in the access log
	RestrictedBundles *prometheus.CounterVec   // reads of non-public entry bundles, by role
}

// New returns fresh, unregistered metrics.
func New() *Metrics {
	return &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "creditx", Name: "http_request_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"}),
		Accepted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "creditx", Name: "records_accepted_total",
			Help: "Records acknowledged as durable and checkpointed."}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "records_rejected_total",
			Help: "Records rejected at admission, by HTTP status."}, []string{"status"}),
		ApplyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "creditx", Name: "raft_apply_seconds",
			Help: "Time from raft Apply to applied and checkpointed on the leader.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		AccessLogged: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "creditx", Name: "personal_data_reads_logged_total",
			Help: "Reads of personal data recorded in the access log."}),
		RestrictedBundles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "creditx", Name: "restricted_bundle_reads_total",
			Help: "Reads of entry bundles holding non-public records, by the reader's role."}, []string{"role"}),
	}
}

// Source is what the replica's own gauges read at each scrape.
type Source interface {
	// LedgerSize is the number of entries of the region's own ledger on
	// this replica (as applied here).
	LedgerSize() (uint64, error)
	// IsLeader reports whether this replica leads the region's raft cluster.
	IsLeader() bool
}

// Collectors returns m's collectors and the gauges creditx_ledger_size and
// creditx_raft_is_leader over src.
func (m *Metrics) Collectors(src Source) []prometheus.Collector {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "creditx", Name: "ledger_size",
		Help: "Entries in the region's own ledger on this replica."}, func() float64 {
		s, err := src.LedgerSize()
		if err != nil {
			return math.NaN() // unknown, not zero
		}
		return float64(s)
	})
	leader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "creditx", Name: "raft_is_leader",
		Help: "1 if this replica leads the region's raft cluster."}, func() float64 {
		if src.IsLeader() {
			return 1
		}
		return 0
	})
	return []prometheus.Collector{m.Requests, m.Latency, m.Accepted, m.Rejected, m.ApplyLatency, m.AccessLogged, m.RestrictedBundles, size, leader}
}

// StatusWriter is an http.ResponseWriter that remembers the status written.
type StatusWriter struct {
	http.ResponseWriter
	Status int // 200 until WriteHeader is called
}

func (w *StatusWriter) WriteHeader(s int) { w.Status = s; w.ResponseWriter.WriteHeader(s) }

// Unwrap lets http.ResponseController reach the connection (per-route write
// deadlines, node's limits.go).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *StatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Instrument counts requests by the mux pattern that served them; requests
// refused by the rate limit before routing count as route "rate_limited".
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w, Status: 200}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		switch {
		case route == "" && sw.Status == http.StatusTooManyRequests:
			route = "rate_limited"
		case route == "":
			route = "unmatched"
		}
		m.Requests.WithLabelValues(route, strconv.Itoa(sw.Status)).Inc()
		m.Latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
