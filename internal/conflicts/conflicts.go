// Package conflicts records the conflicts among listings (issue 12) that
// the FSM of package node detects when it indexes them.
//
// When the FSM indexes a listing (own or mirrored), or an event that can
// change a listing's state (repair, correction, objection decision), it
// runs sanctions.Engine.DetectConflicts (catalogue and calendar in force,
// at the entry's raft time) over every listing of that listing's subject in
// every ledger the node holds, and records the result here ([Put]): the
// same act listed twice (shared decision document numbers, by one member or
// two), or a subject on a red and a black list at once. The decision reads
// only the ledgers and the index, so every replica records the same at the
// same entry ([Reindexer], which picks the listing an entry touches and
// re-detects its subjects' conflicts). Conflicts are reported, never
// resolved.
//
// Views merge what was recorded with what is in force at the instant asked
// ([Merge]): a publicity period may have ended since, which is not an
// entry.
//
// It owns one ledger.db bucket (changing its name or layout breaks
// existing data directories):
//
//	conflicts: subject key (USCC or person id_hash) -> JSON Record
//	           (absent: no conflict at the last entry that touched the subject)
//
// # Failures
//
// A value that does not decode is an error naming the subject ([Recorded]);
// storage errors are returned as they are.
package conflicts

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Bucket is the conflicts bucket's name.
const Bucket = "conflicts"

// Record is the bucket value: the subject's conflicts as detected at entry
// (Origin, Index), raft time At.
type Record struct {
	Conflicts []sanctions.Conflict `json:"conflicts"`
	Origin    string               `json:"origin"`
	Index     uint64               `json:"index"`
	At        time.Time            `json:"at"`
}

// Subjects are the subject keys DetectConflicts groups listing l under.
func Subjects(l *schemas.Listing) []string {
	var out []string
	if l.Subject.USCC != "" {
		out = append(out, l.Subject.USCC)
	}
	if l.Subject.Type == schemas.SubjectNaturalPerson && l.Subject.Person != nil && l.Subject.Person.IDHash != "" {
		out = append(out, l.Subject.Person.IDHash)
	}
	return out
}

// Put records the conflicts cs of subject key detected at entry (origin,
// index), raft time at; none removes the subject's record. Runs inside the
// FSM's transaction.
func Put(tx *ledger.Tx, key string, cs []sanctions.Conflict, origin string, index uint64, at time.Time) error {
	b, err := tx.Bucket(Bucket)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return b.Delete([]byte(key))
	}
	v, err := json.Marshal(Record{Conflicts: cs, Origin: origin, Index: index, At: at})
	if err != nil {
		return err
	}
	return b.Put([]byte(key), v)
}

// Recorded reads the record of subject key (none: zero value).
func Recorded(tx *ledger.ReadTx, key string) (Record, error) {
	var r Record
	b := tx.Bucket(Bucket)
	if b == nil {
		return r, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return r, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("conflicts bucket, subject %q: %w", key, err)
	}
	return r, nil
}

// Keys lists the subject keys with a recorded conflict, in key order.
func Keys(tx *ledger.ReadTx) ([]string, error) {
	b := tx.Bucket(Bucket)
	if b == nil {
		return nil, nil
	}
	var keys []string
	err := b.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	return keys, err
}

// same reports whether a and b name the same conflict.
func same(a, b sanctions.Conflict) bool {
	return a.Kind == b.Kind && a.Subject == b.Subject && slices.Equal(a.Listings, b.Listings)
}

// Merge merges the recorded conflicts rec of a subject with those in force
// now: each recorded one with the entry that detected it and whether it is
// still in force, then each in force that was not recorded (Detected nil).
func Merge(rec Record, now []sanctions.Conflict) []api.RecordedConflict {
	var out []api.RecordedConflict
	for _, c := range rec.Conflicts {
		rc := api.RecordedConflict{Conflict: c, Detected: &schemas.Ref{Origin: rec.Origin, Index: rec.Index}, Since: rec.At}
		rc.InForce = slices.ContainsFunc(now, func(x sanctions.Conflict) bool { return same(x, c) })
		out = append(out, rc)
	}
	for _, c := range now {
		if !slices.ContainsFunc(rec.Conflicts, func(x sanctions.Conflict) bool { return same(x, c) }) {
			out = append(out, api.RecordedConflict{Conflict: c, InForce: true})
		}
	}
	return out
}
