package node_test

import (
	"context"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
)

// TestExchangeRealProcesses runs the four members as real creditx processes
// (creditx serve --config) on loopback: a listing submitted in 330000 is
// verified, indexed and queryable in the other three, and every ledger gets
// witnessed.
func TestExchangeRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	dir := t.TempDir()
	specs := append([]provision.MemberSpec(nil), deltaMembers...)
	addrs := freeAddrs(t, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	cfgs, _, err := provision.PrepareConsortium(dir, specs)
	if err != nil {
		t.Fatal(err)
	}
	procs := map[string]*proc{}
	creds := map[string]map[string]*client.Credentials{}
	for _, cfg := range cfgs {
		p := &proc{t: t, id: cfg.Region, cfgPath: filepath.Join(cfg.DataDir, "node.yaml"), url: "https://" + cfg.Listen,
			logPath: filepath.Join(dir, cfg.Region+".log")}
		p.start()
		t.Cleanup(func() {
			p.signal(syscall.SIGTERM)
			if t.Failed() {
				t.Logf("--- log of %s:\n%s", p.id, p.logTail())
			}
		})
		procs[cfg.Region] = p
		creds[cfg.Region] = map[string]*client.Credentials{}
		for _, name := range []string{"admin", "publisher", "auditor"} {
			if creds[cfg.Region][name], err = client.LoadCredentials(filepath.Join(cfg.DataDir, "agencies", name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	// Each credit office registers its publisher's key (a governance record).
	for code, cr := range creds {
		reg, err := client.RegistrationRecord(code, cr["admin"], cr["publisher"])
		if err != nil {
			t.Fatal(err)
		}
		var last error
		eventually(t, 20*time.Second, code+" accepts its registration", func() bool {
			_, last = cr["admin"].Submit(ctx, procs[code].url, reg)
			return last == nil
		})
	}
	zj := &member{code: "330000", creds: creds["330000"]}
	e, l := zj.listing(t, 3)
	rs, err := creds["330000"]["publisher"].Submit(ctx, procs["330000"].url, e)
	if err != nil {
		t.Fatal(err)
	}
	want := rs[0].Index + 1
	for _, code := range []string{"310000", "320000", "340000"} {
		p, cr := procs[code], creds[code]["auditor"]
		eventually(t, 30*time.Second, code+" mirrors and indexes the listing", func() bool {
			var st node.ExchangeStatus
			if err := cr.Get(ctx, p.url+"/v1/exchange", &st); err != nil {
				return false
			}
			for _, m := range st.Mirrors {
				if m.Code == "330000" {
					return m.Size >= want && m.Witnessed
				}
			}
			return false
		})
		var res node.CheckAnswer
		if err := cr.Get(ctx, p.url+"/v1/check?subject="+url.QueryEscape(l.Subject.USCC), &res); err != nil {
			t.Fatal(err)
		}
		if res.Result != "restricted" || len(res.Listings) != 1 || res.Listings[0].Ref.Origin != "creditx.330000/ledger" {
			t.Errorf("%s /v1/check = %+v", code, res)
		}
	}
	var st node.ExchangeStatus
	if err := creds["330000"]["auditor"].Get(ctx, procs["330000"].url+"/v1/exchange", &st); err != nil {
		t.Fatal(err)
	}
	if st.Witnessed != st.Size {
		eventually(t, 10*time.Second, "330000 witnessed", func() bool {
			creds["330000"]["auditor"].Get(ctx, procs["330000"].url+"/v1/exchange", &st)
			return st.Witnessed == st.Size
		})
	}
}
