package receipts

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
)

// Witnessed receipts (docs/API.md):
//
//   - POST /v1/records?witnessed=1[&wait=DUR] answers, once the records are
//     durable, only when a checkpoint covering every one of them carries the
//     witness quorum of the manifest; each receipt's proof (a C2SP
//     tlog-proof, leaf hash in the extra line) is then against that
//     cosigned checkpoint and verifies with exchange.Manifest.VerifyReceipt.
//     Past wait (default DefaultWitnessWait, at most MaxWitnessWait) it
//     answers 504 naming what it waited for; the records stay committed and
//     GET /v1/proof gives their receipts later.
//   - GET /v1/proof/{code}/{index} is the receipt of any entry of the own
//     ledger or a mirror against the latest witnessed checkpoint (public:
//     it holds hashes only, as the hash tiles do); 404 if no witnessed
//     checkpoint covers the entry yet.

// DefaultWitnessWait and MaxWitnessWait bound ?wait= of a witnessed submission.
const (
	DefaultWitnessWait = 10 * time.Second
	MaxWitnessWait     = 2 * time.Minute
)

// WitnessWait reads ?witnessed= and ?wait= of a submission; ok=false means
// no witnessed receipt was asked for. member says whether this node is a
// consortium member (only then do witnesses cosign its checkpoints). Bad
// values are a 400 before anything is written.
func WitnessWait(q url.Values, member bool) (wait time.Duration, ok bool, aerr *api.ErrorBody) {
	if !q.Has("witnessed") {
		if q.Has("wait") {
			return 0, false, httpx.Errorf(http.StatusBadRequest, "wait is only meaningful with witnessed=1")
		}
		return 0, false, nil
	}
	switch q.Get("witnessed") {
	case "0", "false":
		return 0, false, nil
	case "1", "true", "":
	default:
		return 0, false, httpx.Errorf(http.StatusBadRequest, "witnessed=%q: want 1 or 0", q.Get("witnessed"))
	}
	if !member {
		return 0, false, httpx.Errorf(http.StatusBadRequest, "witnessed=1: this node is not a consortium member, no witness cosigns its checkpoints")
	}
	wait = DefaultWitnessWait
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > MaxWitnessWait {
			return 0, false, httpx.Errorf(http.StatusBadRequest, "wait=%q: want a duration such as 5s, above 0 and at most %s", s, MaxWitnessWait)
		}
		wait = d
	}
	return wait, true, nil
}

// Manifest is what witnessed receipts read of the consortium manifest
// (exchange.Manifest). Its methods read only tx.
type Manifest interface {
	// LatestWitnessed is origin's latest checkpoint with the witness
	// quorum (own is this member's origin); size 0 and no error: none yet.
	LatestWitnessed(tx *ledger.ReadTx, own, origin string) (signed []byte, size uint64, err error)
	// ProveWitnessed proves entry index of origin against signed (of tree size size).
	ProveWitnessed(tx *ledger.ReadTx, origin string, index uint64, signed []byte, size uint64) (*exchange.WitnessedProof, error)
	// QuorumRule names the witness quorum.
	QuorumRule() string
}

// Witnessed answers witnessed receipts of this member's ledgers.
type Witnessed struct {
	Store    Store
	Manifest Manifest
	Own      string // this region's ledger origin
	Code     string // this region's code, for GET /v1/proof/<code>/...
}

// Wait replaces the receipts' proofs by proofs against a witnessed
// checkpoint covering all of them, polling until one exists or wait
// passes (then 504; a failed read is a 500). It returns when ctx is done.
func (w Witnessed) Wait(ctx context.Context, rs []api.Receipt, wait time.Duration) ([]api.Receipt, *api.ErrorBody) {
	var need uint64
	for _, r := range rs {
		need = max(need, r.Index+1)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		var out []api.Receipt
		var have uint64
		err := w.Store.View(func(tx *ledger.ReadTx) error {
			signed, size, err := w.Manifest.LatestWitnessed(tx, w.Own, w.Own)
			if err != nil || size < need {
				have = size
				return err
			}
			out = make([]api.Receipt, len(rs))
			for i, r := range rs {
				wr, err := w.Receipt(tx, w.Own, r.Index, signed, size)
				if err != nil {
					return err
				}
				wr.Duplicate = r.Duplicate
				out[i] = *wr
			}
			return nil
		})
		if err != nil {
			return nil, httpx.Errorf(http.StatusInternalServerError, "records committed, reading the witnessed checkpoint failed: %v", err)
		}
		if out != nil {
			return out, nil
		}
		select {
		case <-ctx.Done():
			idx := make([]string, len(rs))
			for i, r := range rs {
				idx[i] = strconv.FormatUint(r.Index, 10)
			}
			return nil, httpx.Errorf(http.StatusGatewayTimeout,
				"records committed at index %s of %s, but after %s no checkpoint of size >= %d carries %s (latest witnessed size %d); GET /v1/proof/%s/<index> later",
				strings.Join(idx, ","), w.Own, wait, need, w.Manifest.QuorumRule(), have, w.Code)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Receipt is the receipt of entry index of origin against signed (of
// tree size size).
func (w Witnessed) Receipt(tx *ledger.ReadTx, origin string, index uint64, signed []byte, size uint64) (*api.Receipt, error) {
	p, err := w.Manifest.ProveWitnessed(tx, origin, index, signed, size)
	if err != nil {
		return nil, err
	}
	return &api.Receipt{Origin: origin, Index: index, LeafHash: hex.EncodeToString(p.LeafHash[:]), Checkpoint: string(signed),
		InclusionProof: api.EncodeHashes(p.Hashes), Witnesses: p.Witnesses, Proof: string(p.Proof)}, nil
}

// Proof is the receipt of entry index of origin (this member's ledger or a
// mirror) against its latest witnessed checkpoint, of size size; nil and
// no error when none covers index yet (GET /v1/proof answers 404).
func (w Witnessed) Proof(origin string, index uint64) (rc *api.Receipt, size uint64, err error) {
	err = w.Store.View(func(tx *ledger.ReadTx) error {
		var signed []byte
		var err error
		if signed, size, err = w.Manifest.LatestWitnessed(tx, w.Own, origin); err != nil || size <= index {
			return err
		}
		rc, err = w.Receipt(tx, origin, index, signed, size)
		return err
	})
	return rc, size, err
}
