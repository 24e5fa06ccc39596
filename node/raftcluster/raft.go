// Package raftcluster is a region replica's raft cluster: opening raft on
// its data directory (the raft log and stable store in a hashicorp/raft-wal
// write-ahead log, snapshots beside it; logstore.go) with the region's timings, the replicas
// it bootstraps with, and membership: reading the configuration, adding a
// voter, removing a server, and a new replica asking to join.
//
// Guarantees: a membership change returns only after raft committed the new
// configuration on a quorum of the configuration it replaces; any error
// means nothing is known to be committed, and repeating the change is safe
// (adding a voter that is already one, with the same address, is answered
// without a new change). A change refused for what the configuration holds
// wraps ErrConflict or ErrUnknownReplica; a lost lead is LostLead. Package
// node serves all of this over HTTP (node/cluster_api.go) and is the FSM.
//
// Replication: one AppendEntries carries at most Tuning.MaxAppendBytes of
// entries (16 MiB; an entry larger than that alone), so a follower far
// behind catches up in steps, each sent, stored and answered within the
// transport's 10 s deadline, and applies as it goes; raft itself bounds
// them by count only (see boundedTransport; TestCatchUpInSteps). A part
// that still fails is sent again from the follower's last known match
// after raft's backoff, as any failed AppendEntries.
package raftcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// File names inside a replica's data directory.
// Changing these breaks existing data directories.
const (
	// DirName is the raft directory inside a replica's data directory.
	DirName       = "raft"
	snapshotsKept = 2
)

// logCacheEntries is how many of the latest raft log entries each replica
// keeps in memory in front of the WAL (raft.LogCache, write-through: an
// entry is cached only after the WAL stored and fsync'd it, and a
// compaction empties the cache). Without it the leader read back and
// decoded each entry it had just written, once per follower it
// sent it to (setPreviousLog, setNewLogs) and again to apply it (about 2%
// of the CPU of a 3-replica ingest, 0.35 s of 16.6 s for 30,000 records).
// A follower up to date is sent entries within the last few; one further
// behind reads the WAL. An entry holds one raft command, at
// most a merged append of 4 MiB (node's coalesceBytes), so the cache holds
// at most 64 MiB, usually a few (one command per request or per merge).
const logCacheEntries = 16

// Tuning holds the raft timings. The zero value means the defaults
// documented on each field.
type Tuning struct {
	// HeartbeatTimeout and ElectionTimeout; default 1s each. A follower
	// that hears nothing from the leader for a random 1-2x HeartbeatTimeout
	// starts an election, so a lost leader is replaced in about 1-2 s on a
	// LAN (target P7: writes resume <= 3 s).
	//
	// LeaderLeaseTimeout (default: HeartbeatTimeout, its maximum) is how long
	// a leader keeps leading without a response from a quorum; past it, it
	// steps down ("failed to contact quorum"). It was HeartbeatTimeout/2 =
	// 250 ms, and on a busy 2-core machine (fsync of a large batch, GC,
	// the ledger FSM and admission competing for both cores) followers'
	// answers were late that long several times under load, so the leader
	// stepped down by itself and writes paused for an election (issue 11
	// item 7). 1 s of silence is far beyond such a stall, still well within
	// P7, and raft's own default (hashicorp/raft uses 1s/1s/500ms).
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    time.Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout time.Duration `yaml:"leader_lease_timeout"`
	// SnapshotThreshold: raft log entries between snapshots; default 16384.
	// Each raft entry holds a whole batch of records, so this is far more records.
	SnapshotThreshold uint64 `yaml:"snapshot_threshold"`
	// SnapshotInterval is how often raft checks whether SnapshotThreshold
	// was passed; default 2m.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	// TrailingLogs kept after a snapshot so that a replica that was briefly
	// down catches up from the log rather than a full snapshot; default 65536.
	// A replica catching up by snapshot (a new one joining) needs the
	// leader's log from the snapshot it was sent: if the leader snapshots
	// again and compacts past it while it is restored (as few as
	// TrailingLogs - SnapshotThreshold entries written meanwhile can do it;
	// none when TrailingLogs is the smaller, as in the join test), the
	// replica is sent the newer snapshot and restores it whole again, and
	// until then lists the configuration of the first snapshot, which may
	// predate its own addition. Keep TrailingLogs well above
	// SnapshotThreshold (the defaults: 4x).
	TrailingLogs uint64 `yaml:"trailing_logs"`
	// MaxAppendBytes bounds the entries' bytes of one AppendEntries on the
	// wire; default 16 MiB. A longer request (a follower catching up) is
	// sent as consecutive requests of at most this much, an entry larger
	// than it alone (see boundedTransport), so that each is sent, stored
	// and answered well within the transport's 10 s deadline and the
	// follower advances in steps. It must stay above what group commit
	// gathers in steady state (two merged appends of 4 MiB), which is
	// sent in one request.
	MaxAppendBytes int `yaml:"max_append_bytes"`
}

// transportTimeout is the network transport's deadline for one RPC
// (sending an AppendEntries of at most MaxAppendBytes of entries and
// reading its answer; raft scales it for InstallSnapshot).
const transportTimeout = 10 * time.Second

func (t Tuning) maxAppendBytes() int { return or(t.MaxAppendBytes, 16<<20) }

func (t Tuning) config(id string, logger hclog.Logger) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(id)
	c.Logger = logger
	c.HeartbeatTimeout = or(t.HeartbeatTimeout, time.Second)
	c.ElectionTimeout = or(t.ElectionTimeout, time.Second)
	c.LeaderLeaseTimeout = min(or(t.LeaderLeaseTimeout, c.HeartbeatTimeout), c.HeartbeatTimeout)
	c.SnapshotThreshold = or(t.SnapshotThreshold, 16384)
	c.TrailingLogs = or(t.TrailingLogs, 65536)
	c.SnapshotInterval = or(t.SnapshotInterval, 2*time.Minute)
	// Group commit: raft gathers concurrent Apply calls into one disk write
	// and one FSM ApplyBatch (one bbolt transaction). MaxAppendEntries
	// bounds that gather and the entries of one AppendEntries by count;
	// the transport bounds the latter by bytes (MaxAppendBytes).
	c.BatchApplyCh = true
	c.MaxAppendEntries = 1024
	// ledger.db is persistent and records the last applied raft index, so the
	// snapshot is not reloaded at start-up; raft replays only later entries.
	c.NoSnapshotRestoreOnStart = true
	return c
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Peer is one replica of the region's raft cluster.
type Peer struct {
	ID   string `yaml:"id"`   // replica id, e.g. "zj-1"
	Raft string `yaml:"raft"` // host:port of its raft transport (mutual TLS)
	API  string `yaml:"api"`  // https://host:port of its HTTP API
}

// Replica bundles a raft instance with its stores.
type Replica struct {
	Raft      *raft.Raft
	logStore  walStore      // the raft log and stable store (logstore.go)
	logs      *countingLogs // what raft writes its log through (LogWrites)
	transport *raft.NetworkTransport

	// changes admits one configuration change at a time through this
	// replica (see AddVoter); made on first use, so a Replica built
	// around a raft (tests) works too.
	changesOnce sync.Once
	changes     chan struct{}
	// checked, if set (tests), runs between a change's check of the
	// configuration and its proposal to raft: the race window.
	checked func()
}

// Open starts raft on dir with the given FSM and transport stream layer.
// If bootstrap is set and the replica has no raft state yet, it bootstraps the
// cluster with peers as voters (every initial replica may do so with the same
// list; raft treats identical bootstrap configurations as one).
func Open(dir, id string, tuning Tuning, peers []Peer, bootstrap bool, f raft.FSM, sl raft.StreamLayer, logger *slog.Logger) (*Replica, error) {
	rdir := filepath.Join(dir, DirName)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return nil, err
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{logger}})
	logStore, logs, err := openLogStore(rdir, hl, logger)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(rdir, snapshotsKept, hl)
	if err != nil {
		logStore.Close()
		return nil, err
	}
	nt, trans := newTransport(sl, tuning.maxAppendBytes(), transportTimeout, hl)
	cfg := tuning.config(id, hl)
	if bootstrap {
		has, err := raft.HasExistingState(logStore, logStore, snaps)
		if err != nil {
			nt.Close()
			logStore.Close()
			return nil, err
		}
		if !has {
			var servers []raft.Server
			for _, p := range peers {
				servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Raft)})
			}
			if err := raft.BootstrapCluster(cfg, logStore, logStore, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				nt.Close()
				logStore.Close()
				return nil, fmt.Errorf("bootstrapping raft: %w", err)
			}
		}
	}
	r, err := raft.NewRaft(cfg, f, logs, logStore, snaps, trans)
	if err != nil {
		nt.Close()
		logStore.Close()
		return nil, fmt.Errorf("starting raft: %w", err)
	}
	return &Replica{Raft: r, logStore: logStore, logs: logs, transport: nt}, nil
}

// LogWrites is how many raft log writes (StoreLog or StoreLogs: one
// WAL append and fsync each) this replica made since it
// opened; 0 for a Replica built around a raft (tests).
func (r *Replica) LogWrites() uint64 {
	if r == nil || r.logs == nil {
		return 0
	}
	return r.logs.writes.Load()
}

// Shutdown stops raft, then its transport, then the raft log, in that order:
// raft must stop using the transport and log before they close.
func (r *Replica) Shutdown() error {
	err := r.Raft.Shutdown().Error()
	err = errors.Join(err, r.transport.Close(), r.logStore.Close())
	return err
}

// WaitLeader blocks until the cluster has a leader or ctx ends.
func (r *Replica) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, _ := r.Raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// slogWriter sends hclog's text lines to a slog.Logger.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case isFirstElection(line):
			// Every start of a replica begins with this "warning": not
			// something an operator should act on.
			w.l.Info(line)
		case strings.Contains(line, "[ERROR]"):
			w.l.Error(line)
		case strings.Contains(line, "[WARN]"):
			w.l.Warn(line)
		default:
			w.l.Info(line)
		}
	}
	return len(p), nil
}

var _ io.Writer = slogWriter{}

// isFirstElection reports raft's election warning when no leader was ever
// known (right after start), as opposed to losing a leader.
func isFirstElection(line string) bool {
	return strings.Contains(line, "heartbeat timeout reached, starting election") &&
		strings.Contains(line, "last-leader-addr= ")
}

// WaitFuture waits for a raft future or ctx. Raft resolves every future
// (with ErrRaftShutdown at the latest), so the waiting goroutine ends.
func WaitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
