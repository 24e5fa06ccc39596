package raftcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/hashicorp/raft"
)

// Joiner is a new replica asking an existing one to add it as a voter.
type Joiner struct {
	Via      string       // https://host:port of a replica of the region (Config.Join)
	ID       string       // this replica's id
	RaftAddr string       // the raft address it advertises
	Client   *http.Client // mutual TLS with this replica's certificate
	// Timeout bounds one attempt (the replica asked forwards to its leader
	// and waits for the commit).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Join asks j.Via to add this replica (POST /v1/cluster/replicas), retrying
// with backoff until it is accepted; raft then catches this replica up (a
// snapshot install and the log after it). It returns nil at once when this
// replica is already a voter with its address in r's configuration (a
// restart after joining), and an error when the cluster refuses for a
// reason retrying cannot fix (400, 401, 403, 404, 409): the process then
// stops rather than run as a replica of no cluster.
func (j Joiner) Join(ctx context.Context, r *raft.Raft) error {
	if cf := r.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == j.ID && string(s.Address) == j.RaftAddr && s.Suffrage == raft.Voter {
				return nil
			}
		}
	}
	body, err := json.Marshal(api.AddReplicaRequest{ID: j.ID, RaftAddress: j.RaftAddr})
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(j.Via, "/") + "/v1/cluster/replicas"
	if _, err := http.NewRequest(http.MethodPost, url, nil); err != nil {
		return fmt.Errorf("join: %w", err) // not a URL: retrying cannot help
	}
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, answer, err := j.try(ctx, url, body)
		switch status {
		case http.StatusOK:
			j.Logger.Info("joined the region's raft cluster", "via", j.Via, "id", j.ID, "raft_address", j.RaftAddr)
			return nil
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict:
			return fmt.Errorf("join via %s refused (%d): %s", j.Via, status, bytes.TrimSpace(answer))
		}
		if err == nil {
			err = fmt.Errorf("answered %d: %s", status, bytes.TrimSpace(answer))
		}
		j.Logger.Warn("joining the region's raft cluster; will retry", "via", j.Via, "attempt", attempt, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// try makes one attempt; status 0 with err when there was no answer.
func (j Joiner) try(ctx context.Context, url string, body []byte) (status int, answer []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, j.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, err
}
