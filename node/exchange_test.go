package node_test

import (
	"bytes"
	"context"
	"crypto/tls"

	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// member is one consortium member (a single-replica region) in this process.
type member struct {
	code   string
	cfg    node.Config
	n      *node.Node
	cancel context.CancelFunc
	done   chan error
	creds  map[string]*client.Credentials
	// held are the sockets bound for the member's first start
	// (nodetest.HoldListeners); a restart binds cfg's addresses again.
	held node.Listeners
}

var deltaMembers = []provision.MemberSpec{
	{Region: "310000", Name: "Shanghai"}, {Region: "320000", Name: "Jiangsu"},
	{Region: "330000", Name: "Zhejiang"}, {Region: "340000", Name: "Anhui"},
}

// startConsortium prepares and starts the members on loopback.
func startConsortium(t testing.TB, specs []provision.MemberSpec) (map[string]*member, *exchange.Manifest) {
	t.Helper()
	return startConsortiumWith(t, specs, nil)
}

// startConsortiumWith is startConsortium with the manifest changed by edit
// (if not nil) before any member starts.
func startConsortiumWith(t testing.TB, specs []provision.MemberSpec, edit func(*exchange.Manifest)) (map[string]*member, *exchange.Manifest) {
	t.Helper()
	return startConsortiumCfg(t, specs, edit, nil)
}

// startConsortiumCfg is startConsortiumWith with every member's node
// config changed by cfgEdit (if not nil) before it starts.
func startConsortiumCfg(t testing.TB, specs []provision.MemberSpec, edit func(*exchange.Manifest), cfgEdit func(*node.Config)) (map[string]*member, *exchange.Manifest) {
	t.Helper()
	out, m := startConsortiumUnseeded(t, specs, edit, cfgEdit)
	for _, mb := range out {
		mb.seed(t)
	}
	return out, m
}

// seed registers the member's dev agencies (its first records).
func (mb *member) seed(t testing.TB) {
	t.Helper()
	if err := mb.n.SeedDev(context.Background(), filepath.Join(mb.cfg.DataDir, "agencies")); err != nil {
		t.Fatal(err)
	}
}

// startConsortiumUnseeded is startConsortiumCfg without seeding: every
// member's ledger is empty (no checkpoint) until the test seeds it.
func startConsortiumUnseeded(t testing.TB, specs []provision.MemberSpec, edit func(*exchange.Manifest), cfgEdit func(*node.Config)) (map[string]*member, *exchange.Manifest) {
	t.Helper()
	dir := t.TempDir()
	// The sockets are bound now and held until each node starts on them:
	// no other process can take a port in between (a released port once
	// was: TestLoopLogFollowed failed with a bind collision).
	held := map[string]node.Listeners{}
	for i, l := range nodetest.HoldListeners(t, len(specs)) {
		specs[i].API, specs[i].Raft = l.API.Addr().String(), l.Raft.Addr().String()
		held[specs[i].Region] = l
	}
	cfgs, m, err := provision.PrepareConsortium(dir, specs)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if m, err = exchange.ParseManifest(b); err != nil {
			t.Fatal(err)
		}
		for _, cfg := range cfgs {
			if err := os.WriteFile(cfg.Exchange.Manifest, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]*member{}
	for _, cfg := range cfgs {
		c := *cfg
		c.Exchange.PullInterval = 300 * time.Millisecond
		c.Exchange.PushInterval = 50 * time.Millisecond
		if cfgEdit != nil {
			cfgEdit(&c)
		}
		mb := &member{code: c.Region, cfg: c, held: held[c.Region], creds: map[string]*client.Credentials{}}
		for _, name := range []string{"admin", "publisher", "auditor"} {
			cr, err := client.LoadCredentials(filepath.Join(c.DataDir, "agencies", name))
			if err != nil {
				t.Fatal(err)
			}
			if cr.MatchKey, err = provision.DevMatchKey(filepath.Join(c.DataDir, "agencies")); err != nil {
				t.Fatal(err)
			}
			mb.creds[name] = cr
		}
		mb.start(t)
		out[c.Region] = mb
	}
	return out, m
}

func (mb *member) start(t testing.TB) {
	t.Helper()
	cfg := mb.cfg
	cfg.Listeners, mb.held = mb.held, node.Listeners{} // the new node owns them
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})).With("member", mb.code)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mb.n, mb.cancel, mb.done = n, cancel, make(chan error, 1)
	go func() { mb.done <- n.Run(ctx) }()
	t.Cleanup(mb.stop)
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := n.WaitReady(rctx); err != nil {
		t.Fatal(err)
	}
}

// freeAddrs is nodetest.FreeAddrs.
var freeAddrs = nodetest.FreeAddrs

func (mb *member) stop() {
	if mb.cancel == nil {
		return
	}
	mb.cancel()
	<-mb.done
	mb.cancel = nil
}

func (mb *member) listing(t testing.TB, i uint64) ([]byte, *schemas.Listing) {
	t.Helper()
	p := mb.creds["publisher"]
	l, err := synth.Listing(i, synth.Options{Region: mb.code, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

func (mb *member) status(t testing.TB) *node.ExchangeStatus {
	t.Helper()
	st, err := mb.n.ExchangeStatus()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (mb *member) mirror(t testing.TB, code string) node.MirrorStatus {
	for _, m := range mb.status(t).Mirrors {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("%s has no mirror of %s", mb.code, code)
	return node.MirrorStatus{}
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// converged reports whether every member's ledger is witnessed at its full
// size and mirrored at that size by every other member.
func converged(t *testing.T, ms map[string]*member) bool {
	for _, a := range ms {
		st := a.status(t)
		if st.Witnessed != st.Size {
			return false
		}
		for _, b := range ms {
			if b != a && b.mirror(t, a.code).Size != st.Size {
				return false
			}
		}
	}
	return true
}

func TestExchangeListingReachesEveryMember(t *testing.T) {
	ms, m := startConsortium(t, append([]provision.MemberSpec(nil), deltaMembers...))
	zj := ms["330000"]
	e, l := zj.listing(t, 7)
	rs, err := zj.creds["publisher"].Submit(context.Background(), zj.n.URL(), e)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "all ledgers witnessed and mirrored", func() bool { return converged(t, ms) })

	for _, code := range []string{"310000", "320000", "340000"} {
		other := ms[code]
		var res node.CheckAnswer
		if err := other.creds["auditor"].Get(context.Background(), other.n.URL()+"/v1/check?subject="+url.QueryEscape(l.Subject.USCC), &res); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if res.Result != "restricted" || len(res.Listings) != 1 || res.Listings[0].Ref.Origin != "creditx.330000/ledger" || res.Listings[0].Ref.Index != rs[0].Index {
			t.Errorf("%s /v1/check = %+v, want restricted by creditx.330000/ledger %d", code, res, rs[0].Index)
		}
		if ms := other.mirror(t, "330000"); ms.Stopped || ms.Unaccepted != 0 {
			t.Errorf("%s mirror of 330000: %+v", code, ms)
		}
	}
	// The witnessed checkpoint carries at least witness_quorum valid cosignatures.
	self, _ := m.Member("330000")
	var ws []note.Verifier
	for _, o := range m.Others("330000") {
		ws = append(ws, o.WitnessVerifier())
	}
	cp, err := exchange.NewClient(self, tlsCert(t, ms["310000"]), nil).Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names, err := exchange.CountCosignatures(cp, self.LogVerifier(), ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < m.WitnessQuorum {
		t.Fatalf("served checkpoint has cosignatures by %v, want at least %d:\n%s", names, m.WitnessQuorum, cp)
	}
}

// tlsCert loads a member's member certificate.
func tlsCert(t *testing.T, mb *member) tls.Certificate {
	t.Helper()
	c, _, err := pki.LoadCredentials(filepath.Join(mb.cfg.DataDir, "tls", "member"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExchangeCatchesEquivocation(t *testing.T) {
	ms, m := startConsortium(t, append([]provision.MemberSpec(nil), deltaMembers...))
	zj := ms["330000"]
	e, _ := zj.listing(t, 1)
	if _, err := zj.creds["publisher"].Submit(context.Background(), zj.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	// Wait for a quiet, converged state (the ledger may still grow by
	// records the node writes itself), then take the size every witness
	// cosigned last.
	var size uint64
	eventually(t, 20*time.Second, "quiet convergence", func() bool {
		if !converged(t, ms) {
			return false
		}
		s1 := zj.status(t).Size
		time.Sleep(500 * time.Millisecond)
		size = s1
		return converged(t, ms) && zj.status(t).Size == s1 && ms["310000"].mirror(t, "330000").Cosigned == s1
	})

	// 330000 signs a second checkpoint of the same size with another root
	// and shows it to each other member.
	signer, _ := noteKeys(t, zj.cfg.DataDir, "log")
	forged, err := ledger.SignCheckpoint(signer, "creditx.330000/ledger", size, tlog.Hash{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	own := tlsCert(t, zj)
	for _, code := range []string{"310000", "320000", "340000"} {
		mb, _ := m.Member(code)
		c := exchange.NewClient(mb, own, nil)
		lines, err := c.AddCheckpoint(context.Background(), exchange.AddCheckpoint{OldSize: size, Checkpoint: forged})
		c.Close()
		if err == nil {
			t.Errorf("%s cosigned a forged checkpoint: %s", code, lines)
		}
	}
	// A rewritten history: a larger checkpoint whose consistency proof from
	// the cosigned size does not verify.
	rewritten, err := ledger.SignCheckpoint(signer, "creditx.330000/ledger", size+1, tlog.Hash{4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := m.Member("310000")
	c := exchange.NewClient(sh, own, nil)
	lines, err := c.AddCheckpoint(context.Background(), exchange.AddCheckpoint{OldSize: size, Proof: tlog.TreeProof{{7}, {8}}, Checkpoint: rewritten})
	c.Close()
	if err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("rewritten history: cosignature %q, err %v; want a 422 refusal", lines, err)
	}
	eventually(t, 5*time.Second, "310000 keeps the rewritten history as evidence", func() bool {
		as, _ := ms["310000"].n.Alerts()
		return len(as) == 2 && strings.Contains(as[1].Evidence[1], string(rewritten[:40]))
	})
	for _, code := range []string{"310000", "320000", "340000"} {
		other := ms[code]
		eventually(t, 5*time.Second, code+" alert", func() bool {
			as, err := other.n.Alerts()
			return err == nil && len(as) > 0
		})
		as, _ := other.n.Alerts()
		a := as[0]
		if a.Kind != exchange.AlertEquivocation || a.Origin != "creditx.330000/ledger" || len(a.Evidence) != 2 {
			t.Fatalf("%s alert = %+v", code, a)
		}
		if !strings.Contains(a.Evidence[1], string(forged[:len(forged)-1])) && a.Evidence[1] != string(forged) {
			t.Errorf("%s alert does not keep the forged note: %q", code, a.Evidence[1])
		}
		// Both notes verify with 330000's log key: signed evidence.
		self, _ := m.Member("330000")
		for i, ev := range a.Evidence {
			if _, err := ledger.OpenCheckpoint([]byte(ev), "creditx.330000/ledger", self.LogVerifier()); err != nil {
				t.Errorf("%s evidence %d does not verify: %v", code, i, err)
			}
		}
		// The member keeps serving the last good state.
		if got := other.mirror(t, "330000"); got.Size != size || got.Checkpoint != size {
			t.Errorf("%s mirror after the alert: %+v", code, got)
		}
	}
}

func TestExchangeRefusesForeignCA(t *testing.T) {
	ms, m := startConsortium(t, append([]provision.MemberSpec(nil), deltaMembers[:3]...))
	sh, _ := m.Member("310000")
	// A CA that is not in the manifest issues a member certificate claiming 330000.
	ca, err := pki.NewCA("330000", "rogue CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleMember, Region: "330000", Kind: pki.KindMember, ID: "330000", Name: "rogue"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteCredentials(dir, certPEM, keyPEM, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	rogue, _, err := pki.LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := exchange.AddCheckpoint{OldSize: 0, Checkpoint: []byte("x\n")}
	// Pushed onto the server regardless of the CAs it asks for, the
	// certificate fails the QUIC handshake.
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogue, nil }}}
	defer tr.Close()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := hc.Post(sh.Endpoint+exchange.AddCheckpointPath, "text/plain", bytes.NewReader(body.Encode()))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("foreign CA over QUIC: answered %s, want a handshake failure", resp.Status)
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("foreign CA over QUIC: err = %v, want a TLS certificate error", err)
	}
	t.Logf("foreign CA refused: %v", err)
	// Offered normally, the client does not even send it (it chains to no
	// CA the server accepts): the caller is the public, not a member, and a
	// member's ledger is witnessed for its member only (an unknown origin
	// is a 404 for anyone, as tlog-witness says).
	c := exchange.NewClient(sh, rogue, nil)
	defer c.Close()
	memberBody := exchange.AddCheckpoint{OldSize: 0, Checkpoint: []byte("creditx.330000/ledger\n0\n")}
	if _, err = c.AddCheckpoint(context.Background(), memberBody); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("foreign CA offered normally: err = %v, want 401", err)
	}
	// The legitimate member certificate gets through the handshake and an
	// HTTP answer (404: the checkpoint names no known origin).
	good := exchange.NewClient(sh, tlsCert(t, ms["330000"]), nil)
	defer good.Close()
	_, err = good.AddCheckpoint(context.Background(), body)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("member certificate: err = %v, want a 404 answer", err)
	}

}

// TestExchangePartitionHeals stops one member while the others keep
// publishing (and keep being witnessed by the remaining quorum), restarts it,
// lets it publish too, and checks that everyone converges with nothing lost.
func TestExchangePartitionHeals(t *testing.T) {
	ms, _ := startConsortium(t, append([]provision.MemberSpec(nil), deltaMembers...))
	ah, zj, sh := ms["340000"], ms["330000"], ms["310000"]
	publish := func(mb *member, from, to uint64) {
		t.Helper()
		var batch [][]byte
		for i := from; i < to; i++ {
			e, _ := mb.listing(t, i)
			batch = append(batch, e)
		}
		if _, err := mb.creds["publisher"].Submit(context.Background(), mb.n.URL(), batch...); err != nil {
			t.Fatal(err)
		}
	}
	publish(zj, 0, 3)
	eventually(t, 20*time.Second, "initial convergence", func() bool { return converged(t, ms) })

	ah.stop()
	publish(zj, 3, 10)
	publish(sh, 0, 5)
	others := map[string]*member{"310000": sh, "320000": ms["320000"], "330000": zj}
	eventually(t, 20*time.Second, "convergence without 340000", func() bool { return converged(t, others) })

	ah.start(t)
	publish(ah, 0, 4)
	eventually(t, 30*time.Second, "convergence after the partition heals", func() bool { return converged(t, ms) })
	for code, mb := range ms {
		if as, _ := mb.n.Alerts(); len(as) != 0 {
			t.Errorf("%s raised alerts: %+v", code, as)
		}
	}
	if got, want := ah.mirror(t, "330000").Size, zj.status(t).Size; got != want {
		t.Errorf("340000 mirrors %d entries of 330000, want %d", got, want)
	}
}

// TestExchangeCityJoins: Hangzhou (330100) is in the manifest but not a
// founder. Until a quorum of members approved it, it is neither witnessed
// nor mirrored; it catches up the others from genesis meanwhile. Once two of
// the three founders recorded member_approve in their ledgers, it publishes,
// is witnessed and mirrored by everyone.
func TestExchangeCityJoins(t *testing.T) {
	specs := append([]provision.MemberSpec(nil), deltaMembers[:3]...)
	specs = append(specs, provision.MemberSpec{Region: "330100", Name: "Hangzhou", Candidate: true})
	ms, m := startConsortium(t, specs)
	hz, zj := ms["330100"], ms["330000"]
	for _, code := range []string{"310000", "320000", "330000"} {
		var batch [][]byte
		for i := uint64(0); i < 4; i++ {
			e, _ := ms[code].listing(t, i)
			batch = append(batch, e)
		}
		if _, err := ms[code].creds["publisher"].Submit(context.Background(), ms[code].n.URL(), batch...); err != nil {
			t.Fatal(err)
		}
	}
	e, _ := hz.listing(t, 0)
	if _, err := hz.creds["publisher"].Submit(context.Background(), hz.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	// The newcomer catches up every founder from genesis.
	eventually(t, 20*time.Second, "330100 catches up", func() bool {
		for _, code := range []string{"310000", "320000", "330000"} {
			if hz.mirror(t, code).Size != ms[code].status(t).Size {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	if st := hz.status(t); st.Witnessed != 0 {
		t.Fatalf("unapproved member witnessed: %+v", st)
	}
	if got := zj.mirror(t, "330100").Size; got != 0 {
		t.Fatalf("unapproved member mirrored: %d entries", got)
	}
	self, _ := m.Member("330100")
	for _, code := range []string{"310000", "330000"} {
		rec, err := provision.MemberApproval(code, ms[code].creds["admin"], self)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ms[code].creds["admin"].Submit(context.Background(), ms[code].n.URL(), rec); err != nil {
			t.Fatalf("%s approval: %v", code, err)
		}
	}
	e, _ = hz.listing(t, 1)
	if _, err := hz.creds["publisher"].Submit(context.Background(), hz.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "everyone converges with 330100", func() bool { return converged(t, ms) })
}
