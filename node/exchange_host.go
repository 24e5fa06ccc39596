package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"golang.org/x/mod/sumdb/note"
)

// The inter-member runtime (push loop, witness decision, mirror loops, the
// apply functions of ops 2-5) is package exchange's Runtime; this file is
// the replica's side of it: the Host it runs on, the HTTP endpoints that
// admit callers before the runtime decides, and the views the API serves.

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

func (h exchangeHost) View(fn func(tx *ledger.ReadTx) error) error { return h.n.fsm.view(fn) }

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
func newExchange(n *Node, logSigner note.Signer, regionPool *x509.CertPool) (*exchange.Runtime, *x509.CertPool, error) {
	xc := n.cfg.Exchange
	return exchange.New(exchange.Config{Region: n.cfg.Region, Manifest: xc.Manifest, Credentials: xc.Credentials,
		WitnessKey: xc.WitnessKey, WitnessLogs: xc.WitnessLogs, PullInterval: xc.PullInterval, PushInterval: xc.PushInterval,
		WitnessSpares: xc.WitnessSpares,
		LogSigner:     logSigner, LogVerifier: n.logVerifier, Logger: n.logger}, exchangeHost{n}, regionPool)
}

// handleWitness is the C2SP tlog-witness add-checkpoint endpoint, served over
// HTTP/3 and HTTPS. A member's ledger is witnessed for its member only (role
// member, of an active member); a log listed in exchange.witness_logs for any
// caller, certificate or not. Status codes are the spec's: 400 malformed (or
// old size above the checkpoint size), 403 no valid signature by the log's
// key, 404 unknown origin, 409 old size mismatch (body: the last cosigned
// size, text/x.tlog.size), 422 inconsistent (a consistency proof that does
// not verify, a proof with old size 0, an empty tree with a non-empty root,
// the same size with another root): the decision is the exchange's
// (exchange.Runtime.ServeCosign); admitting the caller is here. A follower forwards the request to the
// leader (the witness state lives in raft), so any replica of a member can be
// its endpoint.
func (n *Node) handleWitness(w http.ResponseWriter, r *http.Request) {
	x := n.x
	if x == nil {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, exchange.MaxAddCheckpointSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	a, err := exchange.ParseAddCheckpoint(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	origin, _, _ := bytes.Cut(a.Checkpoint, []byte("\n"))
	tg, ok := x.Target(string(origin))
	if !ok {
		http.Error(w, fmt.Sprintf("unknown origin %q", origin), http.StatusNotFound)
		return
	}
	id := pki.IdentityFromRequest(r)
	switch {
	case tg.Member == nil && id.Role == pki.RoleReplica && id.Region == n.cfg.Region:
		// a follower of this region forwarded a request for an open log
	case tg.Member == nil:
		if !n.IsLeader() {
			n.forwardWitness(w, r, body, "")
			return
		}
	default:
		if id, ok = n.require(w, r, pki.RoleMember, pki.RoleReplica); !ok {
			return
		}
		if id.Role == pki.RoleReplica {
			// a follower of this region forwarded a member's request
			code := r.Header.Get(forwardedMemberHeader)
			if id.Region != n.cfg.Region || code == "" {
				writeErr(w, errorf(http.StatusForbidden, "only a replica of %s may forward witness requests, naming the member", n.cfg.Region))
				return
			}
			id.Region = code
		} else if !n.IsLeader() {
			n.forwardWitness(w, r, body, id.Region)
			return
		}
		if !x.Effective()[id.Region] {
			writeErr(w, errorf(http.StatusForbidden, "member %s is not an active, approved member", id.Region))
			return
		}
	}
	x.ServeCosign(r.Context(), w, tg, a)
}

// handleWitnessMonitor serves C2SP tlog-witness's monitoring API, public:
// GET /witness/<lower-case hex SHA-256 of the origin>/checkpoint answers the
// latest checkpoint this witness cosigned for that log, with the log's
// signature and this witness's cosignature; 404 if it never cosigned one.
func (n *Node) handleWitnessMonitor(w http.ResponseWriter, r *http.Request) {
	if n.x == nil {
		http.NotFound(w, r)
		return
	}
	want, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(want) != sha256.Size || strings.ToLower(r.PathValue("hash")) != r.PathValue("hash") {
		http.Error(w, "origin hash must be the lower-case hex SHA-256 of the origin", http.StatusNotFound)
		return
	}
	var found []byte
	err = n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		found, err = exchange.MonitorCheckpoint(tx, want)
		return err
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if found == nil {
		http.Error(w, "this witness never cosigned a checkpoint for that log", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(found)
}

// Alerts returns every recorded alert, oldest first.
func (n *Node) Alerts() ([]AlertView, error) {
	var out []AlertView
	err := n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		out, err = exchange.ReadAlerts(tx)
		return err
	})
	return out, err
}

func (n *Node) handleAlerts(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica, pki.RoleMember); !ok {
		return
	}
	as, err := n.Alerts()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// ExchangeStatus returns the exchange summary (nil without an exchange).
func (n *Node) ExchangeStatus() (*ExchangeStatus, error) {
	if n.x == nil {
		return nil, nil
	}
	return n.x.Status()
}

func (n *Node) handleExchangeStatus(w http.ResponseWriter, r *http.Request) {
	st, err := n.ExchangeStatus()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	if st == nil {
		writeErr(w, errorf(http.StatusNotFound, "this node is not a consortium member"))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// witnessedCheckpoint returns the own checkpoint stored with a quorum of
// cosignatures, if any.
func (n *Node) witnessedCheckpoint(tx *ledger.ReadTx) []byte {
	return exchange.WitnessedCheckpoint(tx, n.origin)
}

// mirrorOrigin maps a member code to a mirrored origin.
func (n *Node) mirrorOrigin(code string) (string, bool) {
	if n.x == nil {
		return "", false
	}
	mb, ok := n.x.Cached().Member(code) // exchange/live.go
	if !ok || mb.Code == n.cfg.Region {
		return "", false
	}
	return mb.Origin(), true
}

// OnMirrorProgress sets a function told after every mirror batch committed
// (origin, entries mirrored, checkpoint size): the catch-up progress of the
// CLI and the demo. Set it before Run.
func (n *Node) OnMirrorProgress(fn func(origin string, done, total uint64)) {
	if n.x != nil {
		n.x.SetProgress(fn)
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
	m := n.x.InForce() // exchange/live.go: members that joined too
	for i := range m.Members {
		mb := &m.Members[i]
		err := n.fsm.withStore(func(s *ledger.Store) error {
			return ledger.Export(ctx, s.Log(mb.Origin()), filepath.Join(dir, mb.Code), strings.TrimSpace(mb.LogVKey))
		})
		if err != nil {
			return fmt.Errorf("exporting %s: %w", mb.Origin(), err)
		}
	}
	return nil
}

// addPeerVerifiers adds to verifiers the log keys of the configured members
// and of those that joined by governance (the manifest in force as of
// ledger.db), so that the start-up check verifies their mirrors too. Called
// before raft starts.
func (n *Node) addPeerVerifiers(verifiers map[string]note.Verifier) error {
	if n.x == nil {
		return nil
	}
	for o, v := range n.x.PeerVerifiers() {
		verifiers[o] = v
	}
	return n.fsm.view(func(tx *ledger.ReadTx) error {
		n.x.AddLiveVerifiers(tx, verifiers)
		return nil
	})
}
