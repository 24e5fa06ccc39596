package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// startFounders prepares and starts the four founders (real nodes, ports
// :0-style free ports) and returns the consortium directory and their URLs
// by region.
func startFounders(t *testing.T) (string, map[string]string, map[string]*node.Node, map[string]func() *node.Node) {
	t.Helper()
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
	urls, nodes, restart := map[string]string{}, map[string]*node.Node{}, map[string]func() *node.Node{}
	for _, cfg := range cfgs {
		c := *cfg
		c.Logger = slog.New(slog.DiscardHandler)
		n, stop := nodetest.Start(t, c)
		urls[c.Region], nodes[c.Region] = n.URL(), n
		restart[c.Region] = func() *node.Node { // same data directory and address
			stop()
			n, _ := nodetest.Start(t, c)
			return n
		}
	}
	return dir, urls, nodes, restart
}

// eventually retries f until it returns nil (a member sees another's
// records once it mirrored them) and fails the test with f's last error
// after a generous limit.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = f(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

// TestMemberProposeApproveCLI: a city's key ceremony, its matching key
// wrapped by a founder, and its join proposed and approved through the CLI
// against four running founders: a proposal with two of four votes has no
// effect, the third vote puts version 2 in force on every founder's view.
// Then the city starts with the manifest in force and, no founder
// restarted, every founder mirrors it and its checkpoints are witnessed.
func TestMemberProposeApproveCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	dir, urls, founders, restart := startFounders(t)
	admin := func(code string) string { return filepath.Join(dir, code, "agencies", "admin") }
	hz := filepath.Join(t.TempDir(), "hz")
	api := nodetest.FreeAddrs(t, 2)

	// The city's key ceremony; its matching key comes wrapped from a founder.
	out, err := run(t, "member", "init", "--code", "330100", "--name", "杭州市", "--api", api[0], "--raft", api[1], "--out", hz)
	if err != nil || !strings.Contains(out, "member 330100 (杭州市) prepared") {
		t.Fatalf("member init: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(hz, "keys", "match.key")); err == nil {
		t.Fatal("member init left a matching key of the city's own making")
	}
	for _, f := range []string{"ca/ca.crt", "tls/member/tls.crt", "keys/witness.key", "keys/log.key", "node.yaml", "join.json"} {
		if _, err := os.Stat(filepath.Join(hz, f)); err != nil {
			t.Errorf("member init made no %s: %v", f, err)
		}
	}
	wrapped := filepath.Join(t.TempDir(), "hz.wrapped")
	if out, err := run(t, "member", "wrap-key", "--request", filepath.Join(hz, "match-request.txt"),
		"--match-key", filepath.Join(dir, "330000", "keys", "match.key"), "--out", wrapped); err != nil {
		t.Fatalf("wrap-key: %v\n%s", err, out)
	}
	if out, err := run(t, "member", "init", "--code", "320500", "--out", hz, "--wrapped", wrapped); err == nil {
		t.Fatalf("a key wrapped for 330100 opened as 320500's:\n%s", out)
	}
	if out, err := run(t, "member", "init", "--code", "330100", "--out", hz, "--wrapped", wrapped); err != nil {
		t.Fatalf("member init --wrapped: %v\n%s", err, out)
	}
	readKey := func(p string) schemas.MatchKey {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		k, err := schemas.ParseMatchKey(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	const person = "11010519491231002X"
	if city, founder := readKey(filepath.Join(hz, "keys", "match.key")), readKey(filepath.Join(dir, "310000", "keys", "match.key")); city.HashID(person) != founder.HashID(person) {
		t.Fatal("the city's person hashes do not match the founders'")
	}

	// Bad input: a change with an unknown field names it; nothing is submitted.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"op":"join","code":"330100","colour":"red"}`), 0o644)
	if _, err := run(t, "member", "propose", "--admin", admin("310000"), "--node", urls["310000"], "--change", bad); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("bad change: %v", err)
	}

	// Shanghai proposes the join.
	out, err = run(t, "member", "propose", "--admin", admin("310000"), "--node", urls["310000"], "--change", filepath.Join(hz, "join.json"))
	if err != nil {
		t.Fatalf("propose: %v\n%s", err, out)
	}
	hash := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if hash == nil || !strings.Contains(out, "join 330100, manifest version 1 -> 2") {
		t.Fatalf("propose output:\n%s", out)
	}
	h := hash[1]
	if _, err := run(t, "member", "approve", "ffff", "--admin", admin("320000"), "--node", urls["320000"]); err == nil {
		t.Error("approving a proposal nobody made succeeded")
	}
	approve := func(code string) {
		eventually(t, code+" approves", func() error {
			_, err := run(t, "member", "approve", h[:12], "--admin", admin(code), "--node", urls[code])
			return err
		})
	}
	list := func(code string) string {
		out, err := run(t, "member", "list", "--creds", admin(code), "--node", urls[code])
		if err != nil {
			t.Fatalf("list at %s: %v", code, err)
		}
		return out
	}
	// Two of four is not more than half: no effect.
	approve("320000")
	eventually(t, "Shanghai sees Jiangsu's vote", func() error {
		if out := list("310000"); !strings.Contains(out, "votes 2 of 3 needed: 310000 320000") || !strings.Contains(out, "manifest in force: version 1") {
			return &exitError{msg: out}
		}
		return nil
	})
	// The third vote decides, as every founder sees.
	approve("330000")
	for _, code := range []string{"310000", "320000", "330000", "340000"} {
		eventually(t, code+" sees version 2 in force", func() error {
			if out := list(code); !strings.Contains(out, "manifest in force: version 2, sha256 "+h) || !strings.Contains(out, "330100 杭州市") ||
				!strings.Contains(out, "version 2: join 330100 (杭州市)") || !strings.Contains(out, "pending proposals: 0") {
				return &exitError{msg: out}
			}
			return nil
		})
	}
	// The city's node.yaml points at the manifest in force, as list writes it.
	if _, err := run(t, "member", "list", "--creds", admin("340000"), "--node", urls["340000"], "--write-manifest", filepath.Join(hz, "manifest.yaml")); err != nil {
		t.Fatal(err)
	}
	m, err := exchange.LoadManifest(filepath.Join(hz, "manifest.yaml"))
	if err != nil || exchange.ManifestHash(m) != h || !m.IsFounder("330100") {
		t.Fatalf("the manifest in force as written: %v", err)
	}
	// A second proposal on the superseded manifest is refused at admission.
	g, err := exchange.LoadManifest(filepath.Join(dir, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := client.LoadCredentials(admin("340000"))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := provision.ProposeRecord("340000", creds, g, &exchange.Change{Op: schemas.ChangeLeave, Code: "310000"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := creds.Submit(t.Context(), urls["340000"], e); err == nil || !strings.Contains(err.Error(), "manifest_propose.base") {
		t.Errorf("a proposal on the superseded manifest: %v", err)
	}

	// The city starts; nobody else restarts.
	cfg, err := node.LoadConfig(filepath.Join(hz, "node.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	city, _ := nodetest.Start(t, *cfg)
	cityAdmin, err := client.LoadCredentials(filepath.Join(hz, "agencies", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := provision.ApproveRecord("330100", cityAdmin, h, time.Now()) // any record: the city's ledger grows
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cityAdmin.Submit(t.Context(), city.URL(), first); err != nil {
		t.Fatalf("the city's first record: %v", err)
	}
	eventually(t, "the city's checkpoint is witnessed by the founders", func() error {
		st, err := city.ExchangeStatus()
		if err != nil {
			return err
		}
		if st.Size == 0 || st.Witnessed != st.Size {
			return &exitError{msg: fmt.Sprintf("city size %d, witnessed %d", st.Size, st.Witnessed)}
		}
		return nil
	})
	cst, _ := city.ExchangeStatus()
	for code, n := range founders {
		eventually(t, code+" mirrors the city", func() error {
			st, err := n.ExchangeStatus()
			if err != nil {
				return err
			}
			for _, m := range st.Mirrors {
				if m.Code == "330100" && m.Size >= cst.Size && m.Checkpoint >= cst.Size && !m.Stopped {
					return nil
				}
			}
			return &exitError{msg: fmt.Sprintf("%s mirrors %+v", code, st.Mirrors)}
		})
	}
	// The city mirrors the founders too, each up to its own size.
	eventually(t, "the city mirrors every founder", func() error {
		st, err := city.ExchangeStatus()
		if err != nil {
			return err
		}
		n := 0
		for _, m := range st.Mirrors {
			fst, err := founders[m.Code].ExchangeStatus()
			if err != nil {
				return err
			}
			if m.Size == fst.Size && m.Checkpoint == fst.Size && !m.Stopped {
				n++
			}
		}
		if n != 4 {
			return &exitError{msg: fmt.Sprintf("city mirrors %+v", st.Mirrors)}
		}
		return nil
	})

	// A founder restarted after the join (it need not be) still follows the
	// manifest in force from its ledgers: it mirrors the city's next record.
	founders["340000"] = restart["340000"]()
	second, err := provision.ApproveRecord("330100", cityAdmin, h, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cityAdmin.Submit(t.Context(), city.URL(), second); err != nil {
		t.Fatalf("the city's second record: %v", err)
	}
	eventually(t, "the restarted founder mirrors the city's second record", func() error {
		st, err := founders["340000"].ExchangeStatus()
		if err != nil {
			return err
		}
		for _, m := range st.Mirrors {
			if m.Code == "330100" && m.Size >= 2 && m.Checkpoint >= 2 {
				return nil
			}
		}
		return &exitError{msg: fmt.Sprintf("340000 mirrors %+v", st.Mirrors)}
	})
	// A member that leaves is no longer witnessed: before, a founder's
	// witness knows the city (409, it cosigned more); after the leave is in
	// force, it answers 404 to the city's checkpoints.
	cityCert, _, err := pki.LoadCredentials(filepath.Join(hz, "tls", "member"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cityAdmin.Client.Get(city.URL() + "/ledger/330100/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("city checkpoint: %v %d", err, resp.StatusCode)
	}
	witnessAnswer := func(code string) error {
		mb, _ := m.Member(code)
		c := exchange.NewClient(mb, cityCert, slog.New(slog.DiscardHandler))
		defer c.Close()
		_, err := c.AddCheckpoint(t.Context(), exchange.AddCheckpoint{OldSize: 0, Checkpoint: cp})
		return err
	}
	var ce *exchange.ConflictError
	if err := witnessAnswer("320000"); !errors.As(err, &ce) {
		t.Fatalf("a founder's witness before the leave: %v, want 409", err)
	}
	out, err = run(t, "member", "propose", "--admin", admin("310000"), "--node", urls["310000"], "--leave", "330100")
	if err != nil {
		t.Fatalf("propose leave: %v\n%s", err, out)
	}
	hl := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)[1]
	for _, code := range []string{"320000", "330000"} {
		eventually(t, code+" approves the leave", func() error {
			_, err := run(t, "member", "approve", hl, "--admin", admin(code), "--node", urls[code])
			return err
		})
	}
	for _, code := range []string{"310000", "320000", "330000", "340000"} {
		eventually(t, code+" sees the leave in force", func() error {
			if out := list(code); !strings.Contains(out, "manifest in force: version 3") || !strings.Contains(out, "version 3: leave 330100") {
				return &exitError{msg: out}
			}
			return nil
		})
		// The witness reads the effective members at most 200 ms old.
		eventually(t, code+"'s witness refuses the city", func() error {
			if err := witnessAnswer(code); err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "404") {
				return fmt.Errorf("%s's witness after the leave: %v, want 404", code, err)
			}
			return nil
		})
	}
}
