package node

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/receipts"
	"github.com/creditx/creditx/internal/tileserve"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/mod/sumdb/note"
)

// Wire types of this file's endpoints (package api).
type (
	FieldError     = api.FieldError
	apiError       = api.ErrorBody
	Receipt        = api.Receipt
	SubmitResponse = api.SubmitResponse
	Status         = api.Status
)

// Handler is the node's HTTP API (see docs/API.md). Every handler decides
// access from the caller's verified client certificate (pki.Identity); a
// caller without one is the public. Requests pass the per-client rate limit
// (Config.RateLimit) before routing.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range n.routes() {
		mux.HandleFunc(rt.pattern, rt.h)
	}
	return n.metrics.instrument(n.limiter.Wrap(n.cfg.Timeouts.withDeadlines(mux), httpx.RefuseRate))
}

// Routes lists the pattern ("METHOD /path/{wildcard}") of every endpoint
// Handler serves, so that tests can drive each one, including endpoints
// added later (deploy TestDrillNoPersonalPlaintext).
func (n *Node) Routes() []string {
	var out []string
	for _, rt := range n.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

type route struct {
	pattern string
	h       http.HandlerFunc
}

func (n *Node) routes() []route {
	reg := prometheus.NewRegistry()
	for _, c := range n.Metrics() {
		reg.MustRegister(c)
	}
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return []route{
		{"POST /v1/records", n.handleSubmit},
		{"GET /v1/records/{code}/{index}", n.handleRecord},
		{"GET /v1/proof/{code}/{index}", n.handleProof},
		{"GET /v1/subjects/{id}", n.handleSubject},
		{"GET /v1/check", n.checkWorkers.Wrap(http.HandlerFunc(n.handleCheck)).ServeHTTP}, // check.go
		{"POST /v1/check", n.checkWorkers.Wrap(http.HandlerFunc(n.handleCheckBatch)).ServeHTTP},
		{"POST /v1/persons/hash", n.handlePersonsHash},
		{"GET /v1/notices", n.handleNotices},
		{"GET /v1/changes", n.handleChanges},
		{"GET /v1/calendar", n.handleCalendar},
		{"GET /v1/catalogue", n.handleCatalogue},
		{"GET /v1/not-applied", n.handleNotApplied},
		{"GET /v1/conflicts", n.handleConflicts},
		{"GET /ledger/{code}/checkpoint", n.handleCheckpoint},
		{"GET /ledger/{code}/tile/{path...}", n.handleTile},
		{"GET /loop/{code}/checkpoint", n.handleLoopCheckpoint}, // notices.go
		{"GET /loop/{code}/tile/{path...}", n.handleLoopTile},
		{"GET /v1/access-log", n.handleAccessLog},
		{"PUT /v1/vault/{code}/{index}", n.handleVaultPut},
		{"GET /v1/vault/{code}/{index}", n.handleVaultGet},
		{"DELETE /v1/vault/{code}/{index}", n.handleVaultErase},
		{"POST /v1/vault/rotate", n.handleVaultRotate}, // internal/vaultops
		{"POST /internal/v1/apply", n.handleApply},
		{"POST " + exchange.AddCheckpointPath, n.handleWitness},
		{"GET " + MonitorPathPrefix + "{hash}/checkpoint", n.handleWitnessMonitor},
		{"GET /v1/alerts", n.handleAlerts},
		{"GET /v1/exchange", n.handleExchangeStatus},
		{"GET /v1/membership", n.handleMembership}, // membership.go
		{"GET /v1/cluster", n.handleCluster},
		{"POST /v1/cluster/replicas", n.handleAddReplica},
		{"DELETE /v1/cluster/replicas/{id}", n.handleRemoveReplica},
		{"GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			if _, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica); ok {
				metricsHandler.ServeHTTP(w, r)
			}
		}},
		{"GET /v1/status", n.handleStatus},
		{"GET /{$}", n.handleRegister},
		// issue 18: the subject's door and the record page (subject.go, subject_page.go, register.go)
		{"GET /v1/subject", n.handleSubjectSelf},
		{"POST /v1/subject/objections", n.handleSubjectObjection},
		{"POST /v1/subject/revoke", n.handleSubjectRevoke},  // subject_revoke.go
		{"GET /v1/subject/revoked", n.handleSubjectRevoked}, // subject_revoke.go
		{"GET /subject", n.handleSubjectPage},
		{"POST /subject", n.handleSubjectPagePost},
		{"GET /records/{code}/{index}", n.handleRecordPage},
		{"GET /status", n.handleStatusPage},
		{"GET /audit", n.handleAuditPage},
		{"GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok\n")
		}},
		{"GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if addr, _ := n.rep.Raft.LeaderWithID(); addr == "" {
				http.Error(w, "no raft leader", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ready\n")
		}},
	}
}

// The API's answers and error bodies (internal/httpx).
var (
	writeJSON        = httpx.WriteJSON
	writeCompactJSON = httpx.WriteCompactJSON
	writeErr         = httpx.WriteErr
	errorf           = httpx.Errorf
	clip             = httpx.Clip
)

// readError answers a failed ledger read of what ("record creditx.../12",
// "tile tile/0/001") as JSON (httpx.ReadError: the caller learns nothing of
// the node's internals; damaged data is refused and logged).
func (n *Node) readError(w http.ResponseWriter, what string, err error) {
	writeErr(w, n.publicReadError(what, err))
}

func (n *Node) publicReadError(what string, err error) *apiError {
	return httpx.ReadError(n.logger, what, err)
}

// require answers 401/403 and returns false unless the caller has one of roles.
func (n *Node) require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	return httpx.Require(w, r, roles...)
}

func (n *Node) handleSubmit(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RolePublish, pki.RoleExecute, pki.RoleAdmin)
	if !ok {
		return
	}
	body, aerr := httpx.ReadBody(w, r, n.cfg.MaxBodyBytes)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	wait, witnessed, aerr := n.witnessWait(r)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	var entries [][]byte
	if isNDJSON(r) { // submit_batch.go
		entries, aerr = splitNDJSON(body, n.cfg.MaxBatch)
	} else {
		entries, aerr = httpx.SplitBatch(body, n.cfg.MaxBatch)
	}
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	target, aerr := n.submitLog(entries) // internal/notices: notices and feedback may go to the loop log
	if aerr == nil && target != n.origin && r.URL.Query().Get("proofs") == "batch" {
		aerr = errorf(http.StatusBadRequest, "this batch goes to %s: submit it without proofs= (witnessed= waits for its witnessed checkpoint)", target)
	}
	if aerr == nil && target != n.origin && witnessed && target != n.witnessedLoop() {
		aerr = errorf(http.StatusBadRequest, "this batch goes to %s, which is not witnessed (the manifest gives this member no loop_vkey): submit it without witnessed=", target)
	}
	if aerr == nil {
		aerr = n.admitBatch(id, entries)
	}
	if aerr != nil {
		n.metrics.rejected.WithLabelValues(strconv.Itoa(aerr.Status)).Add(float64(len(entries)))
		writeErr(w, aerr)
		return
	}
	if !witnessed && r.URL.Query().Get("proofs") == "batch" {
		n.submitBatch(w, r, entries) // submit_batch.go
		return
	}
	receipts, err := n.commit(r.Context(), target, entries)
	if n.commitFailed(w, err, len(entries)) { // submit_batch.go
		return
	}
	if witnessed {
		if receipts, aerr = n.witnessedReceipts(r.Context(), w, target, receipts, wait); aerr != nil {
			writeErr(w, aerr)
			return
		}
	}
	writeCompactJSON(w, http.StatusOK, SubmitResponse{Results: receipts})
}

// commit makes entries durable on a raft quorum and covered by a signed
// checkpoint, and returns their receipts (propose: on a follower the
// leader's). Resubmission is idempotent because the FSM keeps the first
// index of an entry.
func (n *Node) commit(ctx context.Context, origin string, entries [][]byte) ([]Receipt, error) {
	p, err := n.propose(ctx, command{op: opAppend, origin: origin, entries: entries})
	if err != nil {
		return nil, err
	}
	if p.res == nil {
		return p.receipts, nil
	}
	return n.receipts(p.res, entries)
}

// receipts are the receipts of an applied append (package receipts).
func (n *Node) receipts(res *applyResult, entries [][]byte) (out []Receipt, err error) {
	a := receipts.Appended{Origin: res.Origin, Indices: res.Indices, Fresh: res.Fresh, Size: res.Size, Checkpoint: res.Checkpoint}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		out, err = receipts.Build(tx, a, entries)
		return err
	})
	return out, err
}

// originForCode maps the {code} of a URL to a log this node serves.
func (n *Node) originForCode(code string) (string, bool) {
	if code == n.cfg.Region {
		return n.origin, true
	}
	return n.mirrorOrigin(code)
}

// verifierFor is the log key of an origin this node serves.
func (n *Node) verifierFor(origin string) note.Verifier {
	if n.x != nil {
		if mb, ok := n.x.Cached().MemberByOrigin(origin); ok && mb.Code != n.cfg.Region { // exchange/live.go
			return mb.LogVerifier()
		}
	}
	return n.logVerifier
}

// handleCheckpoint and handleTile serve the C2SP tlog-tiles read API.
func (n *Node) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	origin, ok := n.originForCode(r.PathValue("code"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Has("after") && origin == n.origin && n.x != nil {
		n.x.WaitCheckpoint(r, n.holdWrite(w)) // exchange/watch.go: long-poll by members
	}
	n.serveCheckpoint(w, origin)
}

func (n *Node) serveCheckpoint(w http.ResponseWriter, origin string) {
	var cp []byte
	err := n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		if (origin == n.origin || origin == n.witnessedLoop()) && n.x != nil {
			// A member serves its witnessed checkpoint (with cosignatures).
			if cp = n.witnessedCheckpoint(tx, origin); cp != nil {
				return nil
			}
		}
		cp, err = tx.Log(origin).Checkpoint()
		return err
	})
	tileserve.WriteCheckpoint(w, cp, err)
}

func (n *Node) handleTile(w http.ResponseWriter, r *http.Request) {
	origin, ok := n.originForCode(r.PathValue("code"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	n.serveTile(w, r, origin, "tile/"+r.PathValue("path"))
}

// serveTile serves a tile or entry bundle of origin (tileserve.Serve); a
// non-public bundle passes gateRestricted (privacy.go).
func (n *Node) serveTile(w http.ResponseWriter, r *http.Request, origin, path string) {
	tileserve.Serve(w, r, &n.bundles, n.fsm.view, origin, path,
		func(persons []string) bool { return n.gateRestricted(w, r, origin, path, persons) },
		func(err error) { n.readError(w, path, err) })
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	_, leader := n.rep.Raft.LeaderWithID()
	st := Status{Region: n.cfg.Region, Origin: n.origin, Replica: n.cfg.ReplicaID, Leader: string(leader),
		IsLeader: string(leader) == n.cfg.ReplicaID, Uptime: time.Since(n.started).Round(time.Second).String()}
	err := n.fsm.view(func(tx *ledger.ReadTx) error { st.Size = tx.Log(n.origin).Size(); return nil })
	if err == nil {
		st.Applied, err = n.fsm.appliedIndex()
	}
	if err != nil {
		n.readError(w, "status", err)
		return
	}
	if msg := n.fsm.vaultStale.Load(); msg != nil {
		st.VaultKeyStale = *msg
	}
	writeJSON(w, http.StatusOK, st)
}
