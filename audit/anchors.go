package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// AnchorReader reads the anchors recorded on a Fabric channel (package
// anchor/fabric) or another anchor backend (anchor.Memory). What it returns
// is as suspect as any data: the cross-check compares it with the verified
// ledger and trusts neither side alone.
type AnchorReader interface {
	// Latest returns member's latest anchor as committed, or an error
	// wrapping anchor.ErrNotFound when none is.
	Latest(ctx context.Context, member string) (anchor.Anchor, error)
	// Get returns member's anchor at size, or an error wrapping
	// anchor.ErrNotFound when none was recorded at that size.
	Get(ctx context.Context, member string, size uint64) (anchor.Anchor, error)
}

// AnchorResult is what the cross-check found for one member's ledger.
type AnchorResult struct {
	Member       string `json:"member"`
	LedgerSize   uint64 `json:"ledger_size"`             // size of the verified ledger compared
	AnchoredSize uint64 `json:"anchored_size,omitempty"` // size of the anchor compared (0: none)
	AnchoredRoot string `json:"anchored_root,omitempty"` // hex
	LedgerRoot   string `json:"ledger_root,omitempty"`   // hex root of the verified ledger at AnchoredSize
	OK           bool   `json:"ok"`                      // the anchor agrees with the ledger
	Note         string `json:"note,omitempty"`          // why nothing was compared, or the mismatch
}

// CheckAnchors cross-checks member's anchors against its verified ledger:
// a tree of size with root, whose hashes hr reads (verified against root,
// e.g. a tlog.TileHashReader). It compares the latest anchor when it is not
// beyond size, else the anchor at exactly size if there is one: at equal
// size the roots must be equal, at a smaller size an RFC 6962 consistency
// proof built from hr must verify (tlog.ProveTree, tlog.CheckTree). It
// returns the result and, for a mismatch or an unreadable channel, the
// Failure to report (with both roots); no anchor at all, or only anchors
// beyond the verified ledger, is a result with OK false and a Note, not a
// failure, since anchoring may lag or the copy audited may be older.
func CheckAnchors(ctx context.Context, r AnchorReader, member string, size uint64, root tlog.Hash, hr tlog.HashReader) (AnchorResult, *Failure) {
	res := AnchorResult{Member: member, LedgerSize: size}
	origin := schemas.LedgerOrigin(member)
	fail := func(reason string) (AnchorResult, *Failure) {
		res.OK, res.Note = false, reason
		return res, &Failure{Check: CheckAnchor, Origin: origin, Index: -1, Reason: reason}
	}
	a, err := r.Latest(ctx, member)
	switch {
	case errors.Is(err, anchor.ErrNotFound):
		res.Note = "no anchor recorded"
		return res, nil
	case err != nil:
		return fail("reading the latest anchor: " + err.Error())
	case a.Size > size:
		latest := a.Size
		a, err = r.Get(ctx, member, size)
		if errors.Is(err, anchor.ErrNotFound) {
			res.Note = fmt.Sprintf("the latest anchor (size %d) is beyond the audited ledger (size %d), and none is at %d: not compared", latest, size, size)
			return res, nil
		}
		if err != nil {
			return fail(fmt.Sprintf("reading the anchor at size %d: %v", size, err))
		}
	}
	res.AnchoredSize, res.AnchoredRoot = a.Size, fmt.Sprintf("%x", a.Root[:])
	if a.Member != member {
		return fail(fmt.Sprintf("asked for member %s's anchor, got member %s's", member, a.Member))
	}
	ledgerRoot := root
	if a.Size < size {
		if ledgerRoot, err = tlog.TreeHash(int64(a.Size), hr); err != nil {
			return fail(fmt.Sprintf("computing the ledger's root at the anchored size %d: %v", a.Size, err))
		}
	}
	res.LedgerRoot = fmt.Sprintf("%x", ledgerRoot[:])
	mismatch := func(why string) (AnchorResult, *Failure) {
		return fail(fmt.Sprintf("member %s: the anchor at size %d has root %x, the audited ledger (size %d) has root %x at that size: %s",
			member, a.Size, a.Root[:], size, ledgerRoot[:], why))
	}
	switch {
	case a.Size == 0:
		return fail(fmt.Sprintf("member %s: an anchor of the empty tree", member))
	case a.Size == size:
		if a.Root != root {
			return mismatch("same size, different root (a fork)")
		}
	default:
		p, err := tlog.ProveTree(int64(size), int64(a.Size), hr)
		if err != nil {
			return fail(fmt.Sprintf("building the consistency proof from the anchored size %d: %v", a.Size, err))
		}
		if err := tlog.CheckTree(p, int64(size), root, int64(a.Size), a.Root); err != nil {
			return mismatch("no consistency (a fork): " + err.Error())
		}
	}
	res.OK = true
	return res, nil
}
