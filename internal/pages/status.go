package pages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
)

// LedgerRow is one ledger of the status page.
type LedgerRow struct {
	Origin                    string
	Own, Witnessed            bool
	Size, CheckpointSize, Lag uint64
	Cosignatures              int
}

// StatusPage is the data of the status page ("status" of package console).
type StatusPage struct {
	console.Base
	Leader  string
	Alerts  int
	Member  bool
	Ledgers []LedgerRow
	// NoCheckpoint are the members whose mirror has nothing to mirror
	// yet: they have published no checkpoint (exchange.MirrorNoCheckpoint).
	NoCheckpoint []string
	// issue 12: listings this member applies no measure of, and
	// deadlines still provisional
	NotApplied int
	Calendar   api.CalendarState
	Replicas   []api.ReplicaHealth // issue 18: every replica's health (ProbeReplicas)
	ReplicaErr string
}

// Ledgers lists every ledger held in tx, own (origin own) and mirrored;
// access logs are left out. xs is the exchange's status (nil: the node is
// no exchange member); ownWitnessed is the newest own checkpoint stored
// with a witness quorum (nil: none), whose cosignatures are counted for
// the own ledger.
func Ledgers(tx *ledger.ReadTx, own string, xs *exchange.Status, ownWitnessed []byte) []LedgerRow {
	witnessed := map[string]bool{}
	if xs != nil {
		for _, m := range xs.Mirrors {
			witnessed[m.Origin] = m.Witnessed
		}
		witnessed[own] = xs.Witnessed > 0 && xs.Witnessed == xs.Size
	}
	var rows []LedgerRow
	for _, origin := range tx.Origins() {
		if strings.HasSuffix(origin, "/access") {
			continue
		}
		lr := tx.Log(origin)
		row := LedgerRow{Origin: origin, Own: origin == own, Size: lr.Size(), Witnessed: witnessed[origin]}
		if cp, err := lr.Checkpoint(); err == nil {
			row.CheckpointSize = checkpointSize(cp)
			row.Cosignatures = bytes.Count(cp, []byte("\n— ")) - 1
			if row.Own && ownWitnessed != nil {
				row.Cosignatures = bytes.Count(ownWitnessed, []byte("\n— ")) - 1
			}
		}
		if row.CheckpointSize > row.Size {
			row.Lag = row.CheckpointSize - row.Size
		}
		rows = append(rows, row)
	}
	return rows
}

// NoCheckpoint lists the members of xs (nil: none) whose mirror is in
// state exchange.MirrorNoCheckpoint.
func NoCheckpoint(xs *exchange.Status) []string {
	var out []string
	if xs != nil {
		for _, m := range xs.Mirrors {
			if m.State == exchange.MirrorNoCheckpoint {
				out = append(out, m.Code)
			}
		}
	}
	return out
}

// checkpointSize reads the size line of a checkpoint the node stored (and
// so already verified).
func checkpointSize(cp []byte) uint64 {
	var origin string
	var size uint64
	fmt.Sscanf(string(cp), "%s\n%d\n", &origin, &size)
	return size
}

// ProbeReplicas asks every server of the region's cluster for its GET
// /v1/status (through client, at most a second each, all at once) and
// reports its health; self is this replica's ID. A server that cannot be
// asked is a row with its Problem.
func ProbeReplicas(ctx context.Context, client *http.Client, self string, servers []api.ClusterServer) []api.ReplicaHealth {
	out := make([]api.ReplicaHealth, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		out[i] = api.ReplicaHealth{ID: s.ID, RaftAddress: s.RaftAddress, API: s.API, Suffrage: s.Suffrage, Leader: s.Leader, Self: s.ID == self}
		if out[i].API == "" {
			out[i].Problem = "no API address in peers (配置中无地址)"
			continue
		}
		wg.Add(1)
		go func(h *api.ReplicaHealth) {
			defer wg.Done()
			st, err := probeReplica(ctx, client, h.API)
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
	return out
}

func probeReplica(ctx context.Context, client *http.Client, base string) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
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
	var st api.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("bad status answer: %w", err)
	}
	return &st, nil
}
