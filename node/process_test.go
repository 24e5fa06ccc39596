package node_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"golang.org/x/mod/sumdb/note"
)

// binary is the creditx binary built once by TestMain for real-process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "creditx-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "creditx")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/creditx/creditx/cmd/creditx").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building creditx: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one replica running as a real creditx process.
type proc struct {
	t       *testing.T
	id      string
	cfgPath string
	url     string
	logPath string
	cmd     *exec.Cmd
}

func (p *proc) start() {
	p.t.Helper()
	lf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(binary, "serve", "--config", p.cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { p.cmd.Wait(); lf.Close() }()
}

func (p *proc) signal(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	for i := 0; i < 200 && p.cmd.ProcessState == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	p.cmd = nil
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// cluster is a 3-replica region of real processes.
type cluster struct {
	t     *testing.T
	dir   string
	procs []*proc
	creds map[string]*client.Credentials
	vkey  note.Verifier
}

func startCluster(t *testing.T, n int, tune func(*node.Config)) *cluster {
	t.Helper()
	dir := t.TempDir()
	var specs []provision.ReplicaSpec
	for i := range n {
		specs = append(specs, provision.ReplicaSpec{ID: fmt.Sprintf("zj-%d", i+1), API: freeAddr(t), Raft: freeAddr(t)})
	}
	cfgs, err := provision.PrepareRegion(dir, "330000", specs)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, creds: map[string]*client.Credentials{}}
	for i, cfg := range cfgs {
		// The loaders put one publisher certificate under more load than the
		// per-client limit allows; these tests measure the cluster.
		cfg.RateLimit.PerSecond = -1
		if tune != nil {
			tune(cfg)
		}
		path := filepath.Join(cfg.DataDir, "node.yaml")
		if err := node.WriteConfig(path, cfg); err != nil {
			t.Fatal(err)
		}
		p := &proc{t: t, id: specs[i].ID, cfgPath: path, url: "https://" + specs[i].API, logPath: filepath.Join(dir, specs[i].ID+".log")}
		c.procs = append(c.procs, p)
	}
	for _, name := range []string{"admin", "publisher", "executor", "auditor"} {
		cr, err := client.LoadCredentials(filepath.Join(dir, "agencies", name))
		if err != nil {
			t.Fatal(err)
		}
		if cr.MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
			t.Fatal(err)
		}
		c.creds[name] = cr
	}
	_, c.vkey = noteKeys(t, cfgs[0].DataDir, "log")
	for _, p := range c.procs {
		p.start()
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.signal(syscall.SIGKILL)
		}
		if t.Failed() {
			for _, p := range c.procs {
				t.Logf("--- log of %s:\n%s", p.id, p.logTail())
			}
		}
	})
	c.waitLeader(15 * time.Second)
	return c
}

func (c *cluster) status(p *proc) (node.Status, error) {
	var st node.Status
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := c.creds["auditor"].Get(ctx, p.url+"/v1/status", &st)
	return st, err
}

// waitLeader waits until some running replica reports itself leader.
func (c *cluster) waitLeader(d time.Duration) *proc {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, p := range c.procs {
			if p.cmd == nil {
				continue
			}
			if st, err := c.status(p); err == nil && st.IsLeader {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", d)
	return nil
}

// waitSize waits until every running replica has at least size entries,
// and returns the replicas' sizes every 10 s of the wait. On failure it
// reports each replica's last size (or why its status could not be read)
// and those sizes.
func (c *cluster) waitSize(size uint64, d time.Duration) (timeline []string) {
	c.t.Helper()
	start := time.Now()
	mark := start // the next line is due at mark, or a second after the last once a size changed
	var last string
	for {
		ok := true
		var got []string
		for _, p := range c.procs {
			if p.cmd == nil {
				continue
			}
			st, err := c.status(p)
			if err != nil {
				got = append(got, fmt.Sprintf("%s=? (status: %v)", p.id, err))
				ok = false
				continue
			}
			got = append(got, fmt.Sprintf("%s=%d", p.id, st.Size))
			ok = ok && st.Size >= size
		}
		if ok {
			return append(timeline, fmt.Sprintf("  %v: %s", time.Since(start).Round(time.Second), strings.Join(got, " ")))
		}
		line := strings.Join(got, " ")
		if now := time.Now(); !now.Before(mark) || (line != last && !now.Before(mark.Add(-9*time.Second))) {
			timeline = append(timeline, fmt.Sprintf("  %v: %s", now.Sub(start).Round(time.Second), line))
			mark, last = now.Add(10*time.Second), line
		}
		if time.Since(start) > d {
			c.t.Fatalf("replicas did not reach size %d within %v: %s\nsizes during the wait:\n%s", size, d, strings.Join(got, " "), strings.Join(timeline, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSettled waits until every running replica has the same ledger size
// and it has not changed for a second (the leader keeps issuing sanction
// notices for a while after a load stops).
func (c *cluster) waitSettled(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	var last []uint64
	var lastErr error
	stable := 0
	for stable < 10 {
		if time.Now().After(deadline) {
			c.t.Fatalf("replicas did not settle within %v: sizes %v (last status error: %v)", d, last, lastErr)
		}
		var sizes []uint64
		same := true
		for _, p := range c.procs {
			if p.cmd == nil {
				continue
			}
			st, err := c.status(p)
			if err != nil {
				same, lastErr = false, fmt.Errorf("%s: %w", p.id, err)
				break
			}
			sizes = append(sizes, st.Size)
			same = same && st.Size == sizes[0]
		}
		if same && len(last) == len(sizes) && fmt.Sprint(last) == fmt.Sprint(sizes) {
			stable++
		} else {
			stable = 0
		}
		last = sizes
		time.Sleep(100 * time.Millisecond)
	}
}

// httpSource reads a replica's ledger through its public tlog-tiles API.
type httpSource struct {
	base string
	c    *http.Client
}

func (h httpSource) get(path string) ([]byte, error) {
	resp, err := h.c.Get(h.base + "/ledger/330000/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return b, err
}

func (h httpSource) ReadTile(level int, n uint64, width int) ([]byte, error) {
	return h.get(ledger.TilePath(level, n, width))
}

func (h httpSource) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	return h.get(ledger.EntriesPath(n, width))
}

// entries fetches and verifies a replica's whole ledger (every tile against
// the signed checkpoint) and returns its checkpoint and entries.
func (c *cluster) entries(p *proc) ([]byte, [][]byte) {
	c.t.Helper()
	src := httpSource{base: p.url, c: c.creds["auditor"].Client}
	cp, err := src.get("checkpoint")
	if err != nil {
		c.t.Fatal(err)
	}
	var out [][]byte
	_, err = ledger.Verify(context.Background(), src, cp, "creditx.330000/ledger", c.vkey, func(i uint64, e []byte) error {
		out = append(out, append([]byte(nil), e...))
		return nil
	}, nil)
	if err != nil {
		c.t.Fatalf("verifying %s's ledger: %v", p.id, err)
	}
	return cp, out
}
