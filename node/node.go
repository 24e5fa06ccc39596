package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/admission"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/internal/sigmemo"
	"github.com/creditx/creditx/internal/startcheck"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"
)

// ledgerDBName is the file of ledgers, mirrors and indexes (package ledger)
// in a replica's data directory. Changing it breaks existing data
// directories.
const ledgerDBName = "ledger.db"

// Node is one replica of a region's node: raft-replicated ledger, indexes and
// the HTTPS API. Create it with New, run it with Run, which returns after ctx
// ends and everything is shut down.
type Node struct {
	cfg         Config      // immutable after New
	bundles     bundleCache // entry bundles' privacy scan and gzip, by content (tiles_cache.go)
	origin      string      // schemas.LedgerOrigin(cfg.Region)
	access      string      // schemas.AccessOrigin(cfg.Region)
	logger      *slog.Logger
	fsm         *fsm
	appends     coalescer // the leader's merging of concurrent appends to origin (coalesce.go)
	rep         *raftcluster.Replica
	index       *indexer
	admit       *admission.Checker              // built in New after index (newAdmitter), before raft opens; fixed after
	sanctions   *sanctionsState                 // engines and notice signer (notices.go); fixed after New
	keyring     atomic.Pointer[schemas.Keyring] // rebuilt from governance records; the Keyring itself is safe for concurrent use
	validate    *schemas.Validator
	matchKey    schemas.MatchKey
	vault       *vault.Ring // from cfg.VaultKey; nil: the vault is disabled. The pointer is fixed after New; the key ratchets (package vault)
	logVerifier note.Verifier

	tlsCert tls.Certificate
	tlsCfg  *tls.Config  // server side of the HTTPS API
	peer    *http.Client // replica-to-replica (forwarding to the leader), mutual TLS
	apiLn   net.Listener
	raftLn  net.Listener
	raftAdv string // raft address this replica advertises (the bound port when configured as :0); fixed after New
	metrics *metrics
	// ckpt rewrites ledger.checkpoint after each batch (fsmHooks.Applied);
	// set by checkAtStart before raft starts, fixed after.
	ckpt    *startcheck.Saver
	limiter *limits.Limiter // from cfg.RateLimit; shared by the HTTPS and HTTP/3 servers
	// checkWorkers run GET and POST /v1/check on goroutines whose stacks
	// have grown already (httpx.Workers): the check's hot path.
	checkWorkers *httpx.Workers
	started      time.Time
	x            *exchange.Runtime // nil unless cfg.Exchange is set
	xviews       atomic.Uint64     // ledger.db reads the exchange runtime made (exchangeHost.View; exchange.Work.Views)
}

// New opens the replica's stores and raft, and binds its listeners (so that
// the addresses are known, e.g. for port 0 in tests) unless cfg.Listeners
// gives them, but serves nothing until Run.
func New(cfg Config) (n *Node, err error) {
	given := cfg.Listeners // the node's from here, closed if New fails
	defer func() {
		if err != nil {
			given.close()
		}
	}()
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, origin: schemas.LedgerOrigin(cfg.Region), access: schemas.AccessOrigin(cfg.Region), logger: cfg.Logger, started: time.Now()}
	cleanup := []func() error{}
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	logSigner, logVerifier, err := loadNoteKey("log", cfg.LogKey, n.origin)
	if err != nil {
		return nil, err
	}
	n.logVerifier = logVerifier
	accSigner, accVerifier, err := loadNoteKey("access", cfg.AccessKey, n.access)
	if err != nil {
		return nil, err
	}
	mk, err := os.ReadFile(cfg.MatchKey)
	if err != nil {
		return nil, fmt.Errorf("match key: %w", err)
	}
	if n.matchKey, err = schemas.ParseMatchKey(strings.TrimSpace(string(mk))); err != nil {
		return nil, fmt.Errorf("match key %s: %w", cfg.MatchKey, err)
	}
	if n.vault, err = vault.LoadRing(cfg.VaultKey); err != nil {
		return nil, err
	}
	anchors, err := parseAnchors(cfg.Region, cfg.Anchors)
	if err != nil {
		return nil, err
	}
	kr, err := schemas.NewKeyring(anchors)
	if err != nil {
		return nil, fmt.Errorf("anchors: %w", err)
	}
	n.keyring.Store(kr)
	n.validate = schemas.NewValidator(nil)
	n.metrics = newMetrics()
	n.limiter = limits.NewLimiter(cfg.RateLimit, time.Now)
	n.checkWorkers = httpx.NewWorkers(checkWorkersMax, 10*time.Second)

	cert, pool, err := pki.LoadCredentials(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("replica credentials: %w", err)
	}
	n.tlsCert = cert
	n.tlsCfg = pki.ServerConfig(cert, pool)
	// Every signed-note key is read once, here: the FSM signs with these and
	// the exchange runtime witnesses the ledger and loop log under them.
	signing := map[string]signingLog{
		n.origin: {signer: logSigner, verifier: logVerifier},
		n.access: {signer: accSigner, verifier: accVerifier},
	}
	if err := n.addLoopLog(signing); err != nil { // notices.go
		return nil, err
	}
	if cfg.Exchange != nil {
		x, xpool, err := newExchange(n, signing, pool)
		if err != nil {
			return nil, err
		}
		n.x = x
		cleanup = append(cleanup, x.Close)
		n.tlsCfg = x.LiveTLS(pki.ServerConfig(cert, xpool), pool) // exchange/live.go
	}
	peerCfg, err := pki.PeerConfig(cert, pool)
	if err != nil {
		return nil, err
	}
	// Forwarding to the leader's HTTPS API: the replica's certificate proves
	// the role; the leader's certificate is checked against the region CA.
	fwdCfg := pki.ClientConfig(cert, pool, "")
	n.peer = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: fwdCfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if n.sanctions, err = newSanctions(cfg); err != nil {
		return nil, err
	}
	n.index = newIndexer(n)
	n.admit = newAdmitter(n, n.index) // admission.go: hands its parses to the indexer
	ms, err := startcheck.Meta(filepath.Join(cfg.DataDir, ledgerDBName), n.logger)
	if err != nil {
		return nil, err
	}
	f, err := newFSM(filepath.Join(cfg.DataDir, ledgerDBName), ledger.Options{Logger: n.logger}, fsmConfig{
		logs:         signing,
		indexer:      n.index,
		host:         newFSMHooks(n), // fsm_host.go
		vault:        n.vault,
		lookupOrigin: n.access, // lookupcap.go
		logger:       n.logger,
	})
	if err != nil {
		return nil, startcheck.OpenError(filepath.Join(cfg.DataDir, ledgerDBName), err)
	}
	n.fsm = f
	cleanup = append(cleanup, f.close)
	if err := n.checkAtStart(ms, accVerifier); err != nil {
		return nil, err
	}
	if err := f.backfillRecordHashes(); err != nil { // dedupe.go
		return nil, fmt.Errorf("indexing record hashes: %w", err)
	}
	if err := n.rebuildKeyring(); err != nil {
		return nil, err
	}
	// A crash between an erasure's commit and the key file's replacement
	// left the old vault key on disk: finish the ratchet before serving.
	if err := n.syncVaultEpoch(); err != nil {
		return nil, err
	}

	// Sockets given in cfg.Listeners are used as they are; the others are
	// bound here.
	if n.apiLn = cfg.Listeners.API; n.apiLn == nil {
		if n.apiLn, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, n.apiLn.Close)
	}
	if n.x != nil {
		// HTTP/3 on the UDP port of the same number as the HTTPS API.
		if udp := cfg.Listeners.HTTP3; udp != nil {
			n.x.UseHTTP3Conn(udp)
		} else if err := n.x.ListenHTTP3(n.apiLn.Addr().String()); err != nil {
			return nil, err
		}
	} else if udp := cfg.Listeners.HTTP3; udp != nil {
		udp.Close() // no HTTP/3 without an exchange
	}
	if n.raftLn = cfg.Listeners.Raft; n.raftLn == nil {
		if n.raftLn, err = net.Listen("tcp", cfg.RaftListen); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, n.raftLn.Close)
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.RaftAdvertise)
	if err != nil {
		return nil, fmt.Errorf("raft_advertise: %w", err)
	}
	if adv.Port == 0 {
		// port 0 (tests): advertise the port actually bound; only meaningful
		// for a single replica, whose peer list is itself.
		adv = n.raftLn.Addr().(*net.TCPAddr)
		if len(cfg.Peers) == 1 {
			cfg.Peers[0].Raft, cfg.Peers[0].API = adv.String(), "https://"+n.apiLn.Addr().String()
		}
	}
	n.raftAdv = adv.String()
	sl := pki.NewTLSStreamLayer(n.raftLn, adv, peerCfg, peerCfg)
	n.rep, err = raftcluster.Open(cfg.DataDir, cfg.ReplicaID, cfg.Raft, cfg.Peers, cfg.Bootstrap, n.fsm, sl, n.logger)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Addr is the address the HTTPS API listens on.
func (n *Node) Addr() string { return n.apiLn.Addr().String() }

// RaftAddr is the address the raft transport listens on.
func (n *Node) RaftAddr() string { return n.raftLn.Addr().String() }

// URL is the base URL of the HTTPS API.
func (n *Node) URL() string { return "https://" + n.Addr() }

// Origin is the origin line of the region's ledger.
func (n *Node) Origin() string { return n.origin }

// Metrics returns the node's Prometheus collectors.
func (n *Node) Metrics() []prometheus.Collector {
	cs := append(n.metrics.collectors(n), newOpsCollector(n))
	if n.x != nil {
		cs = append(cs, n.x.Collectors()...)
	}
	return cs
}

// Run serves the API until ctx ends, then shuts down in this order: the HTTP
// listener (no new requests; in-flight ones finish), raft leadership (handed
// to another replica so writes resume quickly), raft and its transport, and
// finally ledger.db.
func (n *Node) Run(ctx context.Context) error {
	srv := n.cfg.Timeouts.server(n.Handler())
	srv.TLSConfig = n.tlsCfg
	srv.ErrorLog = slog.NewLogLogger(n.logger.Handler(), slog.LevelDebug)
	var h3cfg *tls.Config
	if n.x != nil {
		// Cloned before the HTTPS server starts (it adds h2 to n.tlsCfg).
		h3cfg = http3.ConfigureTLSConfig(n.tlsCfg.Clone())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := srv.Serve(tls.NewListener(n.apiLn, n.tlsCfg))
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	if n.x != nil {
		g.Go(func() error { return n.x.ServeHTTP3(gctx, h3cfg, n.Handler()) })
		g.Go(func() error { return n.x.Run(gctx) })
	}
	g.Go(func() error { return n.RunNotices(gctx) })
	g.Go(func() error { return n.runJoin(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	err := g.Wait()
	if n.rep.Raft.State().String() == "Leader" {
		n.rep.Raft.LeadershipTransfer().Error()
	}
	err = errors.Join(err, n.rep.Shutdown(), n.fsm.close())
	if n.x != nil {
		err = errors.Join(err, n.x.Close())
	}
	if ctx.Err() != nil && err == nil {
		return ctx.Err()
	}
	return err
}

// WaitReady blocks until the cluster has a leader and this replica has applied
// everything committed before it started (so its reads are current).
func (n *Node) WaitReady(ctx context.Context) error {
	if err := n.rep.WaitLeader(ctx); err != nil {
		return err
	}
	if n.IsLeader() {
		return n.rep.Raft.Barrier(0).Error()
	}
	// A follower: wait until it has applied what was committed when it
	// learned of the leader.
	target := n.rep.Raft.CommitIndex()
	for n.rep.Raft.AppliedIndex() < target {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// IsLeader reports whether this replica currently leads the region's cluster.
func (n *Node) IsLeader() bool {
	_, id := n.rep.Raft.LeaderWithID()
	return string(id) == n.cfg.ReplicaID
}

// loadNoteKey reads the signed-note key pair of a replica's log for role
// ("log", "access" or "loop": the name its errors give it): the signer key
// at path (keys/<role>.key) and its verifier key beside it (.vkey), and
// checks that the key names origin. Every error names the role and the
// file it failed on.
func loadNoteKey(role, path, origin string) (note.Signer, note.Verifier, error) {
	s, v, err := readNoteKeyPair(role, path)
	if err != nil {
		return nil, nil, err
	}
	if s.Name() != origin {
		return nil, nil, fmt.Errorf("%s key %s is for %q, want %q", role, path, s.Name(), origin)
	}
	return s, v, nil
}

// readNoteKeyPair reads the signer key at path and the verifier key beside
// it (path with .vkey for .key) and checks that the two are one key (same
// name and key hash).
func readNoteKeyPair(role, path string) (note.Signer, note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s key: %w", role, err) // the error names the file
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s key %s: %w", role, path, err)
	}
	vpath := strings.TrimSuffix(path, ".key") + ".vkey"
	vb, err := os.ReadFile(vpath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s verifier key: %w", role, err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vb)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s verifier key %s: %w", role, vpath, err)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, nil, fmt.Errorf("%s verifier key %s is not the key of %s", role, vpath, path)
	}
	return s, sigmemo.Wrap(v), nil // remembers the signatures it accepted (internal/sigmemo)
}

func parseAnchors(region string, cs []AnchorConfig) ([]schemas.Anchor, error) {
	var out []schemas.Anchor
	for i, c := range cs {
		pub, err := base64.StdEncoding.DecodeString(c.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("anchors[%d].public_key: not a base64 Ed25519 public key", i)
		}
		out = append(out, schemas.Anchor{KeyID: schemas.KeyID(pub), Public: pub, Name: c.Name, USCC: c.USCC, Region: region})
	}
	return out, nil
}
