package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/notices"
	"github.com/creditx/creditx/internal/tileserve"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Sanction notices: package notices owns their issuance on the leader, the
// views and the agency inbox (GET /v1/notices), the feeds' cursors, the
// loop-log rules and the not-applied listings, with the buckets
// notice-queue, notices and not-applied. This file is the glue: the node's
// engines, the Host the package reads the node through, the HTTP handlers.

// Wire types of this file's endpoints (package api).
type (
	NoticeView        = api.NoticeView
	NoticesPage       = api.NoticesPage
	NotAppliedListing = api.NotAppliedListing
)

// SanctionsConfig configures joint punishment on this member's node.
type SanctionsConfig = notices.Config

// The buckets of package notices, indexed by the FSM (histories.go).
const (
	bucketNoticeQueue = notices.BucketNoticeQueue
	bucketNotices     = notices.BucketNotices
	bucketNotApplied  = notices.BucketNotApplied
)

// feedChanges is the changes feed's cursor byte (package notices).
const feedChanges = notices.FeedChanges

// ErrBadCursor is wrapped by every error of DecodeCursor.
var ErrBadCursor = notices.ErrBadCursor

// EncodeCursor returns the opaque cursor at positions pos of feed ('n'
// notices, 'c' changes; notices.EncodeCursor documents the bytes).
func EncodeCursor(feed byte, pos ...uint64) string { return notices.EncodeCursor(feed, pos...) }

// DecodeCursor parses a cursor of feed made by EncodeCursor.
func DecodeCursor(feed byte, s string) ([]uint64, error) { return notices.DecodeCursor(feed, s) }

// sanctionsState is the node's engines and notice signer (fixed after New)
// and the wake-up of long-polling readers.
type sanctionsState struct {
	engine  *sanctions.Engine
	signer  *client.Credentials // nil: no notices are issued
	cal     calendarCache       // embedded calendar + adopted years (adopted.go)
	cats    *sanctions.CatalogueSet
	engines map[string]*sanctions.Engine // by catalogue digest; nil: only engine's catalogue
	notices.Waker
}

func newSanctions(cfg Config) (*sanctionsState, error) {
	e, err := notices.Load(cfg.Sanctions, cfg.Region)
	if err != nil {
		return nil, err
	}
	return &sanctionsState{engine: e.Engine, signer: e.Signer, cats: e.Cats, engines: e.Engines}, nil
}

// noticeHost is what package notices reads of the node (notices.Host) and
// of its API (notices.Web).
type noticeHost struct{ n *Node }

func (h noticeHost) View(fn func(tx *ledger.ReadTx) error) error { return h.n.fsm.view(fn) }
func (h noticeHost) IsLeader() bool                              { return h.n.IsLeader() }
func (h noticeHost) Commit(ctx context.Context, origin string, entries [][]byte) error {
	_, err := h.n.commit(ctx, origin, entries)
	return err
}
func (h noticeHost) Calendar(tx *ledger.ReadTx) *workdays.Calendar { return h.n.viewCalendar(tx) }
func (h noticeHost) EngineIn(tx *ledger.ReadTx) *sanctions.Engine  { return h.n.engineIn(tx) }
func (h noticeHost) QueuedEngine(v []byte) *sanctions.Engine       { return h.n.queuedEngine(v) }
func (h noticeHost) Referencing(tx *ledger.ReadTx, o string, i uint64) []EventRef {
	return referencing(tx, o, i)
}
func (h noticeHost) Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	return h.n.require(w, r, roles...)
}
func (h noticeHost) CheckPurpose(p string) *apiError { return checkPurpose(p, "") }
func (h noticeHost) ReadError(w http.ResponseWriter, what string, err error) {
	h.n.readError(w, what, err)
}
func (h noticeHost) WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }
func (h noticeHost) LogPersons(w http.ResponseWriter, r *http.Request, id pki.Identity, what string, persons []string, purpose string) bool {
	return h.n.logPersonsOrFail(w, r, id, what, persons, purpose)
}
func (h noticeHost) History(tx *ledger.ReadTx, o string, i uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	return h.n.history(tx, o, i, l)
}

// noticeSvc is the notices service over this node (cheap; the issuer keeps its own).
func (n *Node) noticeSvc() *notices.Service {
	return notices.New(noticeHost{n}, n.sanctions.signer, n.logs(), &n.sanctions.Waker, n.logger)
}

// RunNotices issues sanction notices on the leader until ctx ends
// (notices.Service.Run: idempotent, computed from the raft time indexed).
func (n *Node) RunNotices(ctx context.Context) error { return n.noticeSvc().Run(ctx) }

// notices lists the notices whose index key starts with prefix (all for
// nil), with their state at time at.
func (n *Node) notices(prefix []byte, at time.Time) ([]NoticeView, error) {
	return n.noticeSvc().List(prefix, at)
}

// logs are this member's ledger and, with sanctions.loop_log, its loop log.
func (n *Node) logs() notices.Logs {
	l := notices.Logs{Ledger: n.origin}
	if n.cfg.Sanctions.LoopLog {
		l.Loop = schemas.LoopOrigin(n.cfg.Region)
	}
	return l
}

// loopOrigin is this member's loop log, or "" (sanctions.loop_log off).
func (n *Node) loopOrigin() string { return n.logs().Loop }

// ownNoticeLog says whether origin is a log holding this member's own notices.
func (n *Node) ownNoticeLog(origin string) bool { return n.logs().Own(origin) }

// recordLog is the log of this member that rec is written to.
func (n *Node) recordLog(rec schemas.Record) string { return n.logs().RecordLog(rec) }

// submitLog is the log a submitted batch goes to; a batch spanning the
// ledger and the loop log is refused (400, nothing written).
func (n *Node) submitLog(entries [][]byte) (string, *apiError) { return n.logs().SubmitLog(entries) }

// checkLoopEntry is the FSM's check of an entry appended to the loop log.
func (n *Node) checkLoopEntry(e []byte) error { return notices.CheckLoopEntry(e, n.keyring.Load()) }

// addLoopLog loads the loop key into logs when the loop log is on. It is
// the one read of the key file: New hands logs to both the FSM and the
// exchange runtime (exchangeConfig).
func (n *Node) addLoopLog(logs map[string]signingLog) error {
	lo := n.loopOrigin()
	if lo == "" {
		return nil
	}
	s, v, err := loadNoteKey("loop", n.cfg.Sanctions.LoopKey, lo)
	if err != nil {
		return fmt.Errorf("sanctions.loop_log: %w", err)
	}
	logs[lo] = signingLog{signer: s, verifier: v}
	return nil
}

// handleLoopCheckpoint and handleLoopTile serve the loop log's tlog-tiles
// read API, GET /loop/<code>/checkpoint and /loop/<code>/tile/...: this
// node's own loop log, and the copies it holds as a custodian of other
// members' loop logs (exchange/loop_custody.go); entry bundles with
// personal data are gated as the ledger's are.
func (n *Node) handleLoopCheckpoint(w http.ResponseWriter, r *http.Request) {
	if lo := n.loopOrigin(); lo != "" && r.PathValue("code") == n.cfg.Region {
		if r.URL.Query().Has("after") && lo == n.witnessedLoop() {
			n.x.WaitLoopCheckpoint(r, n.holdWrite(w)) // exchange/loop_follow.go: long-poll by members
			if after, ok := n.x.LoopProofAfter(r); ok {
				n.serveLoopProof(w, lo, after)
				return
			}
		}
		n.serveCheckpoint(w, lo)
		return
	}
	if lo, ok := n.heldLoop(r.PathValue("code")); ok {
		n.serveCheckpoint(w, lo)
		return
	}
	http.NotFound(w, r)
}

// serveLoopProof serves the own witnessed loop checkpoint with a
// consistency proof from the tree of size after (exchange/loop_proof.go),
// or as serveCheckpoint does when there is none to give.
func (n *Node) serveLoopProof(w http.ResponseWriter, lo string, after uint64) {
	var cp, body []byte
	err := n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		if cp = n.witnessedCheckpoint(tx, lo); cp == nil {
			cp, err = tx.Log(lo).Checkpoint()
			return err
		}
		body = exchange.LoopProofAnswer(tx.Log(lo), cp, after)
		return nil
	})
	if body == nil {
		tileserve.WriteCheckpoint(w, cp, err)
		return
	}
	w.Header().Set("Content-Type", exchange.LoopProofContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

func (n *Node) handleLoopTile(w http.ResponseWriter, r *http.Request) {
	if lo := n.loopOrigin(); lo != "" && r.PathValue("code") == n.cfg.Region {
		n.serveTile(w, r, lo, "tile/"+r.PathValue("path"))
		return
	}
	if lo, ok := n.heldLoop(r.PathValue("code")); ok {
		n.serveTile(w, r, lo, "tile/"+r.PathValue("path"))
		return
	}
	http.NotFound(w, r)
}

// heldLoop is the loop log of another member whose copy this member holds
// (a custodian's mirror with a stored checkpoint). A read that fails for
// another reason than no checkpoint counts as held, so that the serving
// read reports the failure (500) rather than a 404 hiding it.
func (n *Node) heldLoop(code string) (string, bool) {
	if n.x == nil || code == n.cfg.Region {
		return "", false
	}
	lo := schemas.LoopOrigin(code)
	if _, _, err := schemas.ParseOrigin(lo); err != nil {
		return "", false
	}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		_, err := tx.Log(lo).Checkpoint()
		return err
	})
	return lo, !errors.Is(err, ledger.ErrNoCheckpoint)
}

// parseFeedParams reads since=, limit= and wait= of a cursor feed request.
func parseFeedParams(r *http.Request, feed byte) (notices.FeedParams, *apiError) {
	return notices.ParseFeedParams(r.URL.Query(), feed, maxLongPoll)
}

// handleNotices is GET /v1/notices, the agency inbox (notices.Service.ServeInbox).
func (n *Node) handleNotices(w http.ResponseWriter, r *http.Request) {
	n.noticeSvc().ServeInbox(w, r, noticeHost{n}, httpx.Timeouts(n.cfg.Timeouts))
}

// notApplied records listing (at ek) as not applied if this member's
// engine (the catalogue in force, adopted.go) can issue nothing for it, and
// reports whether it did (package notices).
func (ix *indexer) notApplied(tx *ledger.Tx, ek []byte, l *schemas.Listing) (bool, error) {
	if l == nil || ix.node.sanctions == nil {
		return false, nil
	}
	cb, err := tx.Bucket(bucketCatalogues)
	if err != nil {
		return false, err
	}
	return notices.MarkNotApplied(tx, ek, ix.node.engineOf(cb).NotApplied(l))
}

// NotApplied lists the listings this member applies no measure of.
func (n *Node) NotApplied() ([]NotAppliedListing, error) {
	out := []NotAppliedListing{}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		out, err = notices.ListNotApplied(tx)
		return err
	})
	return out, err
}

// notAppliedReason is the reason listing (origin, index) is not applied here, or "".
func notAppliedReason(tx *ledger.ReadTx, origin string, index uint64) string {
	return notices.NotAppliedReason(tx, origin, index)
}

// handleNotApplied is GET /v1/not-applied: the listings this member applies
// no measure of, with the reason. Auditors and the admin only.
func (n *Node) handleNotApplied(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin); !ok {
		return
	}
	out, err := n.NotApplied()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
