package pki

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// newTransport starts a raft network transport over a TLS stream layer on
// 127.0.0.1:0 for a replica certificate of ca, trusting pool.
func newTransport(t *testing.T, ca *CA, id string, pool *x509.CertPool) *raft.NetworkTransport {
	t.Helper()
	cfg, err := PeerConfig(issue(t, ca, replica(ca.Region, id)), pool)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  NewTLSStreamLayer(ln, nil, cfg, cfg),
		MaxPool: 2,
		Timeout: 5 * time.Second,
		Logger:  hclog.NewNullLogger(),
	})
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestStreamLayerAppendEntries(t *testing.T) {
	zj, stranger := newTestCA(t, "330000"), newTestCA(t, "330000")
	trust := zj.Pool()
	t1 := newTransport(t, zj, "zj-1", trust)
	t2 := newTransport(t, zj, "zj-2", trust)

	got := make(chan *raft.AppendEntriesRequest, 4)
	go func() {
		for rpc := range t2.Consumer() {
			req, ok := rpc.Command.(*raft.AppendEntriesRequest)
			if !ok {
				rpc.Respond(nil, fmt.Errorf("unexpected %T", rpc.Command))
				continue
			}
			got <- req
			rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: 1, Success: true}, nil)
		}
	}()

	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("zj-1"), Addr: []byte(t1.LocalAddr())},
		Term:      7,
		Entries:   []*raft.Log{{Index: 1, Term: 7, Type: raft.LogCommand, Data: []byte("listing")}},
	}
	var resp raft.AppendEntriesResponse
	if err := t1.AppendEntries("zj-2", t2.LocalAddr(), req, &resp); err != nil {
		t.Fatalf("AppendEntries over mutual TLS: %v", err)
	}
	if !resp.Success || resp.Term != 7 {
		t.Fatalf("response %+v", resp)
	}
	if r := <-got; r.Term != 7 || len(r.Entries) != 1 || !bytes.Equal(r.Entries[0].Data, []byte("listing")) {
		t.Fatalf("follower received %+v", r)
	}

	// A replica certificate from a foreign CA (same region code, same CA
	// name) is refused by the listener: the RPC fails and nothing arrives.
	foreign := newTransport(t, stranger, "zj-3", trust)
	if err := foreign.AppendEntries("zj-2", t2.LocalAddr(), req, &resp); err == nil {
		t.Fatal("foreign-CA replica's AppendEntries succeeded")
	}
	// And a replica dialing a foreign listener refuses it at Dial.
	if err := t1.AppendEntries("zj-3", foreign.LocalAddr(), req, &resp); err == nil {
		t.Fatal("AppendEntries to a foreign-CA listener succeeded")
	}
	select {
	case r := <-got:
		t.Fatalf("follower received an RPC from a refused peer: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
}

// countFSM counts applied commands.
type countFSM struct {
	mu   sync.Mutex
	logs [][]byte // guarded by mu
}

func (f *countFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, l.Data)
	return len(f.logs)
}
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, fmt.Errorf("not supported") }
func (f *countFSM) Restore(io.ReadCloser) error         { return fmt.Errorf("not supported") }
func (f *countFSM) applied() int                        { f.mu.Lock(); defer f.mu.Unlock(); return len(f.logs) }

// Three replicas elect a leader and replicate a command over the TLS
// stream layer.
func TestStreamLayerRaft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node raft cluster")
	}
	zj := newTestCA(t, "330000")
	trust := zj.Pool()
	var servers []raft.Server
	var trs []*raft.NetworkTransport
	for i := 1; i <= 3; i++ {
		tr := newTransport(t, zj, fmt.Sprintf("zj-%d", i), trust)
		trs = append(trs, tr)
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprintf("zj-%d", i)), Address: tr.LocalAddr()})
	}
	var nodes []*raft.Raft
	var fsms []*countFSM
	for i, tr := range trs {
		c := raft.DefaultConfig()
		c.LocalID = servers[i].ID
		c.Logger = hclog.NewNullLogger()
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 150*time.Millisecond, 150*time.Millisecond, 100*time.Millisecond
		c.CommitTimeout = 5 * time.Millisecond
		store := raft.NewInmemStore()
		fsm := &countFSM{}
		if i == 0 {
			if err := raft.BootstrapCluster(c, store, store, raft.NewInmemSnapshotStore(), tr, raft.Configuration{Servers: servers}); err != nil {
				t.Fatal(err)
			}
		}
		r, err := raft.NewRaft(c, fsm, store, store, raft.NewInmemSnapshotStore(), tr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Shutdown().Error() })
		nodes = append(nodes, r)
		fsms = append(fsms, fsm)
	}
	var leader *raft.Raft
	for deadline := time.Now().Add(10 * time.Second); leader == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, n := range nodes {
			if n.State() == raft.Leader {
				leader = n
			}
		}
	}
	if leader == nil {
		t.Fatal("no leader elected over the TLS stream layer within 10s")
	}
	if err := leader.Apply([]byte("listing"), 5*time.Second).Error(); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if fsms[0].applied() == 1 && fsms[1].applied() == 1 && fsms[2].applied() == 1 {
			return
		}
	}
	t.Fatalf("applied counts %d %d %d, want 1 each", fsms[0].applied(), fsms[1].applied(), fsms[2].applied())
}
