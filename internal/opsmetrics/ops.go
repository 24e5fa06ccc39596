package opsmetrics

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/prometheus/client_golang/prometheus"
)

// OpsSource is what the operator's gauges read at each scrape.
type OpsSource interface {
	// ExchangeStatus is the exchange's state on this replica (nil, nil if
	// the node is no exchange member).
	ExchangeStatus() (*exchange.Status, error)
	// Notices are the sanction notices this region issued, with their
	// state at instant at (reads the whole notice index).
	Notices(at time.Time) ([]api.NoticeView, error)
	// AccessLog is the size of the access log and the newest own
	// checkpoint stored with a witness quorum (nil if none), as applied on
	// this replica.
	AccessLog() (size uint64, witnessed []byte, err error)
}

// OpsCollector computes, at each scrape, the gauges an operator is paged
// about: how far each mirror and the own ledger's witnessing lag, alerts
// raised, sanction notices pending and overdue per executing agency, and the
// access log's size. deploy/alerts.yml has example rules over them; the check
// rate and latency are creditx_http_request_seconds{route="POST /v1/check"}.
//
// A scrape reads the notice index once (cost grows with the notices held);
// failures to read leave the series out of that scrape rather than report 0.
type OpsCollector struct {
	src OpsSource

	mirrorBehind, mirrorStopped, mirrorWitnessed *prometheus.Desc
	ownUnwitnessed, alerts, notices, accessSize  *prometheus.Desc
	cosigAge                                     *prometheus.Desc
}

// NewOpsCollector returns the collector over src.
func NewOpsCollector(src OpsSource) *OpsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("creditx_"+name, help, labels, nil)
	}
	return &OpsCollector{src: src,
		mirrorBehind: d("mirror_behind_entries",
			"Entries of a mirrored member's verified checkpoint not yet verified and stored here.", "origin"),
		mirrorStopped: d("mirror_stopped",
			"1 if mirroring of the member stopped on an alert (needs an operator).", "origin"),
		mirrorWitnessed: d("mirror_witnessed",
			"1 if the stored checkpoint of the mirrored member carries a witness quorum.", "origin"),
		ownUnwitnessed: d("ledger_unwitnessed_entries",
			"Entries of the own ledger not yet covered by a checkpoint with a witness quorum."),
		alerts: d("exchange_alerts",
			"Alerts currently raised by the exchange (split views, bad entries, mirrors stopped)."),
		notices: d("notices",
			"Sanction notices issued by this region, by executing agency (USCC) and state (pending, overdue).", "agency", "state"),
		accessSize: d("access_log_size",
			"Entries in the access log of personal-data reads."),
		cosigAge: d("witness_cosignature_age_seconds",
			"Age of each witness's cosignature on the newest own checkpoint stored with a witness quorum "+
				"(grows while no newer checkpoint gets witnessed).", "witness"),
	}
}

func (c *OpsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.mirrorBehind, c.mirrorStopped, c.mirrorWitnessed, c.ownUnwitnessed, c.alerts, c.notices, c.accessSize, c.cosigAge} {
		ch <- d
	}
}

func (c *OpsCollector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	if st, err := c.src.ExchangeStatus(); err == nil && st != nil {
		for _, m := range st.Mirrors {
			behind := float64(0)
			if m.Checkpoint > m.Size {
				behind = float64(m.Checkpoint - m.Size)
			}
			ch <- prometheus.MustNewConstMetric(c.mirrorBehind, prometheus.GaugeValue, behind, m.Origin)
			ch <- prometheus.MustNewConstMetric(c.mirrorStopped, prometheus.GaugeValue, b(m.Stopped), m.Origin)
			ch <- prometheus.MustNewConstMetric(c.mirrorWitnessed, prometheus.GaugeValue, b(m.Witnessed), m.Origin)
		}
		ch <- prometheus.MustNewConstMetric(c.ownUnwitnessed, prometheus.GaugeValue, float64(st.Size-min(st.Witnessed, st.Size)))
		ch <- prometheus.MustNewConstMetric(c.alerts, prometheus.GaugeValue, float64(st.Alerts))
	}
	if all, err := c.src.Notices(time.Now()); err == nil {
		type key struct{ agency, state string }
		counts := map[key]int{}
		for _, v := range all {
			if v.Notice == nil || (v.State != "pending" && v.State != "overdue") {
				continue
			}
			counts[key{v.Notice.ExecutingAgency.USCC, v.State}]++
		}
		for k, v := range counts {
			ch <- prometheus.MustNewConstMetric(c.notices, prometheus.GaugeValue, float64(v), k.agency, k.state)
		}
	}
	if size, witnessed, err := c.src.AccessLog(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.accessSize, prometheus.GaugeValue, float64(size))
		for name, ts := range CosignatureTimes(witnessed) {
			ch <- prometheus.MustNewConstMetric(c.cosigAge, prometheus.GaugeValue, time.Since(ts).Seconds(), name)
		}
	}
}

// CosignatureTimes returns the timestamp of each C2SP tlog-cosignature/v1
// line of a signed note, by signer name. Such a signature is base64 of a
// 4-byte key hash, an 8-byte big-endian Unix time in seconds and a 64-byte
// Ed25519 signature; other signatures (the log's own, 68 bytes) are skipped.
// Only the timestamps are read here: the signatures were verified when the
// checkpoint was stored.
func CosignatureTimes(signed []byte) map[string]time.Time {
	out := map[string]time.Time{}
	_, sigs, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return out
	}
	for _, line := range strings.Split(string(sigs), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			continue
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 4+8+64 {
			continue
		}
		ts := time.Unix(int64(binary.BigEndian.Uint64(raw[4:12])), 0)
		if old, ok := out[name]; !ok || ts.After(old) {
			out[name] = ts
		}
	}
	return out
}
