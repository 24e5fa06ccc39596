package interop

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
)

// buildTorchwood builds torchwood's litewitness and witnessctl (go.mod tool
// directives, filippo.io/torchwood v0.6.1) into a temporary directory.
func buildTorchwood(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin, "filippo.io/torchwood/cmd/litewitness", "filippo.io/torchwood/cmd/witnessctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building torchwood: %v\n%s", err, out)
	}
	return bin
}

// serveAgent serves an in-memory ssh-agent holding key on a unix socket
// (litewitness signs through ssh-agent) until the test ends.
func serveAgent(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

// syncBuffer is a goroutine-safe buffer for a process's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLitewitnessCountsTowardQuorum starts torchwood's litewitness (an
// external witness nobody here wrote), names it in the manifest's
// witness_policy (C2SP tlog-policy) with its URL, and requires both a member
// and the litewitness for quorum. A creditx member pushes its checkpoints to
// it over plain HTTP tlog-witness, keeps its cosignature, and its checkpoint
// is witnessed only with it.
func TestLitewitnessCountsTowardQuorum(t *testing.T) {
	bin := buildTorchwood(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	sock := serveAgent(t, key)
	db := filepath.Join(t.TempDir(), "litewitness.db")
	addr := nodetest.FreeAddrs(t, 1)[0]
	lw := exec.Command(filepath.Join(bin, "litewitness"), "-ssh-agent="+sock, "-name=litewitness.example/w1",
		"-db="+db, "-listen="+addr, "-key="+ssh.FingerprintSHA256(sshPub))
	var stderr syncBuffer
	lw.Stderr = &stderr
	if err := lw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lw.Process.Signal(os.Interrupt); lw.Wait() })
	vkeyRE := regexp.MustCompile(`vkey=(\S+)`)
	var lwVKey string
	eventually(t, 20*time.Second, "litewitness's verifier key", func() bool {
		if m := vkeyRE.FindStringSubmatch(stderr.String()); m != nil {
			lwVKey = strings.Trim(m[1], `"`)
			return true
		}
		return false
	})
	eventually(t, 10*time.Second, "litewitness listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	lwV, err := fnote.NewVerifierForCosignatureV1(lwVKey)
	if err != nil {
		t.Fatalf("litewitness vkey %q: %v", lwVKey, err)
	}

	specs := []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "320000", Name: "Jiangsu"}, {Region: "330000", Name: "Zhejiang"}}
	nodes, cfgs, m := startMembers(t, specs, func(m *exchange.Manifest, _ []*node.Config) {
		var p strings.Builder
		for _, mb := range m.Members {
			ctl := func(args ...string) {
				out, err := exec.Command(filepath.Join(bin, "witnessctl"), append(args, "-db="+db)...).CombinedOutput()
				if err != nil {
					t.Fatalf("witnessctl %v: %v\n%s", args, err, out)
				}
			}
			ctl("add-log", "-origin="+mb.Origin())
			ctl("add-key", "-origin="+mb.Origin(), "-key="+strings.TrimSpace(mb.LogVKey))
			fmt.Fprintf(&p, "witness m%s %s\n", mb.Code, strings.TrimSpace(mb.WitnessVKey))
		}
		fmt.Fprintf(&p, "# torchwood litewitness, outside the consortium\nwitness lite %s http://%s\n", lwVKey, addr)
		p.WriteString("group members any m310000 m320000 m330000\ngroup q all members lite\nquorum q\n")
		m.WitnessPolicy = p.String()
	})
	sh := nodes["310000"]
	var witnessed []byte
	eventually(t, 30*time.Second, "310000's checkpoint witnessed under the policy", func() bool {
		st, err := sh.ExchangeStatus()
		if err != nil || st.Size == 0 || st.Witnessed != st.Size {
			return false
		}
		resp, err := publicClient(t, cfgs[0]).Get(sh.URL() + "/ledger/310000/checkpoint")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		witnessed, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK
	})
	// The served checkpoint carries litewitness's cosignature, verified by
	// x/mod's note package with formats' verifier of its vkey.
	self, _ := m.Member("310000")
	n, err := note.Open(witnessed, note.VerifierList(self.LogVerifier(), lwV))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("witnessed checkpoint %q: %v", witnessed, err)
	}
	names, ok, err := m.Witnessed("310000", witnessed)
	if err != nil || !ok || !contains(names, "lite") {
		t.Fatalf("Witnessed = %v %v %v, want a quorum including lite", names, ok, err)
	}
	// Without the litewitness's line the same checkpoint is not witnessed.
	var without []byte
	for _, l := range bytes.SplitAfter(witnessed, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("— litewitness.example/w1 ")) {
			without = append(without, l...)
		}
	}
	if _, ok, err := m.Witnessed("310000", without); err != nil || ok {
		t.Fatalf("without litewitness: witnessed %v, %v", ok, err)
	}
	// litewitness recorded our log's size.
	out, err := exec.Command(filepath.Join(bin, "witnessctl"), "list-logs", "-db="+db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "creditx.310000/ledger") {
		t.Fatalf("witnessctl list-logs: %v\n%s", err, out)
	}
	t.Logf("litewitness: %s", bytes.TrimSpace(out))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
