package exchange

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Following the other members' loop logs (issue 20, DESIGN.md "What each
// member holds"). Every member keeps, per other member with a loop_vkey,
// the latest witnessed checkpoint of its loop log, and no entries: the
// leader long-polls GET /loop/<code>/checkpoint?after=<size> (followLoop),
// and for every new answer
//
//  1. opens it with the member's loop key and requires the witness quorum
//     (quorumNote: cosignatures checked until the quorum is met, only
//     those kept in what is stored): an unwitnessed one is ignored;
//  2. compares it with what this member holds of that log (the checkpoint
//     its own witness last cosigned, checkEquivocation) and with the one it
//     follows: same size, other root, or a consistency proof (built from
//     the origin's /loop/<code>/tile/... authenticated against the larger
//     checkpoint) that does not verify, is an equivocation alert with both
//     signed notes as evidence, and nothing is stored;
//  3. queues it, with the consistency proof from the stored followed size,
//     and the member stores the queued checkpoints of all the loop logs
//     that advanced in one raft command at most every second
//     (loop_followbatch.go: OpFollow with one item per log), whose apply
//     function checks each item's signature and consistency proof from the
//     followed size again. A checkpoint served while an earlier one is
//     queued is compared with the queued one (step 2) and replaces it.
//
// So a loop log cannot be forked or rewritten unseen even by members that
// do not hold its entries. A fetch that fails (network, tiles) is retried,
// never taken as evidence. Members without a loop_vkey (those that joined by
// governance) have no followed loop log.

// OpFollow stores a verified witnessed checkpoint of another member's loop
// log (op 10 of the replica's raft command format).
const OpFollow Op = 10

// BucketFollowed holds the followed loop checkpoints:
//
//	followed: origin -> uint64 BE size || 32-byte root || the signed note
//	          with its cosignatures
const BucketFollowed = "followed"

// Reasons an OpFollow is refused (wrapped in a *Refusal).
var (
	ErrNotLoopLog  = errors.New("origin is not another member's loop log with a loop_vkey")
	ErrFollowStale = errors.New("old size does not match the followed size, or the checkpoint is smaller")
)

// Followed is the followed checkpoint of one loop log (size 0: none).
type Followed struct {
	Size uint64
	Root tlog.Hash
	Note []byte
}

// ReadFollowed returns the followed checkpoint of origin.
func ReadFollowed(tx *ledger.ReadTx, origin string) (Followed, error) {
	return followedIn(tx.Bucket(BucketFollowed), origin)
}

// followedIn is ReadFollowed from the followed bucket b (nil: none).
func followedIn(b *bbolt.Bucket, origin string) (Followed, error) {
	if b == nil {
		return Followed{}, nil
	}
	v := b.Get([]byte(origin))
	if v == nil {
		return Followed{}, nil
	}
	if len(v) < 8+tlog.HashSize {
		return Followed{}, fmt.Errorf("followed %s: corrupt record of %d bytes", origin, len(v))
	}
	f := Followed{Size: binary.BigEndian.Uint64(v), Note: append([]byte(nil), v[8+tlog.HashSize:]...)}
	copy(f.Root[:], v[8:])
	return f, nil
}

// Follow is one item of an OpFollow: a checkpoint of Origin's loop log,
// OldSize the followed size it extends, Proof the consistency proof from
// it.
type Follow struct {
	Origin     string
	OldSize    uint64
	Proof      tlog.TreeProof
	Checkpoint []byte
}

// maxFollows is the most items one OpFollow carries (one per other member).
const maxFollows = 1024

// ApplyFollow stores followed loop checkpoints, one per item (the first
// is c's Origin, OldSize, Proof and Checkpoint, then c.Follows), all or
// none: each signed by the member's loop key (Store.Peer), OldSize equal
// to the followed size, and either the first, the same tree, or proven
// consistent with the followed one by Proof; no origin twice. A refusal
// names the item. Result.Size is the first item's size. The witness quorum
// is checked by the leader before proposing (it depends on the manifest in
// force, which the FSM does not hold).
func ApplyFollow(tx *ledger.Tx, st Store, c Command) (Result, error) {
	items := append([]Follow{{Origin: c.Origin, OldSize: c.OldSize, Proof: c.Proof, Checkpoint: c.Checkpoint}}, c.Follows...)
	if len(items) > maxFollows {
		return refuse(c, fmt.Errorf("%d follow items, at most %d", len(items), maxFollows))
	}
	recs := make([][]byte, len(items))
	seen := make(map[string]bool, len(items))
	var first uint64
	for i, it := range items {
		if seen[it.Origin] {
			return refuse(c, fmt.Errorf("item %d: %s followed twice in one command", i, it.Origin))
		}
		seen[it.Origin] = true
		rec, size, res, err := checkFollow(tx, st, c, it)
		if err != nil || res.Refused != nil {
			if res.Refused != nil && len(items) > 1 {
				res.Refused.Err = fmt.Errorf("item %d (%s): %w", i, it.Origin, res.Refused.Err)
			}
			return res, err
		}
		recs[i] = rec
		if i == 0 {
			first = size
		}
	}
	fb, err := tx.Bucket(BucketFollowed)
	if err != nil {
		return Result{}, err
	}
	for i, it := range items {
		if err := fb.Put([]byte(it.Origin), recs[i]); err != nil {
			return Result{}, err
		}
	}
	return Result{Size: first, Known: first}, nil
}

// checkFollow checks one item of an OpFollow against tx and returns the
// record to store and the checkpoint's size, or a refusal.
func checkFollow(tx *ledger.Tx, st Store, c Command, it Follow) ([]byte, uint64, Result, error) {
	fail := func(err error) ([]byte, uint64, Result, error) {
		res, _ := refuse(c, err)
		return nil, 0, res, nil
	}
	if _, name, err := schemas.ParseOrigin(it.Origin); err != nil || name != schemas.OriginLoop {
		return fail(fmt.Errorf("%w: %s", ErrNotLoopLog, it.Origin))
	}
	v, ok := st.Peer(tx, it.Origin)
	if !ok {
		return fail(fmt.Errorf("%w: %s", ErrNotLoopLog, it.Origin))
	}
	cp, err := ledger.OpenCheckpoint(it.Checkpoint, it.Origin, v)
	if err != nil {
		return fail(err)
	}
	old, err := ReadFollowed(tx.Read(), it.Origin)
	if err != nil {
		return nil, 0, Result{}, err
	}
	switch {
	case it.OldSize != old.Size || cp.Size < old.Size:
		_, _, res, _ := fail(fmt.Errorf("%w: followed size %d, command old size %d, checkpoint size %d", ErrFollowStale, old.Size, it.OldSize, cp.Size))
		res.Known = old.Size
		return nil, 0, res, nil
	case old.Size == 0 || cp.Size == old.Size:
		if len(it.Proof) != 0 {
			return fail(fmt.Errorf("a proof from size %d to %d must be empty", old.Size, cp.Size))
		}
		if old.Size > 0 && cp.Root != old.Root {
			return fail(fmt.Errorf("%w: size %d with root %x, followed root %x", ErrInconsistent, cp.Size, cp.Root[:4], old.Root[:4]))
		}
	default:
		if err := tlog.CheckTree(it.Proof, int64(cp.Size), cp.Root, int64(old.Size), old.Root); err != nil {
			return fail(fmt.Errorf("%w: consistency proof %d -> %d: %v", ErrInconsistent, old.Size, cp.Size, err))
		}
	}
	rec := append(binary.BigEndian.AppendUint64(nil, cp.Size), cp.Root[:]...)
	return append(rec, it.Checkpoint...), cp.Size, Result{}, nil
}

// LoopCheckpointAfter long-polls the member's loop checkpoint as
// CheckpointAfter does its ledger's, with the same bound: no answer within
// wait + RequestTimeout is a failure (and a fresh dial). The answer is
// unverified. (It was bounded by RequestTimeout alone, shorter than the
// wait the member holds it: every loop long-poll with nothing new for 10 s
// failed, and its failure redialled the connection to that member, the
// ledger's long-poll on it included, with a TLS handshake each time;
// issue 20.)
func (c *Client) LoopCheckpointAfter(ctx context.Context, size uint64, wait time.Duration) ([]byte, error) {
	b, _, err := c.loopCheckpointAfter(ctx, size, wait)
	return b, err
}

// loopCheckpointAfter is LoopCheckpointAfter asking for a consistency
// proof from size (when not 0) with the answer (loop_proof.go); it returns
// the proof, unverified, if the member gave one.
func (c *Client) loopCheckpointAfter(ctx context.Context, size uint64, wait time.Duration) ([]byte, *servedProof, error) {
	wait = min(wait, MaxCheckpointWait)
	path := "/loop/" + c.mb.Code + "/checkpoint?after=" + strconv.FormatUint(size, 10) +
		"&wait=" + strconv.FormatInt(int64(wait/time.Millisecond), 10) + "ms"
	if size > 0 {
		path += "&proof=1"
	}
	resp, b, err := c.doWithin(ctx, wait+RequestTimeout, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("member %s loop checkpoint: %s", c.mb.Code, resp.Status)
	}
	b, sp, err := parseLoopAnswer(resp.Header.Get("Content-Type"), b)
	if err != nil {
		return nil, nil, fmt.Errorf("member %s: %w", c.mb.Code, err)
	}
	return b, sp, nil
}

// LoopTiles reads the member's loop log through its tlog-tiles read API
// ("/loop/<code>/..."). What it returns is unverified.
func (c *Client) LoopTiles(ctx context.Context) ledger.HTTPSource {
	return ledger.HTTPSource{Base: "/loop/" + c.mb.Code, Ctx: ctx, Get: c.get}
}

// WaitLoopCheckpoint is WaitCheckpoint for this member's witnessed loop
// log (GET /loop/<own code>/checkpoint?after=<size>).
func (x *Runtime) WaitLoopCheckpoint(r *http.Request, hold func(wait time.Duration)) {
	if x.loop == nil {
		return
	}
	after, wait, ok := x.longPollQuery(r) // watch.go, as WaitCheckpoint
	if !ok {
		return
	}
	hold(wait)
	// Woken when the FSM stored a larger witnessed loop checkpoint (op 4,
	// OwnWitnessed), on every replica, leader or not; not on every applied
	// batch, and never re-read on a timer.
	x.waitWitnessed(r.Context(), &x.loopOwn, x.loop.origin, after, wait)
}

// followLoop keeps a long-poll outstanding on member code's loop
// checkpoint while this replica leads and follows every new answer
// (followServed); a custodian then copies the entries up to it
// (syncCustody). It returns at once for a member without a loop_vkey, and
// when this node's own loop log is off (sanctions.loop_log is a
// consortium-wide choice: with it off a member fetches nothing more than
// before).
func (x *Runtime) followLoop(ctx context.Context, code string) {
	mb, ok := x.m().Member(code)
	if !ok || mb.LoopVerifier() == nil || !x.followsLoops() {
		return
	}
	origin := mb.LoopOrigin()
	var seen uint64
	var last []byte
	backoff := x.cfg.PullInterval
	fresh := true
	for ctx.Err() == nil {
		c := x.client(code)
		if !x.host.IsLeader() || c == nil {
			sleepCtx(ctx, x.cfg.PullInterval)
			continue
		}
		if x.follows.takeLost(origin) {
			last = nil // the checkpoint queued was not stored: follow again
		}
		if last == nil {
			// Start from what is followed (after a restart or a leader change).
			x.host.View(func(tx *ledger.ReadTx) error {
				f, err := ReadFollowed(tx, origin)
				seen, last = f.Size, f.Note
				return err
			})
		}
		start := time.Now()
		b, sp, err := c.loopCheckpointAfter(ctx, seen, longPollWait(fresh, time.Now()))
		fresh = err != nil || !bytes.Equal(b, last) // client_watch.go: a short round after news
		if err == nil {
			x.work.loopAnswers.Add(1)
		}
		if err == nil && !bytes.Equal(b, last) {
			err = x.followServed(ctx, mb, c, b, sp)
			if err == nil && x.isCustodianCached(mb) {
				// A custodian copies up to the stored checkpoint: wait
				// for the batch that stores it (loop_followbatch.go).
				x.follows.waitStored(ctx, origin, 3*followFlushEvery)
			}
		}
		if err == nil {
			err = x.syncCustody(ctx, mb, c) // loop_custody.go: a no-op unless a custodian of it
		}
		if err != nil {
			if ctx.Err() == nil {
				x.logger.Debug("loop log not followed", "member", code, "err", err)
			}
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, idleResync)
			continue
		}
		backoff = x.cfg.PullInterval
		if size := servedSize(b); !bytes.Equal(b, last) {
			seen, last = max(seen, size), b
			// At most one followed checkpoint per followPace and peer:
			// N(N-1) pairs follow, each followed checkpoint a long-poll
			// answer, signature checks and a proof from tiles.
			sleepCtx(ctx, x.followPace(mb))
			continue
		}
		if time.Since(start) < CheckpointWaitFresh/2 {
			sleepCtx(ctx, x.cfg.PullInterval) // answered at once with nothing new
		}
	}
}

// followGap is the least time between two checkpoints of one loop log a
// custodian of it follows (it copies the entries up to each): while
// notices are being written, every member's loop log changes with every
// listing (each member issues notices for listings anywhere). The latest
// checkpoint is stored after at most followGap plus one long-poll plus one
// flush.
const followGap = time.Second

// followGapFar is followGap for a member that is not a custodian of the
// loop log: it holds no entries, and follows only to see that the log is
// not forked or rewritten (issue 20: N(N-1) pairs follow; every followed
// checkpoint costs a long-poll answer at the origin and, at the follower,
// signature checks and a consistency proof from the origin's tiles; at 45
// members following every checkpoint was ~17% of the CPU of a convergence
// and most of its HTTP/3 requests). Such a follower takes the latest
// witnessed checkpoint at most every followGapFar, with one proof from the
// last one it followed (which covers every checkpoint in between): a fork
// shown to it is seen at most followGapFar later than before. The
// witnesses (every checkpoint they cosign is checked against the last)
// and the custodians (followGap) still check every loop checkpoint at
// once.
const followGapFar = 10 * time.Second

// followPace is the least time between two checkpoints of mb's loop log
// this member follows: followGap as a custodian of it, else followGapFar
// (x.followFar in tests).
func (x *Runtime) followPace(mb *Member) time.Duration {
	if x.isCustodian(mb) { // not inside a View: may read the membership
		return followGap
	}
	return cmp.Or(x.followFar, followGapFar)
}

// errNotWitnessed: a served loop checkpoint without the witness quorum
// (not followed; the origin serves its latest witnessed one normally).
var errNotWitnessed = errors.New("loop checkpoint is not witnessed")

// followServed checks a loop checkpoint mb's node served (steps 1-3 above)
// and queues it to be stored if it is newer than the latest verified one.
//
// What is queued, compared and stored is the served note reduced to the
// log's signature and a quorum of verified cosignatures (quorumNote); an
// alert's evidence is the note as served.
//
// sp is the consistency proof the answer carried (loop_proof.go; nil:
// none): used where it proves what a proof from the tiles would, checked
// first.
func (x *Runtime) followServed(ctx context.Context, mb *Member, c *Client, served []byte, sp *servedProof) error {
	origin, v := mb.LoopOrigin(), mb.LoopVerifier()
	cp, err := x.cpCache.Open(served, origin, v)
	if err != nil {
		return err
	}
	signed, names, lines, err := x.cpCache.QuorumNote(x.m(), origin, cp)
	x.cosigLines.add(mb.Code, lines) // GET /v1/exchange: LoopStatus.CosigFailed, CosigUnchecked
	if lines.Failed > 0 {
		x.logger.Warn("loop checkpoint served with cosignature lines that do not verify (not kept)",
			"member", mb.Code, "size", cp.Size, "failed", lines.Failed)
	}
	if err != nil {
		return fmt.Errorf("%w: cosigners %v: %v", errNotWitnessed, names, err)
	}
	if bad, err := x.checkEquivocation(cp); err != nil {
		return err
	} else if bad {
		return fmt.Errorf("%w: %s at size %d conflicts with what this member's witness cosigned", ErrInconsistent, origin, cp.Size)
	}
	x.follows.waitInflight(ctx, origin) // what is read as stored is then what the next command builds on
	var held Followed
	if err := x.host.View(func(tx *ledger.ReadTx) (err error) { held, err = ReadFollowed(tx, origin); return err }); err != nil {
		return err
	}
	// The reference is the latest checkpoint verified: the one queued for
	// the next follow command if any (still based on what is stored), else
	// the stored one.
	ref, queued := held, x.follows.queued(origin, held.Size)
	if queued != nil {
		ref = Followed{Size: queued.size, Root: queued.root, Note: queued.Checkpoint}
	}
	fork := func(reason string) error {
		x.raiseAlert(Evidence{Kind: AlertEquivocation, Origin: origin, Reason: reason, Items: [][]byte{ref.Note, served}})
		return fmt.Errorf("%w: %s", ErrInconsistent, reason)
	}
	// prove is a consistency proof from small (of root smallRoot) to big:
	// the one served with the answer if it verifies, else one from the
	// origin's tiles authenticated against big's root.
	prove := func(big *ledger.Checkpoint, small uint64, smallRoot tlog.Hash) (tlog.TreeProof, error) {
		p, refused := sp.use(big, small, smallRoot)
		if p != nil {
			x.work.servedProofs.Add(1)
			x.proofRefusals.used(mb.Code)
			return p, nil
		}
		if refused != nil { // loop_proof.go: counted and shown, not silent
			x.work.refusedProofs.Add(1)
			if x.proofRefusals.refused(mb.Code, refused, time.Now()) {
				x.logger.Warn("loop checkpoint served with a consistency proof that does not verify (reading its tiles instead)",
					"member", mb.Code, "err", refused)
			}
		}
		x.work.followProofs.Add(1)
		thr := tlog.TileHashReader(tlog.Tree{N: int64(big.Size), Hash: big.Root}, c.LoopTiles(ctx).TileReader())
		p, err := tlog.ProveTree(int64(big.Size), int64(small), thr)
		if err != nil {
			return nil, fmt.Errorf("consistency proof %d -> %d of %s from its tiles: %w", small, big.Size, origin, err)
		}
		return p, nil
	}
	var proof tlog.TreeProof
	switch {
	case ref.Size == 0:
	case cp.Size == ref.Size:
		if cp.Root != ref.Root {
			return fork(fmt.Sprintf("two witnessed loop checkpoints of size %d with different roots", cp.Size))
		}
		if bytes.Equal(signed, ref.Note) {
			return nil
		}
		if queued != nil {
			proof = queued.Proof // the same tree, more cosignatures
		}
	case cp.Size > ref.Size:
		if proof, err = prove(cp, ref.Size, ref.Root); err != nil {
			return err
		}
		if tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(ref.Size), ref.Root) != nil {
			return fork(fmt.Sprintf("witnessed loop checkpoint of size %d does not extend the followed one of size %d", cp.Size, ref.Size))
		}
		if queued != nil && held.Size > 0 {
			// The command's proof starts from what is stored.
			if proof, err = prove(cp, held.Size, held.Root); err != nil {
				return err
			}
			if tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(held.Size), held.Root) != nil {
				return fork(fmt.Sprintf("witnessed loop checkpoint of size %d does not extend the followed one of size %d", cp.Size, held.Size))
			}
		} else if queued != nil {
			proof = nil // nothing stored yet: the first
		}
	default: // smaller than the reference: checked, not stored
		hcp := &ledger.Checkpoint{Origin: origin, Size: ref.Size, Root: ref.Root}
		p, err := prove(hcp, cp.Size, cp.Root)
		if err != nil {
			return err
		}
		if tlog.CheckTree(p, int64(ref.Size), ref.Root, int64(cp.Size), cp.Root) != nil {
			return fork(fmt.Sprintf("witnessed loop checkpoint of size %d is not a prefix of the followed one of size %d", cp.Size, ref.Size))
		}
		return nil
	}
	x.work.follows.Add(1)
	x.follows.queue(Follow{Origin: origin, OldSize: held.Size, Proof: proof, Checkpoint: signed}, cp)
	return nil
}

// WitnessedLog is m.WitnessedLog(origin, signed), checked once per
// distinct signed bytes, origin and manifest.
func (c *CheckpointCache) WitnessedLog(m *Manifest, origin string, signed []byte) ([]string, bool, error) {
	k := cacheKey{sum: sha256.Sum256(signed), kind: 'l', what: origin, owner: m}
	if r, ok := c.get(k); ok {
		return r.names, r.ok, r.err
	}
	c.checks.Add(1)
	names, ok, err := m.WitnessedLog(origin, signed)
	c.put(k, cacheVal{names: names, ok: ok, err: err})
	return names, ok, err
}

// LoopStatus is one other member's loop log as GET /v1/exchange shows it
// (in its MirrorStatus; absent for a member without a loop_vkey).
type LoopStatus struct {
	Origin    string `json:"origin"`
	Followed  uint64 `json:"followed"`  // size of the followed (verified, witnessed when stored) checkpoint
	Witnessed bool   `json:"witnessed"` // the followed checkpoint's cosignatures meet the quorum of the manifest in force
	Cosigned  uint64 `json:"cosigned"`  // size this member's witness last cosigned
	Entries   uint64 `json:"entries"`   // entries of the log this member holds (a custodian's mirror; else 0)
	Custodian bool   `json:"custodian"` // this member is one of its custodians (loop_custody.go)
	// CosigFailed and CosigUnchecked count the cosignature lines of the
	// checkpoints this member's node served that were not kept
	// (CosigLines, loop_quorum.go): lines by a witness of the manifest that
	// do not verify (forged or corrupted), and lines not checked (the
	// quorum was already met, or no witness key of the manifest). Counted
	// once per distinct served note, by the replica that leads (it follows
	// the loop logs), since that replica started; other replicas show 0.
	CosigFailed    uint64 `json:"cosig_failed"`
	CosigUnchecked uint64 `json:"cosig_unchecked"`
	// ProofsRefused counts the consistency proofs this member's node served
	// with its loop long-poll answers, from the size this member needed,
	// that did not verify (loop_proof.go; the follow read the node's tiles
	// instead); ProofRefused and ProofRefusedAt are the last one's reason
	// and time. Counted by the replica that leads (it follows), since it
	// started; other replicas show 0.
	ProofsRefused  uint64    `json:"proofs_refused"`
	ProofRefused   string    `json:"proof_refused,omitempty"`
	ProofRefusedAt time.Time `json:"proof_refused_at,omitzero"`
}

// followsLoops says whether this member follows the other members' loop
// logs: when its own loop log is on (Config.LoopSigner).
func (x *Runtime) followsLoops() bool { return x.cfg.LoopSigner != nil }

// loopStatus is mb's loop log's status in tx; nil without a loop_vkey or
// when this member follows no loop logs.
func (x *Runtime) loopStatus(tx *ledger.ReadTx, sb statusBuckets, m *Manifest, mb *Member) (*LoopStatus, error) {
	if mb.LoopVerifier() == nil || !x.followsLoops() {
		return nil, nil
	}
	ls := &LoopStatus{Origin: mb.LoopOrigin()}
	f, err := followedIn(sb.followed, ls.Origin)
	if err != nil {
		return nil, err
	}
	ls.Followed = f.Size
	if f.Size > 0 {
		_, ok, err := x.cpCache.WitnessedLog(m, ls.Origin, f.Note)
		ls.Witnessed = err == nil && ok
	}
	ws, err := witnessStateIn(sb.witness, ls.Origin)
	if err != nil {
		return nil, err
	}
	ls.Cosigned = ws.Size
	ls.Entries = tx.Log(ls.Origin).Size()
	ls.Custodian = x.isCustodianCached(mb)
	lines := x.cosigLines.get(mb.Code)
	ls.CosigFailed, ls.CosigUnchecked = lines.Failed, lines.Unchecked
	pr := x.proofRefusals.get(mb.Code)
	ls.ProofsRefused, ls.ProofRefused, ls.ProofRefusedAt = pr.n, pr.reason, pr.at
	return ls, nil
}
