package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/deploy"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"golang.org/x/mod/sumdb/tlog"
)

// topo is a running compose topology of real creditx containers.
type topo struct {
	t        *testing.T
	lay      *deploy.Layout
	man      *exchange.Manifest
	project  string
	network  string
	bin      string // the static binary the image was built from (host side, for creditx audit)
	creds    map[string]map[string]*client.Credentials
	members  map[string]*deploy.Member
	pubMu    sync.Mutex
	received map[string][]node.Receipt // acknowledged receipts by member code
	// disk is the replica whose data directory is a small tmpfs the suite
	// fills (empty where mounting is not permitted: diskWhy says why).
	disk, diskDir, diskWhy string
}

// requireDocker skips with one clear line when no Docker engine answers.
func requireDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("docker: -short; fault-injection suite skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		t.Skip("docker: no engine answers; fault-injection suite skipped")
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("docker: docker-compose (v1 binary) not found; fault-injection suite skipped")
	}
}

func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), err
}

// startTopo builds the static binary and a FROM scratch image (no network
// needed), generates the layout and brings it up; everything it created is
// removed in t.Cleanup, also on failure.
func startTopo(t *testing.T, members []string, city string, replicas int) *topo {
	t.Helper()
	var sfx [4]byte
	rand.Read(sfx[:])
	project := "cxf" + hex.EncodeToString(sfx[:])
	image := "creditx-fault:" + project
	build := t.TempDir()
	tp := &topo{t: t, project: project, network: project + "_delta", bin: filepath.Join(build, "creditx"),
		creds: map[string]map[string]*client.Credentials{}, members: map[string]*deploy.Member{}, received: map[string][]node.Receipt{}}
	t.Logf("building the static binary and image %s", image)
	cmd := exec.Command("go", "build", "-trimpath", "-o", tp.bin, "../cmd/creditx")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, 2*time.Minute, "docker", "build", "-q", "-t", image, build); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run(t, time.Minute, "docker", "rmi", "-f", image) })

	dir := filepath.Join(t.TempDir(), "delta")
	// The key ceremony and compose file as deploy/README.md has an operator
	// make them: through the binary's CLI.
	if _, err := run(t, 2*time.Minute, tp.bin, "deploy", "compose", "--out", dir, "--members", strings.Join(members, ","),
		"--city", city, "--replicas", strconv.Itoa(replicas), "--image", image, "--restart", "no",
		"--base-port", strconv.Itoa(20000+int(sfx[0])*100%20000)); err != nil {
		t.Fatal(err)
	}
	if tp.lay, err = deploy.LoadLayout(dir); err != nil {
		t.Fatal(err)
	}
	if tp.man, err = exchange.LoadManifest(tp.lay.Manifest); err != nil {
		t.Fatal(err)
	}
	tp.smallDisk(dir)
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range tp.lay.Members {
				for _, r := range m.Replicas {
					out, _ := run(t, 20*time.Second, "docker", "logs", "--tail", "15", tp.container(r.ID))
					t.Logf("--- last log lines of %s:\n%s", r.ID, out)
				}
			}
		}
		run(t, 2*time.Minute, "docker-compose", "-f", tp.lay.Compose, "-p", project, "down", "-v", "--remove-orphans", "-t", "2")
	})
	if _, err := run(t, 3*time.Minute, "docker-compose", "-f", tp.lay.Compose, "-p", project, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	tp.waitHealthy()
	for i := range tp.lay.Members {
		m := &tp.lay.Members[i]
		tp.members[m.Code] = m
		tp.creds[m.Code] = map[string]*client.Credentials{}
		for _, name := range []string{"admin", "publisher", "auditor"} {
			if tp.creds[m.Code][name], err = client.LoadCredentials(filepath.Join(m.Agencies, name)); err != nil {
				t.Fatal(err)
			}
			if tp.creds[m.Code][name].MatchKey, err = provision.DevMatchKey(m.Agencies); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tp
}

func (tp *topo) container(replica string) string { return tp.project + "_" + replica + "_1" }

// waitHealthy waits (at most 90 s) until the healthcheck of every container
// (the image's own "creditx health" against /readyz: the replica knows a
// raft leader) says healthy.
func (tp *topo) waitHealthy() {
	tp.t.Helper()
	var last string
	ok := waitFor(90*time.Second, func() bool {
		for _, m := range tp.lay.Members {
			for _, r := range m.Replicas {
				out, err := run(tp.t, 20*time.Second, "docker", "inspect", "-f", "{{.State.Health.Status}}", tp.container(r.ID))
				if st := strings.TrimSpace(out); err != nil || st != "healthy" {
					last = r.ID + ": " + st
					return false
				}
			}
		}
		return true
	})
	if !ok {
		tp.t.Fatalf("containers not healthy within 90 s; last: %s", last)
	}
}

// register has every credit office register its publisher's and executor's
// keys with "creditx deploy register", as deploy/README.md says.
func (tp *topo) register(ctx context.Context) {
	tp.t.Helper()
	for _, m := range tp.lay.Members {
		var last error
		ok := waitFor(60*time.Second, func() bool {
			_, last = run(tp.t, 30*time.Second, tp.bin, "deploy", "register", "--agencies", m.Agencies, "--node", m.Replicas[0].HostURL)
			return last == nil
		})
		if !ok {
			tp.t.Fatalf("%s: registering the agencies: %v", m.Code, last)
		}
	}
}

func waitFor(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// status is GET /v1/status of one replica.
func (tp *topo) status(ctx context.Context, code string, r deploy.Replica) (node.Status, error) {
	var st node.Status
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := tp.creds[code]["auditor"].Get(ctx, r.HostURL+"/v1/status", &st)
	return st, err
}

// leader is the replica every reachable replica of code names as leader.
func (tp *topo) leader(ctx context.Context, code string) (deploy.Replica, error) {
	m := tp.members[code]
	for _, r := range m.Replicas {
		st, err := tp.status(ctx, code, r)
		if err != nil || st.Leader == "" {
			continue
		}
		for _, l := range m.Replicas {
			if l.ID == st.Leader {
				return l, nil
			}
		}
	}
	return deploy.Replica{}, fmt.Errorf("member %s: no replica names a leader", code)
}

// tiles reads one ledger's tlog-tiles from one replica, for x/mod's
// TileHashReader (which authenticates every tile against the checkpoint).
type tiles struct {
	ctx  context.Context
	c    *http.Client
	base string
}

func (h tiles) Height() int { return 8 }

func (h tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		b, err := httpGet(h.ctx, h.c, h.base+"/"+strings.Replace(t.Path(), "tile/8/", "tile/", 1))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (h tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func httpGet(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// holds checks that replica r (of member holder) serves origin code's ledger
// (own or mirror) with a valid checkpoint and tiles that contain every
// receipt in rs, and returns the size of the checkpoint it serves. A member
// serves its latest witnessed checkpoint, so its own replicas are checked
// against the largest checkpoint any receipt carries when that is larger:
// their tiles must authenticate against the acknowledged root.
func (tp *topo) holds(ctx context.Context, holder string, r deploy.Replica, code string, rs []node.Receipt) (uint64, error) {
	mb, _ := tp.man.Member(code)
	c := tp.creds[holder]["auditor"].Client
	base := r.HostURL + "/ledger/" + code
	signed, err := httpGet(ctx, c, base+"/checkpoint")
	if err != nil {
		return 0, err
	}
	cp, err := ledger.OpenCheckpoint(signed, mb.Origin(), mb.LogVerifier())
	if err != nil {
		return 0, fmt.Errorf("%s's copy of %s: %w", r.ID, code, err)
	}
	served := cp.Size
	if holder == code {
		for _, rc := range rs {
			rcp, err := ledger.OpenCheckpoint([]byte(rc.Checkpoint), mb.Origin(), mb.LogVerifier())
			if err != nil {
				return 0, fmt.Errorf("receipt %s/%d: %w", code, rc.Index, err)
			}
			if rcp.Size > cp.Size {
				cp = rcp
			}
		}
	}
	var idx []int64
	var want []node.Receipt
	for _, rc := range rs {
		if rc.Index >= cp.Size {
			return served, fmt.Errorf("%s's copy of %s has %d entries; acknowledged index %d is missing", r.ID, code, cp.Size, rc.Index)
		}
		idx = append(idx, tlog.StoredHashIndex(0, int64(rc.Index)))
		want = append(want, rc)
	}
	if len(idx) == 0 {
		return served, nil
	}
	hs, err := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, tiles{ctx, c, base}).ReadHashes(idx)
	if err != nil {
		return served, fmt.Errorf("%s's copy of %s at size %d: %w", r.ID, code, cp.Size, err)
	}
	for i, rc := range want {
		if got := hex.EncodeToString(hs[i][:]); got != rc.LeafHash {
			return served, fmt.Errorf("%s's copy of %s: index %d has leaf %s, the receipt says %s (acknowledged record lost)", r.ID, code, rc.Index, got, rc.LeafHash)
		}
	}
	return served, nil
}

// smallDisk puts the data directory of the last replica of the first member
// on a 256 MiB tmpfs (its files copied in), so that the suite can fill that
// disk for real: the container sees ENOSPC from every write. Mounting needs
// root (CAP_SYS_ADMIN); without it tp.diskWhy says why and the fault is
// skipped. The tmpfs is unmounted when the test ends, after the containers
// are removed.
func (tp *topo) smallDisk(dir string) {
	t := tp.t
	m := tp.lay.Members[0]
	r := m.Replicas[len(m.Replicas)-1]
	if len(m.Replicas) < 3 {
		tp.diskWhy = "no member has 3 replicas"
		return
	}
	saved := filepath.Join(filepath.Dir(dir), "disk-"+r.ID)
	if err := os.Rename(r.DataDir, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, 30*time.Second, "mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", r.DataDir); err != nil {
		tp.diskWhy = "cannot mount a tmpfs here (" + firstLine(err.Error()) + ")"
		os.Remove(r.DataDir)
		if err := os.Rename(saved, r.DataDir); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Cleanup(func() { run(t, 30*time.Second, "umount", "-l", r.DataDir) })
	if _, err := run(t, 30*time.Second, "cp", "-a", saved+"/.", r.DataDir+"/"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(saved)
	if err != nil {
		t.Fatal(err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(r.DataDir, int(sys.Uid), int(sys.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	tp.disk, tp.diskDir = r.ID, r.DataDir
}

// fillDisk writes a filler file into the small disk until the device is
// full, returning its path and how much it wrote.
func (tp *topo) fillDisk() (string, int64, error) {
	f, err := os.CreateTemp(tp.diskDir, "filler-")
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := f.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return f.Name(), n, nil
		}
		if err != nil {
			return f.Name(), n, err
		}
	}
}
