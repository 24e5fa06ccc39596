package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// exchangeNode is a node's membership in the consortium: its manifest, its
// member certificate and witness key, clients for the other members, the
// HTTP/3 listener, and the loops run while this replica leads. All decisions
// that must survive a leader change are raft commands (exchange_fsm.go);
// what is here in memory is only a cache rebuilt from ledger.db.
type exchangeNode struct {
	n        *Node
	manifest *exchange.Manifest
	self     *exchange.Member
	cosigner *exchange.Cosigner
	cert     tls.Certificate
	clients  map[string]*exchange.Client // by member code, other members only
	udp      net.PacketConn
	// qt is the one QUIC transport on udp: the HTTP/3 server listens on it
	// and every client dials over it (one UDP socket per member, issue 20).
	// Its Conn is set in New once udp is bound, before any use.
	qt      *quic.Transport
	cpCache exchange.CheckpointCache // signature checks of checkpoints, once per signed bytes
	logger  *slog.Logger

	alertsTotal *prometheus.CounterVec
	cosigned    *prometheus.CounterVec
	mirrored    *prometheus.CounterVec

	kick     map[string]chan struct{} // origin -> wake its mirror loop (buffered 1)
	open     map[string]note.Verifier // exchange.witness_logs: origin -> log key; fixed after newExchange
	external *http.Client             // for the policy's external witnesses (HTTPS, no client certificate)
	policy   [16]byte                 // policyDigest(manifest), part of the adopted bucket's key; fixed after newExchange

	mu        sync.Mutex
	pushState map[string]uint64 // pushTarget.name -> size its witness last cosigned (cache)
	served    map[string][]byte // origin -> checkpoint its watch loop received, not yet used (exchange_watch.go)
	eff       map[string]bool   // effective members (cache, see effective)
	effAt     time.Time
	effSizes  uint64
	progress  func(origin string, done, total uint64)
	live      liveState // the manifest in force and members that joined (membership_live.go)
}

// newExchange loads the exchange section. It returns the client CA pool of
// the API (the region CA plus every member's CA).
func newExchange(n *Node, regionPool *x509.CertPool) (*exchangeNode, *x509.CertPool, error) {
	xc := n.cfg.Exchange
	m, err := exchange.LoadManifest(xc.Manifest)
	if err != nil {
		return nil, nil, err
	}
	self, ok := m.Member(n.cfg.Region)
	if !ok {
		return nil, nil, fmt.Errorf("exchange: region %s is not in manifest %s", n.cfg.Region, xc.Manifest)
	}
	if self.LogVerifier().KeyHash() != n.logVerifier.KeyHash() {
		return nil, nil, fmt.Errorf("exchange: the manifest's log_vkey for %s is not this node's log key", n.cfg.Region)
	}
	cert, _, err := pki.LoadCredentials(xc.Credentials)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: member credentials: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	id, err := pki.IdentityFromCert(leaf)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: member certificate: %w", err)
	}
	if id.Role != pki.RoleMember || id.Region != n.cfg.Region {
		return nil, nil, fmt.Errorf("exchange: member certificate has role %s of region %s, want member of %s", id.Role, id.Region, n.cfg.Region)
	}
	skey, err := os.ReadFile(xc.WitnessKey)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: witness key: %w", err)
	}
	cs, err := exchange.NewCosigner(string(skey))
	if err != nil {
		return nil, nil, err
	}
	if err := checkCosigner(cs, self.WitnessVerifier()); err != nil {
		return nil, nil, err
	}
	open, err := loadWitnessLogs(m, xc.WitnessLogs)
	if err != nil {
		return nil, nil, err
	}
	pool := regionPool.Clone()
	for i := range m.Members {
		pool.AddCert(m.Members[i].CACert())
	}
	x := &exchangeNode{n: n, manifest: m, self: self, cosigner: cs, cert: cert, clients: map[string]*exchange.Client{},
		logger: n.logger.With("component", "exchange"), kick: map[string]chan struct{}{}, open: open, qt: &quic.Transport{}, external: &http.Client{Timeout: 10 * time.Second}, pushState: map[string]uint64{}, policy: policyDigest(m),
		alertsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_alerts_total",
			Help: "Misbehaviour caught, by kind and origin."}, []string{"kind", "origin"}),
		cosigned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_cosigned_total",
			Help: "Checkpoints this member's witness cosigned, by origin."}, []string{"origin"}),
		mirrored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_mirrored_entries_total",
			Help: "Entries verified and committed to a mirror, by origin."}, []string{"origin"}),
	}
	for i := range m.Members {
		mb := &m.Members[i]
		if mb.Code == self.Code {
			continue
		}
		x.clients[mb.Code] = exchange.NewClientOn(mb, cert, slog.New(slog.DiscardHandler), x.qt)
		x.kick[mb.Origin()] = make(chan struct{}, 1)
	}
	return x, pool, nil
}

// checkCosigner makes sure the witness key on disk is the manifest's.
func checkCosigner(cs *exchange.Cosigner, v note.Verifier) error {
	n := &note.Note{Text: "creditx.000000/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}
	lines, err := cs.Cosign(n)
	if err != nil {
		return err
	}
	if _, err := note.Open(append([]byte(n.Text+"\n"), lines...), note.VerifierList(v)); err != nil {
		return fmt.Errorf("exchange: witness key does not match the manifest's witness_vkey: %w", err)
	}
	return nil
}

// peerVerifiers are the other members' log keys, for the FSM.
func (x *exchangeNode) peerVerifiers() map[string]note.Verifier {
	out := map[string]note.Verifier{}
	for i := range x.manifest.Members {
		if mb := &x.manifest.Members[i]; mb.Code != x.self.Code {
			out[mb.Origin()] = mb.LogVerifier()
		}
	}
	return out
}

func (x *exchangeNode) collectors() []prometheus.Collector {
	return []prometheus.Collector{x.alertsTotal, x.cosigned, x.mirrored}
}

func (x *exchangeNode) close() error {
	var err error
	for _, c := range x.clients {
		err = errors.Join(err, c.Close())
	}
	err = errors.Join(err, x.closeLive())
	if x.udp != nil {
		err = errors.Join(err, x.qt.Close(), x.udp.Close())
	}
	return err
}

// serveHTTP3 serves the node's API over HTTP/3 on the UDP port of the same
// number as the HTTPS API, until ctx ends.
func (x *exchangeNode) serveHTTP3(ctx context.Context, cfg *tls.Config) error {
	srv := &http3.Server{Handler: x.n.Handler(), TLSConfig: cfg, IdleTimeout: 60 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
	// The listener shares x.qt (and so the UDP socket) with the clients.
	ln, err := x.qt.ListenEarly(http3.ConfigureTLSConfig(cfg), &quic.Config{MaxIdleTimeout: 60 * time.Second})
	if err != nil {
		return fmt.Errorf("exchange: HTTP/3 listener: %w", err)
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
		ln.Close()
	}()
	err = srv.ServeListener(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// run drives the push loop and one mirror loop per other member while this
// replica leads; it returns when ctx ends.
func (x *exchangeNode) run(ctx context.Context) error {
	return x.runLive(ctx) // membership_live.go: also for members that join
}

// propose runs an exchange command through raft on the leader.
func (x *exchangeNode) propose(c command) (*applyResult, error) {
	b, err := encodeCommand(c)
	if err != nil {
		return nil, err
	}
	if !x.n.IsLeader() {
		return nil, errNotLeader
	}
	f := x.n.rep.raft.Apply(b, 10*time.Second)
	if err := f.Error(); err != nil {
		return nil, err
	}
	res, ok := f.Response().(*applyResult)
	if !ok || res == nil {
		return nil, fmt.Errorf("raft returned no result")
	}
	return res, nil
}

// raiseAlert records evidence through raft (deduplicated by the FSM), logs
// and counts it. It is called on the leader; on a follower (the witness
// endpoint may be hit on any replica) it only logs and counts.
func (x *exchangeNode) raiseAlert(ev exchange.Evidence) {
	ev.Time = time.Now().UTC().Truncate(time.Second)
	items := ev.Items[:0:0]
	for _, it := range ev.Items {
		if len(it) > 0 { // e.g. no earlier note when nothing was cosigned yet
			items = append(items, it)
		}
	}
	ev.Items = items
	x.alertsTotal.WithLabelValues(ev.Kind, ev.Origin).Inc()
	x.logger.Error("exchange alert", "kind", ev.Kind, "origin", ev.Origin, "index", ev.Index, "reason", ev.Reason)
	if !x.n.IsLeader() {
		return
	}
	if _, err := x.propose(command{op: opAlert, origin: ev.Origin, evidence: ev.Encode()}); err != nil {
		x.logger.Error("recording alert failed", "err", err)
	}
}

// pushLoop has each new own checkpoint witnessed by the other members.
func (x *exchangeNode) pushLoop(ctx context.Context) {
	interval := x.n.cfg.Exchange.PushInterval
	var lastDone uint64
	backoff := interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if !x.n.IsLeader() {
			backoff = interval
			continue
		}
		size, witnessed, err := x.ownState()
		if err != nil || size == 0 || (witnessed >= size && lastDone == size) {
			backoff = interval
			continue
		}
		if err := x.pushOnce(ctx); err != nil {
			x.logger.Warn("checkpoint not witnessed yet", "size", size, "err", err)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		lastDone, backoff = size, interval
	}
}

// ownState is the own ledger's size and latest witnessed size.
func (x *exchangeNode) ownState() (size, witnessed uint64, err error) {
	err = x.n.fsm.view(func(tx *ledger.ReadTx) error {
		size = tx.Log(x.n.origin).Size()
		if b := tx.Bucket(bucketWitnessed); b != nil {
			if v := b.Get([]byte(x.n.origin)); len(v) >= 8 {
				witnessed = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return
}

// pushOnce sends the latest own checkpoint to every other active member's
// witness and stores it with the cosignatures once a quorum answered.
func (x *exchangeNode) pushOnce(ctx context.Context) error {
	var signed []byte
	err := x.n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		signed, err = tx.Log(x.n.origin).Checkpoint()
		return err
	})
	if err != nil {
		return err
	}
	cp, err := ledger.OpenCheckpoint(signed, x.n.origin, x.n.logVerifier)
	if err != nil {
		return err
	}
	// Send the note with the log's signature only.
	plain, err := ledger.SignCheckpoint(x.n.fsm.logs[x.n.origin].signer, x.n.origin, cp.Size, cp.Root)
	if err != nil {
		return err
	}
	// The quorum plus spares first, in rendezvous order; the rest of the
	// effective members only if those do not make the quorum (issue 20).
	targets, first := x.pushTargets()
	type answer struct {
		name  string
		lines []byte
		err   error
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var lines [][]byte
	var errs []string
	for round, batch := range [][]pushTarget{targets[:first], targets[first:]} {
		if round > 0 {
			if _, ok, err := x.m().Witnessed(x.self.Code, exchange.AddSignatures(plain, lines...)); err == nil && ok {
				break
			}
			x.logger.Debug("witnesses missed the quorum; asking the others", "size", cp.Size, "errors", strings.Join(errs, "; "))
		}
		ch := make(chan answer, len(batch))
		for _, tg := range batch {
			go func() {
				lines, err := x.pushTo(pctx, tg, cp.Size, plain)
				ch <- answer{tg.name, lines, err}
			}()
		}
		for range batch {
			a := <-ch
			if a.err != nil {
				errs = append(errs, a.name+": "+a.err.Error())
				continue
			}
			lines = append(lines, a.lines)
		}
	}
	witnessed := exchange.AddSignatures(plain, lines...)
	if names, ok, err := x.m().Witnessed(x.self.Code, witnessed); err != nil || !ok {
		if err != nil {
			errs = append(errs, "bad cosignature: "+err.Error())
		}
		quorum := fmt.Sprintf("witness_quorum %d", x.manifest.WitnessQuorum)
		if p := x.manifest.Policy(); p != nil {
			quorum = fmt.Sprintf("the witness_policy's quorum %q", p.Quorum())
		}
		return fmt.Errorf("cosignatures by %v do not meet %s (%s)", names, quorum, strings.Join(errs, "; "))
	}
	res, err := x.propose(command{op: opCosigned, origin: x.n.origin, checkpoint: witnessed})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return res.Err
	}
	x.logger.Debug("checkpoint witnessed", "size", cp.Size, "cosignatures", len(lines))
	return nil
}

// pushTarget is a witness this member submits its checkpoints to: another
// effective member (HTTP/3, mutual TLS) or an external witness of the
// manifest's witness_policy (HTTPS, no client certificate).
type pushTarget struct {
	name   string // member code, or "policy:<witness name>"
	v      note.Verifier
	submit func(context.Context, exchange.AddCheckpoint) ([]byte, error)
}

// pushTargets are the witnesses to push to: the effective members in
// rendezvous order of this origin (exchange.WitnessOrder), then the
// policy's external witnesses. The first first of them are asked at once:
// the manifest's fan-out of member witnesses (quorum + spares) and every
// external witness.
func (x *exchangeNode) pushTargets() (targets []pushTarget, first int) {
	byCode := map[string]*exchange.Member{}
	var codes []string
	for _, mb := range x.effectiveOthers() {
		if x.client(mb.Code) == nil {
			continue // joined a moment ago: its client comes with the next runLive round (membership_live.go)
		}
		byCode[mb.Code] = mb
		codes = append(codes, mb.Code)
	}
	var members, external []pushTarget
	for _, code := range exchange.WitnessOrder(x.n.origin, codes) {
		mb := byCode[code]
		members = append(members, pushTarget{name: mb.Code, v: mb.WitnessVerifier(), submit: x.client(mb.Code).AddCheckpoint})
	}
	for _, w := range x.manifest.ExternalWitnesses() {
		c := &exchange.WitnessClient{URL: w.URL, HC: x.external}
		external = append(external, pushTarget{name: "policy:" + w.Name, v: w.Verifier, submit: c.AddCheckpoint})
	}
	fan := x.m().FanOut(len(members), x.n.cfg.Exchange.WitnessSpares)
	targets = append(append(append(targets, members[:fan]...), external...), members[fan:]...)
	return targets, fan + len(external)
}

// pushTo submits one checkpoint to one witness, learning its last cosigned
// size from a 409 if the cached one is stale, and returns its cosignature
// lines once they verify with its key.
func (x *exchangeNode) pushTo(ctx context.Context, tg pushTarget, size uint64, plain []byte) ([]byte, error) {
	x.mu.Lock()
	old := x.pushState[tg.name]
	x.mu.Unlock()
	for attempt := 0; attempt < 3; attempt++ {
		if old > size {
			return nil, fmt.Errorf("witness last cosigned size %d, larger than ours %d", old, size)
		}
		req := exchange.AddCheckpoint{OldSize: old, Checkpoint: plain}
		if old > 0 && old < size {
			var p tlog.TreeProof
			err := x.n.fsm.view(func(tx *ledger.ReadTx) error {
				var err error
				p, err = tx.Log(x.n.origin).ConsistencyProof(old, size)
				return err
			})
			if err != nil {
				return nil, err
			}
			req.Proof = p
		}
		lines, err := tg.submit(ctx, req)
		var ce *exchange.ConflictError
		if errors.As(err, &ce) {
			old = ce.KnownSize
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := note.Open(append(append([]byte(nil), plain...), lines...), note.VerifierList(x.n.logVerifier, tg.v)); err != nil {
			return nil, fmt.Errorf("bad cosignature: %w", err)
		}
		x.mu.Lock()
		x.pushState[tg.name] = size
		x.mu.Unlock()
		return lines, nil
	}
	return nil, fmt.Errorf("witness keeps answering 409")
}

// OnMirrorProgress sets a function told after every mirror batch committed
// (origin, entries mirrored, checkpoint size): the catch-up progress of the
// CLI and the demo. Set it before Run.
func (n *Node) OnMirrorProgress(fn func(origin string, done, total uint64)) {
	if n.x != nil {
		n.x.progress = fn
	}
}

// ExportExchange writes this member's own ledger and every mirror as static
// C2SP tlog-tiles trees (ledger.Export) under dir/<member code>/, each with
// its vkey; the checkpoint files are the stored ones (with cosignature lines
// once witnessed).
func (n *Node) ExportExchange(ctx context.Context, dir string) error {
	if n.x == nil {
		return fmt.Errorf("this node is not a consortium member")
	}
	m := n.x.m() // membership_live.go: members that joined too
	for i := range m.Members {
		mb := &m.Members[i]
		n.fsm.mu.RLock()
		l := n.fsm.store.Log(mb.Origin())
		err := ledger.Export(ctx, l, filepath.Join(dir, mb.Code), strings.TrimSpace(mb.LogVKey))
		n.fsm.mu.RUnlock()
		if err != nil {
			return fmt.Errorf("exporting %s: %w", mb.Origin(), err)
		}
	}
	return nil
}
