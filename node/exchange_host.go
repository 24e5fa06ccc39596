package node

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/exchangeops"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The inter-member runtime (push loop, witness decision, mirror loops, the
// apply functions of ops 2-5 and 10) is package exchange's Runtime; this file is
// the replica's side of it: the Host it runs on, and the glue to package
// exchangeops, which serves the HTTP endpoints (admitting callers before
// the runtime decides) and the views.

// Wire types of the exchange endpoints, defined by package exchange.
type (
	ExchangeStatus   = exchange.Status
	MirrorStatus     = exchange.MirrorStatus
	AlertView        = exchange.AlertView
	AdoptedSchema    = exchange.AdoptedSchema
	WitnessLogConfig = exchange.WitnessLogConfig
)

// MonitorPathPrefix is the witness's monitoring prefix (C2SP tlog-witness).
const MonitorPathPrefix = exchange.MonitorPathPrefix

// ErrWitnessLog is wrapped by every refusal of a witness_logs entry.
var ErrWitnessLog = exchange.ErrWitnessLog

// exchangeHost is the replica as the runtime sees it.
type exchangeHost struct{ n *Node }

func (h exchangeHost) View(fn func(tx *ledger.ReadTx) error) error {
	h.n.xviews.Add(1)
	return h.n.fsm.view(fn)
}

// MirrorParsed hands the mirror verifier's parses of a batch about to be
// proposed to this replica's indexer (exchange.ParseSink), which the FSM's
// apply step takes by leaf hash instead of parsing the same bytes again.
// Only entries whose record decoded are handed over.
func (h exchangeHost) MirrorParsed(leaves []tlog.Hash, parsed []exchange.Verified) {
	if h.n.index == nil {
		return
	}
	for i, p := range parsed {
		if p.Signed != nil && p.Rec != nil {
			h.n.index.AdmittedLeaf(leaves[i], p.Signed, p.Rec)
		}
	}
}

func (h exchangeHost) IsLeader() bool { return h.n.IsLeader() }

// Propose commits c through the replica's one propose path (propose.go,
// bounded by ctx). Exchange ops are never forwarded: on a replica that
// does not lead it fails with errLeaderOnly. Anything the FSM answered in
// applyResult.Err is a refusal.
func (h exchangeHost) Propose(ctx context.Context, c exchange.Command) (exchange.Result, error) {
	cmd, err := fromExchange(c)
	if err != nil {
		return exchange.Result{}, err
	}
	p, err := h.n.propose(ctx, cmd)
	if p.res == nil { // not applied here: nothing the FSM answered
		return exchange.Result{}, err
	}
	res := exchange.Result{Size: p.res.Size, Known: p.res.Known}
	if p.res.Err != nil {
		if !errors.As(p.res.Err, &res.Refused) {
			res.Refused = &exchange.Refusal{Op: c.Op, Origin: c.Origin, Err: p.res.Err}
		}
	}
	return res, nil
}

// newExchange starts the runtime of the exchange section. It returns the
// client CA pool of the API (the region CA plus every member's CA).
func newExchange(n *Node, logs map[string]signingLog, regionPool *x509.CertPool) (*exchange.Runtime, *x509.CertPool, error) {
	return exchange.New(exchangeConfig(n, logs), exchangeHost{n}, regionPool)
}

// exchangeConfig is the runtime's configuration: the exchange section and
// the keys New loaded once into logs (the ledger's, and the loop log's with
// sanctions.loop_log; the loop log is witnessed if the manifest also has
// its loop_vkey).
func exchangeConfig(n *Node, logs map[string]signingLog) exchange.Config {
	xc := n.cfg.Exchange
	cfg := exchange.Config{Region: n.cfg.Region, Manifest: xc.Manifest, Credentials: xc.Credentials,
		WitnessKey: xc.WitnessKey, WitnessLogs: xc.WitnessLogs, PullInterval: xc.PullInterval, PushInterval: xc.PushInterval,
		WitnessSpares: xc.WitnessSpares,
		LogSigner:     logs[n.origin].signer, LogVerifier: n.logVerifier, Logger: n.logger}
	if l, ok := logs[n.loopOrigin()]; ok { // addLoopLog: only with sanctions.loop_log
		cfg.LoopSigner, cfg.LoopVerifier = l.signer, l.verifier
	}
	return cfg
}

// The exchange endpoints (witness, monitoring, alerts, summary, membership)
// are package exchangeops; the node hands it the runtime and itself as
// exchangeops.Node (opsNode).
func (n *Node) exchangeOps() *exchangeops.Handlers {
	return exchangeops.New(n.cfg.Region, n.x, n.IsLeader, opsNode{n})
}

func (n *Node) handleWitness(w http.ResponseWriter, r *http.Request) { n.exchangeOps().Witness(w, r) }
func (n *Node) handleWitnessMonitor(w http.ResponseWriter, r *http.Request) {
	n.exchangeOps().WitnessMonitor(w, r)
}
func (n *Node) handleAlerts(w http.ResponseWriter, r *http.Request) {
	n.exchangeOps().ServeAlerts(w, r)
}
func (n *Node) handleExchangeStatus(w http.ResponseWriter, r *http.Request) {
	n.exchangeOps().ServeStatus(w, r)
}

// Alerts returns every recorded alert, oldest first.
func (n *Node) Alerts() ([]AlertView, error) { return n.exchangeOps().Alerts() }

// ExchangeStatus returns the exchange summary (nil without an exchange).
func (n *Node) ExchangeStatus() (*ExchangeStatus, error) { return n.exchangeOps().Status() }

// witnessedCheckpoint returns the own checkpoint of origin (the ledger, or
// the loop log when witnessed) stored with a quorum of cosignatures, if any.
func (n *Node) witnessedCheckpoint(tx *ledger.ReadTx, origin string) []byte {
	return exchange.WitnessedCheckpoint(tx, origin)
}

// witnessedLoop is this member's loop log if the exchange witnesses it
// (sanctions.loop_log on and a loop_vkey in the manifest), else "".
func (n *Node) witnessedLoop() string {
	if n.x == nil {
		return ""
	}
	return n.x.LoopOrigin()
}

// mirrorOrigin maps a member code to a mirrored origin.
func (n *Node) mirrorOrigin(code string) (string, bool) { return n.exchangeOps().MirrorOrigin(code) }

// OnMirrorProgress sets a function told after every mirror batch committed
// (origin, entries mirrored, checkpoint size): the catch-up progress of the
// CLI and the demo. Set it before Run.
func (n *Node) OnMirrorProgress(fn func(origin string, done, total uint64)) {
	if n.x != nil {
		n.x.SetProgress(fn)
	}
}

// ExportExchange writes this member's own ledger and every mirror as static
// C2SP tlog-tiles trees under dir/<member code>/ (exchangeops.Handlers.Export).
func (n *Node) ExportExchange(ctx context.Context, dir string) error {
	return n.exchangeOps().Export(ctx, dir, n.fsm.withStore)
}

// addPeerVerifiers adds to verifiers the log keys of the members
// (exchangeops.Handlers.AddPeerVerifiers), so that the start-up check
// verifies their mirrors too. Called before raft starts.
func (n *Node) addPeerVerifiers(verifiers map[string]note.Verifier) error {
	return n.exchangeOps().AddPeerVerifiers(verifiers)
}

// ExchangeWork is what the exchange did so far (zero without an exchange;
// issue 20's work counts, creditx bench delta).
func (n *Node) ExchangeWork() exchange.Work {
	if n.x == nil {
		return exchange.Work{}
	}
	w := n.x.Work()
	w.RaftBatches, w.RaftCommands = n.fsm.batches.Load(), n.fsm.commands.Load()
	w.LogWrites = n.rep.LogWrites()
	w.Views = n.xviews.Load()
	return w
}

// ExchangeOwnStatus is ExchangeStatus without the mirrors (nil without an
// exchange).
func (n *Node) ExchangeOwnStatus() (*ExchangeStatus, error) {
	if n.x == nil {
		return nil, nil
	}
	return n.x.OwnStatus()
}

// ExchangeMirrorStatus is this member's mirror of member code as
// ExchangeStatus shows it, without reading the other mirrors (nil without
// an exchange or for a code that is not another member).
func (n *Node) ExchangeMirrorStatus(code string) (*exchange.MirrorStatus, error) {
	if n.x == nil {
		return nil, nil
	}
	return n.x.MirrorStatusOf(code)
}
