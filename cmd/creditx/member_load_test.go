package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestMemberJoinsUnderLoad: while every founder publishes continuously, a
// city joins live (demoJoin: the member commands' code paths); afterwards
// no acknowledged record is missing from any copy, every ledger (the
// city's included) converges on every member and is witnessed, and no
// alert was raised.
func TestMemberJoinsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five members under load")
	}
	ctx := t.Context()
	dir := t.TempDir()
	specs := append([]provision.MemberSpec(nil), demoMembers...)
	addrs := nodetest.FreeAddrs(t, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	cfgs, _, err := provision.PrepareConsortium(dir, specs)
	if err != nil {
		t.Fatal(err)
	}
	var members []*demoMember
	for i, cfg := range cfgs {
		c := *cfg
		c.Logger = slog.New(slog.DiscardHandler)
		n, _ := nodetest.Start(t, c)
		if err := n.SeedDev(ctx, filepath.Join(c.DataDir, "agencies")); err != nil {
			t.Fatal(err)
		}
		m := &demoMember{spec: specs[i], cfg: c, n: n, creds: map[string]*client.Credentials{}}
		if m.creds["publisher"], err = client.LoadCredentials(filepath.Join(c.DataDir, "agencies", "publisher")); err != nil {
			t.Fatal(err)
		}
		if m.creds["publisher"].MatchKey, err = provision.DevMatchKey(filepath.Join(c.DataDir, "agencies")); err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}

	type ack struct {
		origin string
		index  uint64
	}
	var mu sync.Mutex
	var acks []ack
	var published atomic.Int64
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := m.creds["publisher"]
			for seed := uint64(1); lctx.Err() == nil; seed++ {
				l, err := synth.Listing(seed, synth.Options{Region: m.spec.Region, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
					MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-2 * time.Second)})
				if err != nil {
					t.Error(err)
					return
				}
				e, err := p.Sign(l)
				if err != nil {
					t.Error(err)
					return
				}
				rs, err := p.Submit(lctx, m.n.URL(), e)
				if err != nil {
					continue // not acknowledged: not counted
				}
				mu.Lock()
				acks = append(acks, ack{rs[0].Origin, rs[0].Index})
				mu.Unlock()
				published.Add(1)
			}
		}()
	}
	defer func() { stopLoad(); wg.Wait() }()
	time.Sleep(time.Second)

	rctx, cancel := context.WithCancel(ctx)
	var cwg sync.WaitGroup
	defer func() { cancel(); cwg.Wait() }()
	before := published.Load()
	city, _, _, err := demoJoin(ctx, rctx, &cwg, &testWriter{t}, slog.New(slog.DiscardHandler),
		demoOptions{dir: dir, join: "330100", timeout: 90 * time.Second}, members)
	if err != nil {
		t.Fatalf("join under load: %v", err)
	}
	during := published.Load() - before
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	t.Logf("%d records acknowledged, %d of them while the city joined", published.Load(), during)
	if during == 0 {
		t.Fatal("no record was acknowledged while the city joined: not under load")
	}
	all := append(members, city)
	eventually(t, "every ledger converged and witnessed on every member, the city's included", func() error {
		ok, err := demoConverged(all)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("not converged")
		}
		return nil
	})
	sizes := map[string]uint64{}
	for _, m := range all {
		st, err := m.n.ExchangeStatus()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Mirrors) != 4 {
			t.Errorf("%s mirrors %d ledgers, want 4", m.spec.Region, len(st.Mirrors))
		}
		sizes["creditx."+m.spec.Region+"/ledger"] = st.Size
		for _, mr := range st.Mirrors {
			if mr.Stopped {
				t.Errorf("%s stopped mirroring %s", m.spec.Region, mr.Code)
			}
		}
	}
	for _, a := range acks {
		if a.index >= sizes[a.origin] {
			t.Fatalf("acknowledged %s#%d is beyond the converged size %d", a.origin, a.index, sizes[a.origin])
		}
	}
}

// testWriter sends the demo's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
