package exchange

import (
	"cmp"
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Host is what the runtime needs from the region replica that runs it
// (package node implements it). Everything the runtime decides that must
// survive a leader change goes through Propose; the rest is a cache rebuilt
// from what View reads.
type Host interface {
	// View runs fn in a read transaction of the replica's ledger.db.
	View(fn func(tx *ledger.ReadTx) error) error
	// Propose commits c through the region's raft log (on the leader only,
	// bounded by ctx) and returns what the apply function did once applied
	// on this replica. An error means it may or may not have been applied.
	Propose(ctx context.Context, c Command) (Result, error)
	// IsLeader reports whether this replica leads its region now.
	IsLeader() bool
}

// Config is what a replica gives its runtime.
type Config struct {
	Region      string // this member's code
	Manifest    string // manifest file (ParseManifest)
	Credentials string // member credentials directory (tls.crt, tls.key, ca.crt), role member
	WitnessKey  string // witness signing key file (note key named creditx.<region>/witness)
	WitnessLogs []WitnessLogConfig
	// PullInterval is how often mirrors poll the other members; PushInterval
	// how often the leader looks for a new own checkpoint to have witnessed.
	PullInterval, PushInterval time.Duration
	// WitnessSpares is how many member witnesses beyond the quorum each own
	// checkpoint is pushed to first (issue 20); the others, in rendezvous
	// order, only when those do not make the quorum. 0: none (node's
	// config defaults it to DefaultWitnessSpares). With a witness_policy
	// every member witness is asked.
	WitnessSpares int
	// LogSigner and LogVerifier are the key of the region's own ledger.
	LogSigner   note.Signer
	LogVerifier note.Verifier
	// LoopSigner and LoopVerifier are the key of the region's loop log
	// (sanctions.loop_log; nil when off). It is witnessed when the
	// manifest gives this member a loop_vkey (loop_witness.go).
	LoopSigner   note.Signer
	LoopVerifier note.Verifier
	Logger       *slog.Logger // nil: discard
}

// Runtime is a replica's membership in the consortium: its manifest, its
// member certificate and witness key, clients for the other members, the
// HTTP/3 listener, and the loops run while the replica leads (push loop,
// mirror loops, the witness decision). All decisions that must survive a
// leader change are raft commands (apply.go, through Host.Propose); what is
// here in memory is only a cache rebuilt from ledger.db.
type Runtime struct {
	host     Host
	cfg      Config
	origin   string  // this member's ledger
	loop     *ownLog // this member's loop log, witnessed; nil: none (loop_witness.go)
	manifest *Manifest
	self     *Member
	cosigner *Cosigner
	cert     tls.Certificate
	clients  map[string]*Client // by member code, other members only
	udp      net.PacketConn
	// qt is the one QUIC transport on udp: the HTTP/3 server listens on it
	// and every client dials over it (one UDP socket per member, issue 20).
	// Its Conn is set by ListenHTTP3, before any use.
	qt       *quic.Transport
	answers  answerReaders   // buffers and gzip readers of the clients' answers (answers.go)
	cpCache  CheckpointCache // signature checks of checkpoints, once per signed bytes (cpcache.go)
	loopKeys keyVerifiers    // prepared keys of loop entries' signers, kept across custody syncs (keycache.go)
	keys     keyMemos        // one memory of accepted signatures per manifest key, across the manifests in force (keymemo.go)
	own      ownWitness      // the own witnessed size, wakes long-polls when it grows (watch.go)
	loopOwn  ownWitness      // the same for the own loop log (loop_follow.go)
	follows  followQueue     // verified followed loop checkpoints not yet stored (loop_followbatch.go)
	// cosigLines: served loop cosignature lines not kept, by member (loop_quorum.go)
	cosigLines cosigCounts
	work       workCounters // what the exchange did, for Work (work.go)
	logger     *slog.Logger

	// proofRefusals: served loop proofs refused, by member (loop_proof.go)
	proofRefusals proofRefusals

	alertsTotal *prometheus.CounterVec
	cosigned    *prometheus.CounterVec
	mirrored    *prometheus.CounterVec

	// pushKick wakes the push loop (buffered 1, Applied); pushIdle, if set,
	// replaces pushIdleCheck (tests).
	pushKick chan struct{}
	pushIdle time.Duration
	// loopPushEvery, if set, replaces loopPushEvery (tests).
	loopPushEvery time.Duration
	// followFar, if set, replaces followGapFar (tests).
	followFar time.Duration
	kick      map[string]chan struct{} // origin -> wake its mirror loop (buffered 1)
	open      map[string]note.Verifier // exchange.witness_logs: origin -> log key; fixed after newExchange
	external  *http.Client             // for the policy's external witnesses (HTTPS, no client certificate)
	policy    [16]byte                 // policyDigest(manifest), part of the adopted bucket's key; fixed after newExchange

	// mu guards pushState, served, noCheckpoint and progress.
	mu           sync.Mutex
	pushState    map[string]uint64                       // pushTarget.name (+ " " + origin for the loop log) -> size its witness last cosigned (cache)
	served       map[string][]byte                       // origin -> checkpoint its watch loop received, not yet used (watch.go)
	noCheckpoint map[string]bool                         // origins whose mirror target found nothing to mirror (origin 404, nothing cosigned; mirror_loop.go)
	progress     func(origin string, done, total uint64) // OnMirrorProgress; read by the mirror loops

	// effMu guards the membership cache (see effective); held across its
	// recomputation. Order: effMu before fsm.mu and live.mu (the FSM never
	// takes it).
	effMu  sync.Mutex
	eff    map[string]bool // effective members; nil until first computed
	effSeq uint64          // gov bucket sequence eff was computed at
	effFor *Manifest       // the manifest in force eff was computed for
	effGen uint64          // bumped whenever eff is replaced (the custodian cache's key)
	// effSnap is eff and effGen as last replaced, read without effMu by
	// readers inside Host.View (isCustodianCached): effMu is held across
	// Views, so taking it inside one deadlocks against bbolt's remap (a
	// writer waiting for the View's read lock blocks effective's View).
	effSnap  atomic.Pointer[effSnapshot]
	govScans atomic.Uint64 // recomputations of eff (GovScans)

	// custMu guards cust, the custodian cache (loop_custody.go): whether
	// this member is a custodian of a member code's loop log, for the
	// effective set of generation custGen. Taken after effMu, never before.
	custMu  sync.Mutex
	cust    map[string]bool
	custGen uint64

	live    liveState    // the manifest in force and members that joined (live.go)
	inForce inForceCache // InForceAt, from a transaction (live.go)
}

// New loads the runtime of a replica of member cfg.Region. It returns the
// client CA pool of the replica's API: regionPool plus every member's CA.
func New(cfg Config, host Host, regionPool *x509.CertPool) (*Runtime, *x509.CertPool, error) {
	xc := cfg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := LoadManifest(xc.Manifest)
	if err != nil {
		return nil, nil, err
	}
	self, ok := m.Member(cfg.Region)
	if !ok {
		return nil, nil, fmt.Errorf("exchange: region %s is not in manifest %s", cfg.Region, xc.Manifest)
	}
	if self.LogVerifier().KeyHash() != cfg.LogVerifier.KeyHash() {
		return nil, nil, fmt.Errorf("exchange: the manifest's log_vkey for %s is not this node's log key", cfg.Region)
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
	if id.Role != pki.RoleMember || id.Region != cfg.Region {
		return nil, nil, fmt.Errorf("exchange: member certificate has role %s of region %s, want member of %s", id.Role, id.Region, cfg.Region)
	}
	skey, err := os.ReadFile(xc.WitnessKey)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: witness key: %w", err)
	}
	cs, err := NewCosigner(string(skey))
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
	x := &Runtime{host: host, cfg: cfg, origin: self.Origin(), manifest: m, self: self, cosigner: cs, cert: cert, clients: map[string]*Client{},
		logger: cfg.Logger.With("component", "exchange"), kick: map[string]chan struct{}{}, open: open, external: &http.Client{Timeout: 10 * time.Second}, pushState: map[string]uint64{}, policy: policyDigest(m),
		qt: &quic.Transport{}, pushKick: make(chan struct{}, 1),
	}
	x.keys.share(m) // the configured manifest's keys: the memories later manifests in force share
	if x.loop, err = ownLoopLog(cfg, self); err != nil {
		return nil, nil, err
	}
	x.initMetrics()
	for i := range m.Members {
		mb := &m.Members[i]
		if mb.Code == self.Code {
			continue
		}
		x.clients[mb.Code] = x.memberClient(mb, cert)
		x.kick[mb.Origin()] = make(chan struct{}, 1)
	}
	return x, pool, nil
}

// NewOffline is a runtime of member region of manifest m without
// credentials, clients, listener or loops: the FSM side only (PeerVerifiers,
// LivePeer, AcceptsEntry, ReconcileSchemas) and the views over host (Status,
// Membership), for tools that replay a data directory and for tests.
func NewOffline(m *Manifest, region string, host Host, logger *slog.Logger) (*Runtime, error) {
	self, ok := m.Member(region)
	if !ok {
		return nil, fmt.Errorf("exchange: region %s is not in the manifest", region)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	x := &Runtime{host: host, cfg: Config{Region: region, Logger: logger}, origin: self.Origin(), manifest: m, self: self,
		clients: map[string]*Client{}, kick: map[string]chan struct{}{}, pushState: map[string]uint64{}, policy: policyDigest(m),
		logger: logger.With("component", "exchange"), pushKick: make(chan struct{}, 1)}
	x.keys.share(m)
	x.initMetrics()
	return x, nil
}

func (x *Runtime) initMetrics() {
	x.alertsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_alerts_total",
		Help: "Misbehaviour caught, by kind and origin."}, []string{"kind", "origin"})
	x.cosigned = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_cosigned_total",
		Help: "Checkpoints this member's witness cosigned, by origin."}, []string{"origin"})
	x.mirrored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "creditx_exchange_mirrored_entries_total",
		Help: "Entries verified and committed to a mirror, by origin."}, []string{"origin"})
}

// checkCosigner makes sure the witness key on disk is the manifest's.
func checkCosigner(cs *Cosigner, v note.Verifier) error {
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

// PeerVerifiers are the other members' log keys in the configured
// manifest, for the FSM (Store.Peer; LivePeer adds members that joined):
// their ledgers' and, for members with a loop_vkey, their loop logs'.
func (x *Runtime) PeerVerifiers() map[string]note.Verifier {
	out := map[string]note.Verifier{}
	for i := range x.manifest.Members {
		if mb := &x.manifest.Members[i]; mb.Code != x.self.Code {
			out[mb.Origin()] = mb.LogVerifier()
			if v := mb.LoopVerifier(); v != nil {
				out[mb.LoopOrigin()] = v
			}
		}
	}
	return out
}

// Manifest is the configured manifest (the genesis of the membership
// history); InForce is the one the ledgers approved since.
func (x *Runtime) Manifest() *Manifest { return x.manifest }

// Collectors are the runtime's Prometheus collectors.
func (x *Runtime) Collectors() []prometheus.Collector {
	return []prometheus.Collector{x.alertsTotal, x.cosigned, x.mirrored}
}

// Close closes the clients and the HTTP/3 socket.
func (x *Runtime) Close() error {
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

// ListenHTTP3 opens the UDP socket ServeHTTP3 serves on: addr is the HTTPS
// API's, so HTTP/3 uses the UDP port of the same number.
func (x *Runtime) ListenHTTP3(addr string) error {
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("exchange: HTTP/3 listener: %w", err)
	}
	x.UseHTTP3Conn(udp)
	return nil
}

// UseHTTP3Conn is ListenHTTP3 with a UDP socket bound by the caller (on
// the UDP port of the HTTPS API's number); Close closes it.
func (x *Runtime) UseHTTP3Conn(udp net.PacketConn) {
	x.udp = udp
	x.qt.Conn = udp // the member's one QUIC transport: server and clients
}

// http3Server is the HTTP/3 server of ServeHTTP3. Each QUIC connection
// carries an identity slot (pki.WithConnIdentity), so
// pki.IdentityFromRequest parses a client certificate once per connection.
func http3Server(cfg *tls.Config, h http.Handler) *http3.Server {
	return &http3.Server{Handler: h, TLSConfig: cfg, IdleTimeout: h3IdleTimeout,
		Logger:      slog.New(slog.DiscardHandler),
		ConnContext: func(ctx context.Context, _ *quic.Conn) context.Context { return pki.WithConnIdentity(ctx) }}
}

// ServeHTTP3 serves h (the replica's API) over HTTP/3 on the socket of
// ListenHTTP3, until ctx ends.
func (x *Runtime) ServeHTTP3(ctx context.Context, cfg *tls.Config, h http.Handler) error {
	srv := http3Server(cfg, h)
	// The listener shares x.qt (and so the UDP socket) with the clients. No
	// keep-alives from this side: the clients send them (client.go).
	ln, err := x.qt.ListenEarly(http3.ConfigureTLSConfig(cfg), &quic.Config{MaxIdleTimeout: quicIdleTimeout})
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

// Run drives the push loop and one mirror loop per other member while this
// replica leads; it returns when ctx ends.
func (x *Runtime) Run(ctx context.Context) error {
	return x.runLive(ctx) // live.go: also for members that join
}

// propose runs an exchange command through raft on the leader
// (Host.Propose, bounded by ctx). Exchange commands are never forwarded:
// only the leader runs the loops that make them, and a follower's witness
// endpoint forwards the whole request (the node's handler).
func (x *Runtime) propose(ctx context.Context, c Command) (Result, error) {
	if !x.host.IsLeader() {
		return Result{}, ErrNotLeader
	}
	x.work.countProposal(c)
	return x.host.Propose(ctx, c)
}

// ErrNotLeader: only the region's leader proposes exchange commands.
var ErrNotLeader = errors.New("exchange: this replica is not the leader")

// raiseAlert records evidence through raft (deduplicated by the FSM), logs
// and counts it. It is called on the leader; on a follower (the witness
// endpoint may be hit on any replica) it only logs and counts.
func (x *Runtime) raiseAlert(ev Evidence) {
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
	if !x.host.IsLeader() {
		return
	}
	// Evidence is recorded even when the request or loop that found it has
	// ended: a context of its own, with the default bound.
	if _, err := x.propose(context.Background(), Command{Op: OpAlert, Origin: ev.Origin, Evidence: ev.Encode()}); err != nil {
		x.logger.Error("recording alert failed", "err", err)
	}
}

// Applied tells the runtime the replica applied a batch (its own ledger or
// its witnessed checkpoint may have changed): it wakes the push loop. Cheap;
// called from the FSM after every batch. The push loop sleeps on it: without
// these calls it would look only every pushIdleCheck. (The long-polls wake
// on OwnWitnessed, watch.go.)
func (x *Runtime) Applied() {
	kick(x.pushKick)
	if x.loop != nil {
		kick(x.loop.kick)
	}
}

// kick wakes a push loop without blocking: a wake-up already pending is
// enough, and an offline runtime has no loop (nil channel).
func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pushIdleCheck is how often the leader's push loop looks at its own
// ledger when no apply woke it: a safety net only, as every applied batch
// (an own append, a cosignature recorded) wakes it (Applied).
const pushIdleCheck = 5 * time.Second

// pushLoop has each new checkpoint of own log l (the ledger, or the loop
// log) witnessed by the other members. On
// the leader it sleeps until an applied batch wakes it (Applied; no sooner
// than PushInterval after its last look, so a burst of applies costs at
// most one read per PushInterval) or pushIdleCheck passed; after a failed
// push it retries on a backoff of PushInterval doubling to 2 s. A follower
// only asks IsLeader every PushInterval (no read), so a new leader starts
// pushing within PushInterval.
//
// The loop log is pushed at most every loopPushEvery, and only
// loopPushEvery after an apply woke the loop (pushPacing).
func (x *Runtime) pushLoop(ctx context.Context, l ownLog) {
	interval, settle := x.pushPacing(l)
	var lastDone uint64
	var last time.Time       // when the loop last read its own state
	var wake <-chan struct{} // set when idle on the leader: wait for an apply
	pause, backoff := interval, interval
	for {
		if wake != nil {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-time.After(cmp.Or(x.pushIdle, pushIdleCheck)):
			}
			pause = max(interval-time.Since(last), settle) // a burst of applies: one look per interval
		}
		if pause > 0 && !sleepCtxOK(ctx, pause) {
			return
		}
		wake, pause = nil, interval
		if !x.host.IsLeader() {
			backoff = interval
			continue
		}
		select { // before reading: an apply after the read leaves a kick
		case <-l.kick:
		default:
		}
		last = time.Now()
		size, witnessed, err := x.ownStateOf(l.origin)
		if err != nil {
			continue
		}
		if size == 0 || (witnessed >= size && lastDone == size) {
			backoff, wake = interval, l.kick
			continue
		}
		if err := x.pushLog(ctx, l); err != nil {
			x.logger.Warn("checkpoint not witnessed yet", "origin", l.origin, "size", size, "err", err)
			backoff = min(2*backoff, 2*time.Second)
			pause = backoff
			continue
		}
		lastDone, backoff = size, interval
	}
}

// loopPushEvery is the least time between two pushes of the loop log's
// checkpoint, and how long its push loop waits after an apply woke it
// (issue 20). A listing makes every member write notices to its loop log
// (about 7 each, in one or two batches); each witnessed loop checkpoint
// costs q + s witness raft writes and one store at the origin, then a
// long-poll answer, signature checks (the log's and every cosignature) and
// a consistency proof from tiles at each of the N-1 followers, then their
// follow batches and the custodians' copies. Pushed within PushInterval,
// that wave ran while the listing itself was still propagating: the
// 45-member bench's probe p50 went from 0.4 to 2.5 s once followers no
// longer slept in a broken long-poll's backoff. Waiting lets the listing
// propagate first and the notices of the wave coalesce in one witnessed
// checkpoint. Notices are a member's own closed loop, not needed by the
// other members to punish: the cost is up to loopPushEvery more before a
// notice is witnessed.
const loopPushEvery = 2 * time.Second

// pushPacing is the push loop's interval (the least time between two
// looks) and its settle time (the least wait after an apply woke it) for
// own log l: PushInterval and none for the ledger; for the loop log
// loopPushEvery (x.loopPushEvery in tests) for both, at least
// PushInterval.
func (x *Runtime) pushPacing(l ownLog) (interval, settle time.Duration) {
	if l.origin == x.origin {
		return x.cfg.PushInterval, 0
	}
	every := max(x.cfg.PushInterval, cmp.Or(x.loopPushEvery, loopPushEvery))
	return every, every
}

// sleepCtxOK sleeps d and reports whether ctx is still live.
func sleepCtxOK(ctx context.Context, d time.Duration) bool {
	sleepCtx(ctx, d) // watch.go
	return ctx.Err() == nil
}

// ownState is the own ledger's size and latest witnessed size.
func (x *Runtime) ownState() (size, witnessed uint64, err error) { return x.ownStateOf(x.origin) }

// ownStateOf is own log origin's size and latest witnessed size.
func (x *Runtime) ownStateOf(origin string) (size, witnessed uint64, err error) {
	err = x.host.View(func(tx *ledger.ReadTx) error {
		size = tx.Log(origin).Size()
		if b := tx.Bucket(BucketWitnessed); b != nil {
			if v := b.Get([]byte(origin)); len(v) >= 8 {
				witnessed = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return
}

// pushOnce has the latest own ledger checkpoint witnessed (pushLog).
func (x *Runtime) pushOnce(ctx context.Context) error { return x.pushLog(ctx, x.ledgerLog()) }

// pushLog sends the latest checkpoint of own log l to the other members'
// witnesses and stores it with the cosignatures once a quorum answered.
func (x *Runtime) pushLog(ctx context.Context, l ownLog) error {
	var signed []byte
	err := x.host.View(func(tx *ledger.ReadTx) error {
		var err error
		signed, err = tx.Log(l.origin).Checkpoint()
		return err
	})
	if err != nil {
		return err
	}
	cp, err := ledger.OpenCheckpoint(signed, l.origin, l.v)
	if err != nil {
		return err
	}
	if l.origin == x.origin {
		x.work.ledgerPushes.Add(1)
	} else {
		x.work.loopPushes.Add(1)
	}
	// Send the note with the log's signature only.
	plain, err := ledger.SignCheckpoint(l.signer, l.origin, cp.Size, cp.Root)
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
			if _, ok, err := x.m().witnessedBy(x.self.Code, l.v, AddSignatures(plain, lines...)); err == nil && ok {
				break
			}
			x.logger.Debug("witnesses missed the quorum; asking the others", "size", cp.Size, "errors", strings.Join(errs, "; "))
		}
		ch := make(chan answer, len(batch))
		for _, tg := range batch {
			go func() {
				lines, err := x.pushTo(pctx, l, tg, cp.Size, plain)
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
	witnessed := AddSignatures(plain, lines...)
	if names, ok, err := x.m().witnessedBy(x.self.Code, l.v, witnessed); err != nil || !ok {
		if err != nil {
			errs = append(errs, "bad cosignature: "+err.Error())
		}
		m := x.m()
		quorum := fmt.Sprintf("witness_quorum %d", m.WitnessQuorum)
		if p := m.Policy(); p != nil {
			quorum = fmt.Sprintf("the witness_policy's quorum %q", p.Quorum())
		}
		return fmt.Errorf("cosignatures by %v do not meet %s (%s)", names, quorum, strings.Join(errs, "; "))
	}
	res, err := x.propose(ctx, Command{Op: OpCosigned, Origin: l.origin, Checkpoint: witnessed})
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	x.logger.Debug("checkpoint witnessed", "origin", l.origin, "size", cp.Size, "cosignatures", len(lines))
	return nil
}

// pushTarget is a witness this member submits its checkpoints to: another
// effective member (HTTP/3, mutual TLS) or an external witness of the
// manifest's witness_policy (HTTPS, no client certificate).
type pushTarget struct {
	name   string // member code, or "policy:<witness name>"
	v      note.Verifier
	submit func(context.Context, AddCheckpoint) ([]byte, error)
}

// pushTargets are the witnesses to push to: the effective members in
// rendezvous order of this origin (WitnessOrder), then the policy's
// external witnesses. The first first of them are asked at once: the
// manifest's fan-out of member witnesses (quorum + spares) and every
// external witness.
func (x *Runtime) pushTargets() (targets []pushTarget, first int) {
	byCode := map[string]*Member{}
	var codes []string
	for _, mb := range x.effectiveOthers() {
		if x.client(mb.Code) == nil {
			continue // joined a moment ago: its client comes with the next runLive round (live.go)
		}
		byCode[mb.Code] = mb
		codes = append(codes, mb.Code)
	}
	var members, external []pushTarget
	for _, code := range WitnessOrder(x.origin, codes) {
		mb := byCode[code]
		members = append(members, pushTarget{name: mb.Code, v: mb.WitnessVerifier(), submit: x.client(mb.Code).AddCheckpoint})
	}
	// The manifest in force (membership records included): a member that
	// joined or left, or rotated its witness key, changes which of the
	// policy's witnesses are members and which are external.
	m := x.m()
	for _, w := range m.ExternalWitnesses() {
		c := &WitnessClient{URL: w.URL, HC: x.external}
		external = append(external, pushTarget{name: "policy:" + w.Name, v: w.Verifier, submit: c.AddCheckpoint})
	}
	fan := m.FanOut(len(members), x.cfg.WitnessSpares)
	targets = append(append(append(targets, members[:fan]...), external...), members[fan:]...)
	return targets, fan + len(external)
}

// pushTo submits one checkpoint to one witness, learning its last cosigned
// size from a 409 if the cached one is stale, and returns its cosignature
// lines once they verify with its key.
func (x *Runtime) pushTo(ctx context.Context, l ownLog, tg pushTarget, size uint64, plain []byte) ([]byte, error) {
	key := tg.name // the ledger's; another own log's is keyed by its origin too
	if l.origin != x.origin {
		key += " " + l.origin
	}
	x.mu.Lock()
	old := x.pushState[key]
	x.mu.Unlock()
	for attempt := 0; attempt < 3; attempt++ {
		if old > size {
			return nil, fmt.Errorf("witness last cosigned size %d, larger than ours %d", old, size)
		}
		req := AddCheckpoint{OldSize: old, Checkpoint: plain}
		if old > 0 && old < size {
			var p tlog.TreeProof
			err := x.host.View(func(tx *ledger.ReadTx) error {
				var err error
				p, err = tx.Log(l.origin).ConsistencyProof(old, size)
				return err
			})
			if err != nil {
				return nil, err
			}
			req.Proof = p
		}
		lines, err := tg.submit(ctx, req)
		var ce *ConflictError
		if errors.As(err, &ce) {
			old = ce.KnownSize
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := note.Open(append(append([]byte(nil), plain...), lines...), note.VerifierList(l.v, tg.v)); err != nil {
			return nil, fmt.Errorf("bad cosignature: %w", err)
		}
		x.mu.Lock()
		x.pushState[key] = size
		x.mu.Unlock()
		return lines, nil
	}
	return nil, fmt.Errorf("witness keeps answering 409")
}

// SetProgress sets a function told after every mirror batch committed
// (origin, entries mirrored, checkpoint size): the catch-up progress of the
// CLI and the demo.
func (x *Runtime) SetProgress(fn func(origin string, done, total uint64)) {
	x.mu.Lock()
	x.progress = fn
	x.mu.Unlock()
}

// memberClient is this runtime's client of member mb: over its QUIC
// transport, reading answers with its kept buffers (answers.go).
func (x *Runtime) memberClient(mb *Member, cert tls.Certificate) *Client {
	c := NewClientOn(mb, cert, slog.New(slog.DiscardHandler), x.qt)
	c.answers = &x.answers
	return c
}
