package exchange

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// Applying membership changes live (issue 16): no restart, no hand edit.
//
// The manifest in force is a function of the gov index (membershipRecords,
// Reconstruct on the configured manifest), which the FSM writes in
// log order; so every replica derives the same manifest at the same log
// position. Three consumers follow it:
//
//   - the FSM (mirror-append of an origin the configured manifest does not
//     list): LivePeer reads the manifest in force from the applying
//     transaction itself, so replicas decide alike;
//   - the leader's loops: m() is the manifest in force (cached per gov
//     sequence); runLive starts a client and a mirror loop for every member
//     that appears, pushes go to every effective member of m(), the witness
//     endpoint cosigns for every effective member of m();
//   - the API's TLS: GetConfigForClient accepts client certificates of
//     every member CA of m().
//
// A member that leaves is no longer effective in m(): its checkpoints are
// not cosigned any more and it is not pushed to; its ledger stays mirrored
// (its history remains verifiable). Schema acceptance follows it too, from
// the applying transaction (ReconcileSchemas, adopt.go). Credit-office
// ownership of mirrored records and exports still follow the configured
// manifest.

// liveState caches the manifest in force. Guarded by mu.
type liveState struct {
	mu      sync.Mutex
	seq     uint64 // gov bucket sequence cur was computed at
	valid   bool
	cur     *Manifest
	hash    string
	tlsHash string      // the manifest tlsCfg was built for
	tlsCfg  *tls.Config // base with every member CA of cur; nil: use base
	clients map[string]*Client
	kick    map[string]chan struct{}
}

// m is the manifest in force (the configured one until a change is
// approved). It reads ledger.db: never call it inside Host.View or the FSM.
func (x *Runtime) m() *Manifest {
	seq, err := x.govSeq() // effective.go
	if err != nil {
		x.live.mu.Lock()
		defer x.live.mu.Unlock()
		x.logger.Error("membership: reading the governance sequence failed; keeping the manifest last in force", "err", err)
		if x.live.valid {
			return x.live.cur
		}
		return x.manifest
	}
	return x.mAt(seq)
}

// mAt is the manifest in force at gov sequence seq, read just before (m).
func (x *Runtime) mAt(seq uint64) *Manifest {
	x.live.mu.Lock()
	if x.live.valid && x.live.seq == seq {
		m := x.live.cur
		x.live.mu.Unlock()
		return m
	}
	x.live.mu.Unlock()
	h, err := x.Membership()
	if err != nil || h == nil {
		x.logger.Error("membership history unreadable; using the configured manifest", "err", err)
		return x.manifest
	}
	cur := h.Current()
	x.derived(cur.Manifest) // keymemo.go: the keys' memories of the manifest last in force
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	if x.live.hash != cur.Hash && x.live.valid {
		x.logger.Info("manifest in force changed", "version", cur.Manifest.Version, "sha256", cur.Hash, "from", cur.From)
	}
	x.live.seq, x.live.valid, x.live.cur, x.live.hash = seq, true, cur.Manifest, cur.Hash
	return cur.Manifest
}

// client is the exchange client of member code (nil if none yet).
func (x *Runtime) client(code string) *Client {
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	if c := x.live.clients[code]; c != nil {
		return c
	}
	return x.clients[code]
}

// kickChan is the channel that wakes origin's mirror loop (nil if none).
func (x *Runtime) kickChan(origin string) chan struct{} {
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	if k := x.live.kick[origin]; k != nil {
		return k
	}
	return x.kick[origin]
}

// addMembers makes a client and a kick channel for every active member of
// the manifest in force that has none and returns their codes.
func (x *Runtime) addMembers() []string {
	m := x.m()
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	var added []string
	for _, mb := range m.Others(x.self.Code) {
		if x.clients[mb.Code] != nil || x.live.clients[mb.Code] != nil {
			continue
		}
		if x.live.clients == nil {
			x.live.clients, x.live.kick = map[string]*Client{}, map[string]chan struct{}{}
		}
		x.live.clients[mb.Code] = x.memberClient(mb, x.cert)
		x.live.kick[mb.Origin()] = make(chan struct{}, 1)
		added = append(added, mb.Code)
		x.logger.Info("member joined: mirroring and witnessing it", "member", mb.Code, "endpoint", mb.Endpoint)
	}
	return added
}

// closeLive closes the clients made for members that joined.
func (x *Runtime) closeLive() error {
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	for _, c := range x.live.clients {
		c.Close()
	}
	return nil
}

// runLive drives the push loop and one mirror loop per other member while
// this replica leads, starting a mirror loop for each member that joins;
// it returns when ctx ends.
func (x *Runtime) runLive(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); x.pushLoop(ctx, x.ledgerLog()) }()
	if x.loop != nil { // loop_witness.go
		wg.Add(1)
		go func() { defer wg.Done(); x.pushLoop(ctx, *x.loop) }()
	}
	if x.followsLoops() {
		wg.Add(1)
		go func() { defer wg.Done(); x.followFlush(ctx) }() // loop_followbatch.go
	}
	start := func(code string) {
		wg.Add(1)
		go func() { defer wg.Done(); x.mirrorLoop(ctx, code) }()
		wg.Add(1)
		go func() { defer wg.Done(); x.watchLoop(ctx, code) }() // watch.go
		wg.Add(1)
		go func() { defer wg.Done(); x.followLoop(ctx, code) }() // loop_follow.go
	}
	for code := range x.clients {
		start(code)
	}
	for {
		for _, code := range x.addMembers() {
			start(code)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-time.After(x.cfg.PullInterval):
		}
	}
}

// LiveTLS makes base follow the manifest in force: a client certificate
// chaining to the CA of a member that joined is accepted.
func (x *Runtime) LiveTLS(base *tls.Config, regionPool *x509.CertPool) *tls.Config {
	cfg := base.Clone()
	configured := ManifestHash(x.manifest)
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		x.m() // refreshes the cache when the gov index changed (any replica, not only the leader)
		x.live.mu.Lock()
		cur, hash := x.live.cur, x.live.hash
		if !x.live.valid || hash == configured {
			x.live.mu.Unlock()
			return nil, nil
		}
		if x.live.tlsHash != hash {
			pool := regionPool.Clone()
			for i := range x.manifest.Members {
				pool.AddCert(x.manifest.Members[i].CACert())
			}
			for i := range cur.Members {
				pool.AddCert(cur.Members[i].CACert())
			}
			c := base.Clone()
			c.ClientCAs = pool
			x.live.tlsCfg, x.live.tlsHash = c, hash
		}
		c := x.live.tlsCfg
		x.live.mu.Unlock()
		return c, nil
	}
	return cfg
}

// LivePeer is the FSM's log key of an origin the configured manifest does
// not list: the key of that member in the manifest in force as of tx, so
// that every replica decides alike.
func (x *Runtime) LivePeer(tx *ledger.Tx, origin string) (note.Verifier, bool) {
	gov, err := tx.Bucket(BucketGov)
	if err != nil {
		return nil, false
	}
	recs, approvals := membershipRecords(gov, tx.Log)
	if len(recs) == 0 {
		return nil, false
	}
	h := Reconstruct(x.manifest, approvals, recs)
	// The key with the memory the leader's checks filled (keymemo.go).
	mb, ok := x.derived(h.Current().Manifest).MemberByOrigin(origin)
	if !ok || mb.Code == x.self.Code {
		return nil, false
	}
	return mb.LogVerifier(), true
}

// Cached is the manifest in force as last computed by m(), without reading
// ledger.db (safe inside Host.View); the configured manifest before that.
func (x *Runtime) Cached() *Manifest {
	x.live.mu.Lock()
	defer x.live.mu.Unlock()
	if x.live.valid {
		return x.live.cur
	}
	return x.manifest
}

// AddLiveVerifiers adds to verifiers the log keys of members that joined
// by governance (the manifest in force as of tx), so that the replica's
// start-up check verifies their mirrors too.
func (x *Runtime) AddLiveVerifiers(tx *ledger.ReadTx, verifiers map[string]note.Verifier) {
	recs, approvals := membershipRecords(tx.Bucket(BucketGov), tx.Log)
	if len(recs) == 0 {
		return
	}
	m := x.derived(Reconstruct(x.manifest, approvals, recs).Current().Manifest)
	for i := range m.Members {
		if mb := &m.Members[i]; mb.Code != x.self.Code && verifiers[mb.Origin()] == nil {
			verifiers[mb.Origin()] = mb.LogVerifier()
		}
	}
}

// InForce is the manifest in force (m): the configured one until a change
// is approved. It reads ledger.db: never call it inside Host.View.
func (x *Runtime) InForce() *Manifest { return x.m() }

// inForceCache memoizes InForceAt by the gov bucket's sequence, which counts
// the exchange-governance records indexed: the same sequence is the same
// membership records, so every replica computes the same manifest from the
// same ledger state whatever it has cached.
type inForceCache struct {
	mu  sync.Mutex
	seq uint64
	m   *Manifest
}

// InForceAt is the manifest in force as of tx: the configured manifest with
// every approved membership change in the held ledgers applied
// (Reconstruct). Unlike Cached it reads only tx, so it may be used inside
// the FSM (indexing) where every replica must decide alike.
func (x *Runtime) InForceAt(tx *ledger.ReadTx) *Manifest {
	gov := tx.Bucket(BucketGov)
	if gov == nil || gov.Sequence() == 0 {
		return x.manifest
	}
	seq := gov.Sequence()
	x.inForce.mu.Lock()
	defer x.inForce.mu.Unlock()
	if x.inForce.m != nil && x.inForce.seq == seq {
		return x.inForce.m
	}
	m := x.inForceTx(gov, tx.Log) // adopt.go
	x.inForce.seq, x.inForce.m = seq, m
	return m
}
