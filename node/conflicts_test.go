package node

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
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
