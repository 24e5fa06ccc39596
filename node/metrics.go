package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/internal/opsmetrics"
	"github.com/creditx/creditx/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus collectors (package opsmetrics), under
// the names the node's files update them by; main registers them under the
// creditx_ namespace.
type metrics struct {
	all               *opsmetrics.Metrics
	accepted          prometheus.Counter
	rejected          *prometheus.CounterVec
	applyLatency      prometheus.Histogram
	accessLogged      prometheus.Counter
	restrictedBundles *prometheus.CounterVec // reads of non-public entry bundles by role (privacy.go)
}

func newMetrics() *metrics {
	m := opsmetrics.New()
	return &metrics{all: m, accepted: m.Accepted, rejected: m.Rejected, applyLatency: m.ApplyLatency,
		accessLogged: m.AccessLogged, restrictedBundles: m.RestrictedBundles}
}

func (m *metrics) collectors(n *Node) []prometheus.Collector {
	return m.all.Collectors(metricsSource{n})
}

// instrument counts requests by route (opsmetrics.Metrics.Instrument).
func (m *metrics) instrument(h http.Handler) http.Handler { return m.all.Instrument(h) }

// newOpsCollector is the operator's gauges over n (opsmetrics.OpsCollector).
func newOpsCollector(n *Node) prometheus.Collector {
	return opsmetrics.NewOpsCollector(metricsSource{n})
}

// metricsSource is the node as opsmetrics.Source and OpsSource (IsLeader
// and ExchangeStatus are the node's own).
type metricsSource struct{ *Node }

func (s metricsSource) LedgerSize() (uint64, error) {
	var size uint64
	err := s.fsm.view(func(tx *ledger.ReadTx) error { size = tx.Log(s.origin).Size(); return nil })
	return size, err
}

func (s metricsSource) Notices(at time.Time) ([]NoticeView, error) { return s.notices(nil, at) }

func (s metricsSource) AccessLog() (size uint64, witnessed []byte, err error) {
	err = s.fsm.view(func(tx *ledger.ReadTx) error {
		size, witnessed = tx.Log(s.access).Size(), s.witnessedCheckpoint(tx, s.origin)
		return nil
	})
	return size, witnessed, err
}
