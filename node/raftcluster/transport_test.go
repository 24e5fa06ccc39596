package raftcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// TestSplitAppend: a request whose entries fit is sent as it is; a longer
// one is cut into parts that each fit (an entry above the bound alone),
// that together hold every entry once and in order, that carry the
// request's header and commit index, and whose previous entry is the last
// entry of the part before (the first part: the request's).
func TestSplitAppend(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		maxBytes := 1 + rng.IntN(4000)
		n := rng.IntN(40)
		req := &raft.AppendEntriesRequest{
			RPCHeader:    raft.RPCHeader{ID: []byte("leader"), Addr: []byte("addr")},
			Term:         7,
			PrevLogEntry: 100, PrevLogTerm: 6,
			LeaderCommitIndex: 120,
		}
		total := 0
		for i := range n {
			e := &raft.Log{Index: 101 + uint64(i), Term: 6 + uint64(i%2), Type: raft.LogCommand, Data: make([]byte, rng.IntN(2*maxBytes))}
			req.Entries = append(req.Entries, e)
			total += entryBytes(e)
		}
		parts := splitAppend(req, maxBytes)
		if total <= maxBytes {
			if len(parts) != 1 || parts[0] != req {
				t.Fatalf("trial %d: %d bytes under the bound of %d sent as %d parts", trial, total, maxBytes, len(parts))
			}
			continue
		}
		prevIndex, prevTerm, next := req.PrevLogEntry, req.PrevLogTerm, 0
		for i, p := range parts {
			size := 0
			for _, e := range p.Entries {
				size += entryBytes(e)
			}
			switch {
			case len(p.Entries) == 0:
				t.Fatalf("trial %d part %d: no entries", trial, i)
			case size > maxBytes && len(p.Entries) > 1:
				t.Fatalf("trial %d part %d: %d entries, %d bytes, over the bound of %d", trial, i, len(p.Entries), size, maxBytes)
			case p.PrevLogEntry != prevIndex || p.PrevLogTerm != prevTerm:
				t.Fatalf("trial %d part %d: previous entry %d/%d, want %d/%d", trial, i, p.PrevLogEntry, p.PrevLogTerm, prevIndex, prevTerm)
			case p.Term != req.Term || p.LeaderCommitIndex != req.LeaderCommitIndex || !bytes.Equal(p.ID, req.ID) || !bytes.Equal(p.Addr, req.Addr):
				t.Fatalf("trial %d part %d: header %+v, want the request's", trial, i, p)
			}
			if i > 0 {
				// A part that ends early must have been cut because the
				// next entry would not fit.
				before := parts[i-1]
				bsize := 0
				for _, e := range before.Entries {
					bsize += entryBytes(e)
				}
				if bsize+entryBytes(p.Entries[0]) <= maxBytes {
					t.Fatalf("trial %d part %d: cut at %d bytes, the next entry of %d fitted", trial, i, bsize, entryBytes(p.Entries[0]))
				}
			}
			for _, e := range p.Entries {
				if e != req.Entries[next] {
					t.Fatalf("trial %d part %d: entry %d out of order", trial, i, e.Index)
				}
				next++
			}
			last := p.Entries[len(p.Entries)-1]
			prevIndex, prevTerm = last.Index, last.Term
		}
		if next != n {
			t.Fatalf("trial %d: parts hold %d of %d entries", trial, next, n)
		}
		if len(req.Entries) != n || req.PrevLogEntry != 100 {
			t.Fatalf("trial %d: the request was changed", trial)
		}
	}
}

// tcpStream is a raft stream layer over plain TCP on 127.0.0.1.
type tcpStream struct{ net.Listener }

func (s tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// recordingStore is an in-memory raft log that records the bytes of
// the command entries of each StoreLogs call: on a follower, one call per
// AppendEntries received with entries.
type recordingStore struct {
	*raft.InmemStore
	mu     sync.Mutex
	writes []storeWrite // guarded by mu
}

type storeWrite struct{ entries, bytes int }

func (s *recordingStore) StoreLogs(logs []*raft.Log) error {
	w := storeWrite{}
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			w.entries++
			w.bytes += entryBytes(l)
		}
	}
	if w.entries > 0 {
		s.mu.Lock()
		s.writes = append(s.writes, w)
		s.mu.Unlock()
	}
	return s.InmemStore.StoreLogs(logs)
}

func (s *recordingStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// taken returns the writes recorded since the last call and forgets them.
func (s *recordingStore) taken() []storeWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writes
	s.writes = nil
	return w
}

// countFSM counts the command entries applied.
type countFSM struct{ applied atomic.Int64 }

func (f *countFSM) Apply(*raft.Log) any {
	f.applied.Add(1)
	return nil
}
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nopFSM{}.Snapshot() }
func (f *countFSM) Restore(io.ReadCloser) error         { return nil }

// TestCatchUpInSteps: a follower that was down while 4 MiB of entries
// were written catches up through AppendEntries of at most MaxAppendBytes
// (256 KiB here) each, not in one message holding every entry (what raft
// sends on its own, MaxAppendEntries being 1024), and applies them as they
// come; entries written in one burst while every follower is up, sent
// pipelined, are split as well. Raft here runs over real network
// transports (TCP on 127.0.0.1) made as Open makes them.
func TestCatchUpInSteps(t *testing.T) {
	const maxBytes = 256 << 10
	tuning := Tuning{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond, MaxAppendBytes: maxBytes}
	type replica struct {
		id     raft.ServerID
		addr   raft.ServerAddress
		store  *recordingStore
		snaps  *raft.InmemSnapshotStore
		fsm    *countFSM
		nt     *raft.NetworkTransport
		raft   *raft.Raft
		listen func() net.Listener
	}
	var reps []*replica
	var servers []raft.Server
	for _, id := range []raft.ServerID{"a", "b", "c"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		first := l
		rep := &replica{id: id, addr: raft.ServerAddress(addr), store: &recordingStore{InmemStore: raft.NewInmemStore()}, snaps: raft.NewInmemSnapshotStore()}
		rep.listen = func() net.Listener {
			if first != nil {
				l := first
				first = nil
				return l
			}
			l, err := net.Listen("tcp", addr) // the same address again, after a restart
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		reps = append(reps, rep)
		servers = append(servers, raft.Server{ID: id, Address: rep.addr})
	}
	logger := hclog.NewNullLogger()
	start := func(rep *replica, bootstrap bool) {
		cfg := tuning.config(string(rep.id), logger)
		nt, trans := newTransport(tcpStream{rep.listen()}, tuning.maxAppendBytes(), transportTimeout, logger)
		if bootstrap {
			if err := raft.BootstrapCluster(cfg, rep.store, rep.store, rep.snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				t.Fatal(err)
			}
		}
		rep.fsm = &countFSM{}
		r, err := raft.NewRaft(cfg, rep.fsm, rep.store, rep.store, rep.snaps, trans)
		if err != nil {
			t.Fatal(err)
		}
		rep.nt, rep.raft = nt, r
	}
	stop := func(rep *replica) {
		if err := rep.raft.Shutdown().Error(); err != nil {
			t.Error(err)
		}
		rep.nt.Close()
		rep.raft = nil
	}
	for _, rep := range reps {
		start(rep, true)
	}
	t.Cleanup(func() {
		for _, rep := range reps {
			if rep.raft != nil {
				stop(rep)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := (&Replica{Raft: reps[0].raft}).WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	var leader *replica
	for leader == nil {
		for _, rep := range reps {
			if rep.raft.State() == raft.Leader {
				leader = rep
			}
		}
		if ctx.Err() != nil {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var down, up *replica
	for _, rep := range reps {
		switch {
		case rep == leader:
		case down == nil:
			down = rep
		default:
			up = rep
		}
	}
	stop(down)

	// 64 entries of 64 KiB, one at a time, while down is down.
	entry := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 64<<10) }
	const written = 64
	for i := range written {
		if err := leader.raft.Apply(entry(i), 5*time.Second).Error(); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	up.store.taken()
	down.store.taken()
	start(down, false)
	waitApplied := func(want int64) {
		t.Helper()
		for _, rep := range reps {
			for rep.fsm.applied.Load() < want {
				if ctx.Err() != nil {
					t.Fatalf("%s applied %d of %d entries", rep.id, rep.fsm.applied.Load(), want)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	// down restarted with a fresh FSM: it applies the whole log again.
	waitApplied(written)
	checkWrites := func(what string, ws []storeWrite, wantEntries, minWrites int) {
		t.Helper()
		entries := 0
		for _, w := range ws {
			entries += w.entries
			if w.bytes > maxBytes && w.entries > 1 {
				t.Errorf("%s: one AppendEntries of %d entries, %d bytes, over the bound of %d", what, w.entries, w.bytes, maxBytes)
			}
		}
		t.Logf("%s: %d entries in %d AppendEntries: %v", what, entries, len(ws), ws)
		if entries != wantEntries || len(ws) < minWrites {
			t.Errorf("%s: %d entries in %d AppendEntries; want %d in at least %d", what, entries, len(ws), wantEntries, minWrites)
		}
	}
	perMessage := maxBytes / entryBytes(&raft.Log{Data: entry(0)})
	checkWrites("catch-up", down.store.taken(), written, written/perMessage)

	// A burst gathered by group commit into one dispatch, replicated to
	// followers that are both pipelining by now.
	const burst = 32
	var g sync.WaitGroup
	errs := make(chan error, burst)
	for i := range burst {
		g.Go(func() {
			if err := leader.raft.Apply(entry(i), 5*time.Second).Error(); err != nil {
				errs <- fmt.Errorf("apply burst %d: %w", i, err)
			}
		})
	}
	g.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitApplied(written + burst)
	checkWrites("burst to "+string(up.id), up.store.taken(), burst, 1)
	checkWrites("burst to "+string(down.id), down.store.taken(), burst, 1)
	if l, d := leader.raft.LastIndex(), down.raft.LastIndex(); l != d {
		t.Errorf("leader's last index %d, the caught-up follower's %d", l, d)
	}
}
