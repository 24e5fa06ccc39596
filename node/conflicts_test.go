package node

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/conflicts"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/tlog"
)

// Issue 12 item 3: sanctions.DetectConflicts had no caller. The same act
// listed twice now shows in the subject's check answer and in Conflicts
// (/audit, GET /v1/conflicts).
func TestConflictsShown(t *testing.T) {
	s, v, key := zhejiangKeys(t)
	n := calendarReplica(t, filepath.Join(t.TempDir(), "a.db"), s, v)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var entries [][]byte
	var subject string
	for i, reason := range []string{"first filing", "filed again"} {
		l := zjEnvListing(t, 1, at.Add(time.Duration(i)*time.Hour))
		l.Reason += reason
		subject = l.Subject.USCC
		e, err := schemas.Sign(l, key)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	applyAll(t, n.fsm, ownAppend(t, 1, at.Add(2*time.Hour), entries...))
	ans, err := n.check(subject, "", at.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Conflicts) != 1 || ans.Conflicts[0].Kind != sanctions.ConflictSameAct || len(ans.Conflicts[0].Listings) != 2 {
		t.Fatalf("check answer conflicts: %+v", ans.Conflicts)
	}
	all, err := n.Conflicts()
	if err != nil || len(all) != 1 || all[0].Subject != subject {
		t.Fatalf("Conflicts: %+v %v", all, err)
	}
}

// Issue 12 item 3: conflicts are detected when a listing is indexed (not
// only when read), recorded in the conflicts bucket identically on every
// replica with the entry that detected them, and re-detected when an event
// changes a listing's state (a withdrawal ends the conflict).
func TestConflictsDetectedAtIndexing(t *testing.T) {
	dir := t.TempDir()
	s, v, key := zhejiangKeys(t)
	var replicas []*Node
	for i := range 3 {
		replicas = append(replicas, calendarReplica(t, filepath.Join(dir, string(rune('a'+i))+".db"), s, v))
	}
	apply := func(l *raft.Log) {
		for _, r := range replicas {
			applyAll(t, r.fsm, l)
		}
	}
	sign := func(r schemas.Record) []byte {
		e, err := schemas.Sign(r, key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	first := zjEnvListing(t, 1, at)
	subject := first.Subject.USCC
	apply(ownAppend(t, 1, at, sign(first))) // ledger index 0
	for i, r := range replicas {
		if rec, err := recordedOf(r, subject); err != nil || len(rec.Conflicts) != 0 {
			t.Fatalf("replica %d: one listing, conflicts %+v %v", i, rec, err)
		}
	}
	again := zjEnvListing(t, 1, at.Add(time.Hour))
	again.Reason += " filed again"
	apply(ownAppend(t, 2, at.Add(time.Hour), sign(again))) // ledger index 1
	red := zjEnvListing(t, 1, at.Add(2*time.Hour))
	red.Programme.Code, red.Decision.DocNo, red.UnderlyingDecisions = "ZJ-ENV-RED", "浙环红〔2026〕1号", nil
	red.Reason = "守信激励"
	apply(ownAppend(t, 3, at.Add(2*time.Hour), sign(red))) // ledger index 2

	var dump []byte
	for i, r := range replicas {
		rec, err := recordedOf(r, subject)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, c := range rec.Conflicts {
			kinds[c.Kind] = len(c.Listings)
		}
		if rec.Index != 2 || kinds[sanctions.ConflictSameAct] != 2 || kinds[sanctions.ConflictRedAndBlack] != 3 {
			t.Fatalf("replica %d recorded %+v", i, rec)
		}
		all, err := r.Conflicts()
		if err != nil || len(all) != 2 || all[0].Detected == nil || all[0].Detected.Index != 2 {
			t.Fatalf("replica %d Conflicts %+v %v", i, all, err)
		}
		d := dumpBuckets(t, r, bucketConflicts)
		if dump == nil {
			dump = d
		} else if !bytes.Equal(dump, d) {
			t.Fatalf("replica %d differs:\n%s\nvs\n%s", i, d, dump)
		}
	}

	// Withdrawing the red listing and the second filing ends both conflicts.
	var ws [][]byte
	for _, idx := range []uint64{1, 2} {
		var ref schemas.Ref
		replicas[0].fsm.view(func(tx *ledger.ReadTx) error {
			e, _ := tx.Log(replicas[0].origin).Entry(idx)
			h := tlog.RecordHash(e)
			ref = schemas.Ref{Origin: replicas[0].origin, Index: idx, Hash: hex.EncodeToString(h[:])}
			return nil
		})
		ws = append(ws, sign(&schemas.Correction{Header: schemas.Header{Region: "330000", Submitter: first.Submitter, CreatedAt: schemas.NewTime(at.Add(3 * time.Hour))},
			Target: ref, Action: "withdraw", Reason: "filed in error"}))
	}
	apply(ownAppend(t, 4, at.Add(3*time.Hour), ws...))
	for i, r := range replicas {
		rec, err := recordedOf(r, subject)
		if err != nil || len(rec.Conflicts) != 0 {
			t.Fatalf("replica %d after withdrawal: %+v %v", i, rec, err)
		}
		if all, _ := r.Conflicts(); len(all) != 0 {
			t.Fatalf("replica %d Conflicts after withdrawal: %+v", i, all)
		}
	}
}

func recordedOf(n *Node, subject string) (conflicts.Record, error) {
	var rec conflicts.Record
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		rec, err = conflicts.Recorded(tx, subject)
		return err
	})
	return rec, err
}
