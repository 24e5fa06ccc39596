package exchange

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Custodians of loop logs (issue 20, DESIGN.md "Per-kind replication").
// Each member with a loop_vkey has LoopCustodians custodians: the first
// effective members other than itself in rendezvous order of its loop
// origin (WitnessOrder), which every member computes alike. A custodian
// mirrors the loop log's entries fully, as a ledger mirror does: up to the
// checkpoint it follows (loop_follow.go: verified, witnessed, consistent
// with what it followed before), each entry's leaf hash read through the
// origin's hash tiles authenticated against that checkpoint (the last batch
// up to it: the root the entries lead to from the frontier, loopLeaves), each entry
// checked (checkLoopEntry), the extended frontier proven a prefix of the
// checkpoint, then OpMirrorAppend through raft, so the copy is a complete
// verified prefix, indexed like any mirror and served at /loop/<code>/. A
// bad entry raises a bad_entry alert and stops the copy (BucketStopped, by
// loop origin), as for a ledger. Other members hold no loop entries.
//
// Not checked: whether an entry's key was valid at its append. The origin's
// FSM checks it against its keyring as of its ledger's size then, which a
// custodian does not know; a custodian checks that the key was registered
// in the origin's ledger (its mirror, as far as mirrored), signed the entry
// and belongs to the submitter the record names.

// LoopCustodians is how many members hold a copy of each loop log.
const LoopCustodians = 2

// loopBatch is the most loop entries one mirror-append command carries.
const loopBatch = 1024

// Custodians are the members holding copies of member code's loop log,
// out of effective (the effective members' codes): the first
// LoopCustodians other than code in rendezvous order of its loop origin.
func Custodians(code string, effective []string) []string {
	others := slices.DeleteFunc(slices.Clone(effective), func(c string) bool { return c == code })
	order := WitnessOrder(schemas.LoopOrigin(code), others)
	return order[:min(LoopCustodians, len(order))]
}

// isCustodian says whether this member holds a copy of mb's loop log.
func (x *Runtime) isCustodian(mb *Member) bool {
	eff, gen := x.effectiveGen()
	return x.custodianOf(mb, eff, gen)
}

// isCustodianCached is isCustodian over the membership as last computed,
// without reading ledger.db and without effMu (safe inside Host.View:
// effective holds effMu across a View, and a View waiting behind a bbolt
// writer that waits for this View to end would never get it; the
// 45-member bench deadlocked so); false before it was computed.
func (x *Runtime) isCustodianCached(mb *Member) bool {
	s := x.effSnap.Load() // replaced, never changed in place
	if s == nil {
		return x.custodianOf(mb, nil, 0)
	}
	return x.custodianOf(mb, s.set, s.gen)
}

// custodianOf says whether this member is one of mb's loop log's
// custodians among effective, the effective set of generation gen
// (effectiveGen). The answer is remembered per member code until the
// generation changes (issue 20: computing Custodians, a rendezvous order
// of every member, on each follow round and for each mirror of each status
// read was 12% of the CPU at 45 members); gen 0 is never remembered.
func (x *Runtime) custodianOf(mb *Member, effective map[string]bool, gen uint64) bool {
	if mb.LoopVerifier() == nil {
		return false
	}
	if gen != 0 {
		x.custMu.Lock()
		if x.custGen == gen {
			if is, ok := x.cust[mb.Code]; ok {
				x.custMu.Unlock()
				return is
			}
		}
		x.custMu.Unlock()
	}
	var eff []string
	for code, ok := range effective {
		if ok {
			eff = append(eff, code)
		}
	}
	is := slices.Contains(Custodians(mb.Code, eff), x.self.Code)
	if gen != 0 {
		x.custMu.Lock()
		if x.custGen != gen {
			// A newer generation replaces an older one; an older one
			// (a caller that read the set before it changed) is not kept.
			if gen < x.custGen {
				x.custMu.Unlock()
				return is
			}
			x.cust, x.custGen = map[string]bool{}, gen
		}
		x.cust[mb.Code] = is
		x.custMu.Unlock()
	}
	return is
}

// syncCustody brings this member's copy of mb's loop log up to the
// checkpoint it follows, verifying every entry; a no-op unless this member
// is a custodian of it.
func (x *Runtime) syncCustody(ctx context.Context, mb *Member, c *Client) error {
	if !x.isCustodian(mb) {
		return nil
	}
	origin := mb.LoopOrigin()
	if stopped, err := x.mirrorStopped(origin); err != nil || stopped {
		return err
	}
	var f Followed
	var fr *Frontier
	var stored []byte
	err := x.host.View(func(tx *ledger.ReadTx) error {
		var err error
		if f, err = ReadFollowed(tx, origin); err != nil {
			return err
		}
		if fr, err = readFrontier(tx, origin); err != nil {
			return err
		}
		stored, _ = tx.Log(origin).Checkpoint()
		return nil
	})
	if err != nil || f.Size < fr.Size() || f.Size == 0 {
		return err
	}
	if f.Size == fr.Size() {
		if bytes.Equal(f.Note, stored) {
			return nil
		}
		// The same tree with (more) cosignatures: store the note.
		res, err := x.propose(ctx, Command{Op: OpMirrorAppend, Origin: origin, Checkpoint: f.Note, First: fr.Size()})
		if err != nil {
			return err
		}
		return res.Err()
	}
	check, err := x.loopEntryCheck(mb)
	if err != nil {
		return err
	}
	thr := tlog.TileHashReader(tlog.Tree{N: int64(f.Size), Hash: f.Root}, c.LoopTiles(ctx).TileReader())
	for fr.Size() < f.Size {
		start := fr.Size()
		end := min(f.Size, start+loopBatch)
		entries, err := c.LoopTiles(ctx).Entries(start, end)
		if err != nil {
			return fmt.Errorf("member %s loop log: %w", mb.Code, err)
		}
		next, bad, err := loopLeaves(thr, fr, f.Size, f.Root, entries)
		if bad >= 0 {
			index := start + uint64(bad)
			x.raiseAlert(Evidence{Kind: AlertBadEntry, Origin: origin, Index: index,
				Reason: "served loop entry does not match the leaf hash under the witnessed checkpoint", Items: [][]byte{f.Note, entries[bad]}})
			return fmt.Errorf("loop entry %d: leaf hash mismatch", index)
		}
		if err != nil {
			return fmt.Errorf("reading %s hash tiles at size %d: %w", origin, f.Size, err)
		}
		// Every entry's inclusion is now proven; check what it says.
		for i, e := range entries {
			if err := check(e); err != nil {
				index := start + uint64(i)
				x.raiseAlert(Evidence{Kind: AlertBadEntry, Origin: origin, Index: index, Reason: err.Error(), Items: [][]byte{f.Note, e}})
				return fmt.Errorf("loop entry %d: %w", index, err)
			}
		}
		var proof tlog.TreeProof
		if end < f.Size {
			if proof, err = tlog.ProveTree(int64(f.Size), int64(end), thr); err != nil {
				return fmt.Errorf("consistency proof %d -> %d: %w", end, f.Size, err)
			}
		}
		res, err := x.propose(ctx, Command{Op: OpMirrorAppend, Origin: origin, Checkpoint: f.Note, First: start, Proof: proof, Entries: entries})
		if err != nil {
			return err
		}
		if res.Refused != nil {
			return fmt.Errorf("loop mirror-append refused: %w", res.Refused)
		}
		x.mirrored.WithLabelValues(origin).Add(float64(len(entries)))
		fr = next
	}
	return nil
}

// loopLeaves authenticates entries as leaves [fr.Size(), ...) of the tree
// of size and root (a followed checkpoint) and returns fr extended by them.
// The last batch up to that size is authenticated by the root its record
// hashes lead to from the verified frontier (lastBatch, as a ledger
// mirror's): a custody sync then reads the entry bundle only, not the
// origin's hash tiles as well. Any other batch, or one whose root differs,
// is checked against the leaf hashes read through thr (the origin's hash
// tiles authenticated against the root), which names the first entry that
// does not match: bad is its position in entries (-1: none).
func loopLeaves(thr tlog.HashReader, fr *Frontier, size uint64, root tlog.Hash, entries [][]byte) (next *Frontier, bad int, err error) {
	if next, _ := lastBatch(fr, &ledger.Checkpoint{Size: size, Root: root}, entries); next != nil {
		return next, -1, nil
	}
	start := fr.Size()
	idx := make([]int64, len(entries))
	for i := range entries {
		idx[i] = tlog.StoredHashIndex(0, int64(start)+int64(i))
	}
	leaves, err := thr.ReadHashes(idx)
	if err != nil {
		return nil, -1, err
	}
	next = fr.Clone()
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] { // leaves[i] is authenticated: from here on it is e's leaf hash
			return nil, i, fmt.Errorf("leaf hash mismatch")
		}
		next.AppendLeaf(leaves[i])
	}
	return next, -1, nil
}

// loopEntryCheck is the check of one of mb's loop entries: a canonical
// signed sanction notice or feedback, signed by a key registered in mb's
// ledger as this member mirrored it (anchors from the manifest, then its
// governance records), naming mb's region and the key's owner as submitter,
// and valid.
func (x *Runtime) loopEntryCheck(mb *Member) (func(e []byte) error, error) {
	var size uint64
	var govIdx []uint64
	err := x.host.View(func(tx *ledger.ReadTx) error {
		size = tx.Log(mb.Origin()).Size()
		if gov := tx.Bucket(BucketGov); gov != nil {
			prefix := append([]byte(mb.Origin()), 0)
			c := gov.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if _, index, ok := SplitEntryKey(k); ok {
					govIdx = append(govIdx, index)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev, err := x.entryVerifier(mb, size) // mirror_loop.go: the keyring replayed from the mirrored governance
	if err != nil {
		return nil, err
	}
	// A key is looked up at an index where it was valid: after the record
	// that registered it (anchors: any index).
	at := append([]uint64{0}, govIdx...)
	return func(e []byte) error {
		s, err := schemas.ParseSigned(e)
		if err != nil {
			return fmt.Errorf("envelope: %w", err)
		}
		var ki schemas.KeyInfo
		found := false
		for _, i := range at {
			if k, err := ev.kr.Lookup(s.KeyID, i+1); err == nil {
				ki, found = k, true
				break
			}
		}
		if !found {
			return fmt.Errorf("signing key %s: not registered in %s", s.KeyID, mb.Origin())
		}
		if err := x.loopKeys.verify(s, ki.Public); err != nil { // s.Verify(ki.Public), the key prepared once (keycache.go)
			return fmt.Errorf("signature: %w", err)
		}
		rec, err := s.Decode()
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if k := rec.Kind(); k != "sanction_notice" && k != "feedback" {
			return fmt.Errorf("a %s in a loop log, which holds only sanction notices and feedback", k)
		}
		if why := ev.headerProblem(rec, s.KeyID, ki); why != "" {
			return fmt.Errorf("%s", why)
		}
		return ev.val.Validate(rec)
	}, nil
}
