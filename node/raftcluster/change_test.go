package raftcluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// nopFSM applies nothing; the membership calls never reach it.
type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any                 { return nil }
func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (nopFSM) Restore(io.ReadCloser) error         { return nil }

// oneVoter starts a single-voter raft "a" on in-memory stores and waits
// until it leads.
func oneVoter(t *testing.T) *raft.Raft {
	t.Helper()
	cfg := Tuning{HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond}.config("a", nil)
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	addr, trans := raft.NewInmemTransport("addr-a")
	if err := raft.BootstrapCluster(cfg, store, store, snaps, trans, raft.Configuration{Servers: []raft.Server{{ID: "a", Address: addr}}}); err != nil {
		t.Fatal(err)
	}
	r, err := raft.NewRaft(cfg, nopFSM{}, store, store, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown().Error() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (&Replica{Raft: r}).WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChangesRefused: a change the configuration refuses says why and of
// which kind (ErrConflict, ErrUnknownReplica), changes nothing, and adding
// a voter that is one already, with its address, is answered unchanged.
func TestChangesRefused(t *testing.T) {
	r := oneVoter(t)
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := r.GetConfiguration()
	if err := before.Error(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"same id, other address", func() error { _, _, err := AddVoter(ctx, r, "a", "addr-x", log); return err }(), ErrConflict},
		{"other id, same address", func() error { _, _, err := AddVoter(ctx, r, "b", "addr-a", log); return err }(), ErrConflict},
		{"remove the last voter", func() error { _, err := Remove(ctx, r, "a", log); return err }(), ErrConflict},
		{"remove a stranger", func() error { _, err := Remove(ctx, r, "zz", log); return err }(), ErrUnknownReplica},
	} {
		if !errors.Is(tc.err, tc.want) || LostLead(tc.err) {
			t.Errorf("%s: %v; want %v", tc.name, tc.err, tc.want)
		}
	}
	changed, index, err := AddVoter(ctx, r, "a", "addr-a", log)
	if err != nil || changed || index != before.Index() {
		t.Errorf("repeat of an existing voter: changed %v, index %d, %v; want unchanged at %d", changed, index, err, before.Index())
	}
	if after := r.GetConfiguration(); after.Index() != before.Index() {
		t.Errorf("configuration moved from %d to %d", before.Index(), after.Index())
	}
	st, err := Status(r, "a", []Peer{{ID: "a", API: "https://a:8443"}})
	if err != nil || st.Leader != "a" || len(st.Servers) != 1 || st.Servers[0].API != "https://a:8443" || st.Servers[0].Suffrage != "voter" {
		t.Errorf("status %+v, %v", st, err)
	}
}
