package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/creditx/creditx/api"
)

// Wire types of this file's endpoints (package api).
type (
	ReplicaHealth = api.ReplicaHealth
)

// replicaHealth probes every replica of the region.
func (n *Node) replicaHealth(ctx context.Context) ([]ReplicaHealth, error) {
	cs, err := n.clusterStatus()
	if err != nil {
		return nil, err
	}
	out := make([]ReplicaHealth, len(cs.Servers))
	var wg sync.WaitGroup
	for i, s := range cs.Servers {
		out[i] = ReplicaHealth{ID: s.ID, RaftAddress: s.RaftAddress, API: s.API, Suffrage: s.Suffrage, Leader: s.Leader, Self: s.ID == n.cfg.ReplicaID}
		if out[i].API == "" {
			out[i].Problem = "no API address in peers (配置中无地址)"
			continue
		}
		wg.Add(1)
		go func(h *ReplicaHealth) {
			defer wg.Done()
			st, err := n.probeReplica(ctx, h.API)
			if err != nil {
				h.Problem = err.Error()
				return
			}
			h.Reachable, h.Size, h.Applied, h.Uptime = true, st.Size, st.Applied, st.Uptime
			if st.VaultKeyStale != "" {
				h.Problem = "vault key stale: " + st.VaultKeyStale
			}
		}(&out[i])
	}
	wg.Wait()
	return out, nil
}

func (n *Node) probeReplica(ctx context.Context, api string) (*Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", api+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := n.peer.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unreachable (无法连接): %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %d", resp.StatusCode)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("bad status answer: %w", err)
	}
	return &st, nil
}

// barChart is a simple horizontal bar chart as inline SVG (no script: the
// pages' CSP allows none), for /audit.
type barChart struct {
	Width, Height int
	Bars          []bar
}

type bar struct {
	Label, Class string
	Value        int
	Y, W         int // geometry, filled by newBarChart
}

func newBarChart(bars []bar) barChart {
	maxV := 1
	for _, b := range bars {
		maxV = max(maxV, b.Value)
	}
	const labelW, barW, rowH = 110, 300, 26
	for i := range bars {
		bars[i].Y = i * rowH
		bars[i].W = bars[i].Value * barW / maxV
	}
	return barChart{Width: labelW + barW + 60, Height: len(bars) * rowH, Bars: bars}
}
