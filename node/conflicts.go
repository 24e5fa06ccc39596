package node

import (
	"bytes"
	"net/http"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
)

// Conflicts among listings (issue 12): sanctions.Engine.DetectConflicts
// over the listings of every ledger this node holds (own and mirrored),
// for every subject named by more than one listing: the same act listed
// twice (shared decision numbers), or a subject on a red and a black list
// at once. They are reported, never resolved: the check answer of the
// subject carries them, /audit and GET /v1/conflicts list them all. The
// subjects index (subject key || 0x00 || entry key) is scanned once to find
// the subjects with two listings or more; only those are read.

// conflictsAt returns every conflict at instant at.
func (n *Node) conflictsAt(tx *ledger.ReadTx, at time.Time) ([]sanctions.Conflict, error) {
	b := tx.Bucket(bucketSubjects)
	if b == nil {
		return nil, nil
	}
	var multi []string
	var cur []byte
	count := 0
	flush := func() {
		if count > 1 {
			multi = append(multi, string(cur))
		}
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			continue
		}
		if !bytes.Equal(k[:i], cur) {
			flush()
			cur, count = bytes.Clone(k[:i]), 0
		}
		count++
	}
	flush()
	eng := n.engineIn(tx)
	var out []sanctions.Conflict
	for _, key := range multi {
		hs, err := n.subjectHistories(tx, key)
		if err != nil {
			return nil, err
		}
		out = append(out, eng.DetectConflicts(hs, at)...)
	}
	return out, nil
}

// Conflicts lists every conflict now.
func (n *Node) Conflicts() ([]sanctions.Conflict, error) {
	out := []sanctions.Conflict{}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		cs, err := n.conflictsAt(tx, time.Now())
		out = append(out, cs...)
		return err
	})
	return out, err
}

// handleConflicts is GET /v1/conflicts. Auditors and the admin only: a
// conflict names subjects (USCC or keyed id_hash).
func (n *Node) handleConflicts(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin); !ok {
		return
	}
	out, err := n.Conflicts()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
