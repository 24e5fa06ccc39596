package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/tlog"
)

// TestCheckIndexAnswersAsHistoryWalk (issue 21, P3): the check index answers
// every check exactly as the history walk does, for a table of listings in
// each situation a check meets, at several instants and for an action and
// none; plain listings are answered from the index alone (not flagged), and
// listings with state-changing events are flagged and walked.
func TestCheckIndexAnswersAsHistoryWalk(t *testing.T) {
	s, v, key := zhejiangKeys(t)
	n := calendarReplica(t, filepath.Join(t.TempDir(), "a.db"), s, v)
	origin := n.origin
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	sign := func(r schemas.Record) []byte {
		e, err := schemas.Sign(r, key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	raftIndex := uint64(0)
	size := uint64(0)
	appendRecs := func(when time.Time, recs ...schemas.Record) schemas.Ref {
		var es [][]byte
		for _, r := range recs {
			es = append(es, sign(r))
		}
		raftIndex++
		applyAll(t, n.fsm, ownAppend(t, raftIndex, when, es...))
		h := tlog.RecordHash(es[0])
		ref := schemas.Ref{Origin: origin, Index: size, Hash: hex.EncodeToString(h[:])}
		size += uint64(len(es))
		return ref
	}
	type tcase struct {
		name    string
		seq     uint64
		events  func(l *schemas.Listing, ref schemas.Ref) // appended after the listing
		before  bool                                      // a correction referencing the listing's index is appended first
		flagged bool
		region  string
	}
	hdr := func(l *schemas.Listing, when time.Time) schemas.Header {
		return schemas.Header{Region: "330000", Submitter: l.Submitter, CreatedAt: schemas.NewTime(when)}
	}
	cases := []tcase{
		{name: "listed", seq: 1},
		{name: "listed, notice and feedback only", seq: 2, events: func(l *schemas.Listing, ref schemas.Ref) {
			nt := appendRecs(at.Add(2*time.Hour), &schemas.SanctionNotice{Header: hdr(l, at.Add(2*time.Hour)), Listing: ref,
				Target: schemas.Target{Kind: "enterprise", USCC: l.Subject.USCC}})
			appendRecs(at.Add(3*time.Hour), &schemas.Feedback{Header: hdr(l, at.Add(3*time.Hour)), Notice: nt, Outcome: "applied"})
		}},
		{name: "repaired", seq: 3, flagged: true, events: func(l *schemas.Listing, ref schemas.Ref) {
			appendRecs(at.Add(2*time.Hour), &schemas.Repair{Header: hdr(l, at.Add(2*time.Hour)), Listing: ref, Type: "decision_revoked",
				Decision: schemas.RepairDecision{DocNo: "浙环修〔2026〕1号", Authority: l.Authority, Date: schemas.NewDate(2026, 3, 2)},
				Effects:  []string{"remove"}, MinPeriodMet: true})
		}},
		{name: "corrected (withdrawn)", seq: 4, flagged: true, events: func(l *schemas.Listing, ref schemas.Ref) {
			appendRecs(at.Add(2*time.Hour), &schemas.Correction{Header: hdr(l, at.Add(2*time.Hour)), Target: ref, Action: "withdraw", Reason: "filed in error"})
		}},
		{name: "objection upheld", seq: 5, flagged: true, events: func(l *schemas.Listing, ref schemas.Ref) {
			o := appendRecs(at.Add(2*time.Hour), &schemas.Objection{Header: hdr(l, at.Add(2*time.Hour)), Target: ref, SubjectKey: l.Subject.USCC,
				Grounds: []string{"wrong_listing"}, Statement: "revoked on review", FiledAt: schemas.NewTime(at.Add(2 * time.Hour)), ProvidingUnit: l.Authority})
			appendRecs(at.Add(3*time.Hour), &schemas.ObjectionDecision{Header: hdr(l, at.Add(3*time.Hour)), Objection: o, Decision: "upheld",
				Actions: []string{"remove"}, DecidedAt: schemas.NewTime(at.Add(3 * time.Hour)), Authority: l.Authority})
		}},
		{name: "objection pending", seq: 6, flagged: true, events: func(l *schemas.Listing, ref schemas.Ref) {
			appendRecs(at.Add(2*time.Hour), &schemas.Objection{Header: hdr(l, at.Add(2*time.Hour)), Target: ref, SubjectKey: l.Subject.USCC,
				Grounds: []string{"fact_error"}, Statement: "wrong date", FiledAt: schemas.NewTime(at.Add(2 * time.Hour)), ProvidingUnit: l.Authority})
		}},
		{name: "other region", seq: 7, region: "310000"},
		{name: "event indexed before the listing", seq: 8, flagged: true, before: true},
	}
	type subject struct {
		tcase
		l   *schemas.Listing
		ref schemas.Ref
	}
	var subjects []subject
	for _, c := range cases {
		l, err := synth.Listing(c.seq, synth.Options{Region: "330000", Domain: "environment", Now: at, Rand: rand.Reader,
			Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 9)}})
		if err != nil {
			t.Fatal(err)
		}
		if c.region != "" {
			l.Region = c.region
		}
		if c.before {
			appendRecs(at.Add(time.Minute), &schemas.Correction{Header: hdr(l, at.Add(time.Minute)),
				Target: schemas.Ref{Origin: origin, Index: size + 1, Hash: hex.EncodeToString(make([]byte, 32))}, Action: "withdraw", Reason: "early"})
		}
		ref := appendRecs(at.Add(time.Hour), l)
		if c.events != nil {
			c.events(l, ref)
		}
		subjects = append(subjects, subject{c, l, ref})
	}

	states := map[string]bool{}
	for _, sj := range subjects {
		keys := listingSubjectKeys(sj.l)
		if len(keys) < 2 {
			t.Fatalf("%s: want the enterprise and a responsible person, got %v", sj.name, keys)
		}
		n.fsm.view(func(tx *ledger.ReadTx) error {
			b := tx.Bucket(index.BucketCheck)
			if !index.CheckComplete(b) {
				t.Fatalf("check index missing or not complete on a fresh ledger")
			}
			for _, k := range keys {
				got, ok := index.CheckFlagged(b.Get(append(append([]byte(k.key), 0), entryKey(origin, sj.ref.Index)...)))
				if !ok {
					t.Fatalf("%s: subject %s not in the check index", sj.name, k.key)
				}
				if got != sj.flagged {
					t.Errorf("%s: flagged %v, want %v", sj.name, got, sj.flagged)
				}
			}
			return nil
		})
		instants := []time.Time{at, at.Add(90 * time.Minute), at.Add(48 * time.Hour), sj.l.PublicityEnd.AddDate(0, 0, 2)}
		for _, k := range keys {
			for _, when := range instants {
				for _, action := range []string{"", "procurement"} {
					got, err := n.check(k.key, action, when)
					if err != nil {
						t.Fatal(err)
					}
					want, err := n.checkFrom(n.subjectHistories, k.key, action, when)
					if err != nil {
						t.Fatal(err)
					}
					gj, _ := json.Marshal(got)
					wj, _ := json.Marshal(want)
					if string(gj) != string(wj) {
						t.Errorf("%s, subject %s, at %s, action %q:\nindex: %s\nwalk:  %s", sj.name, k.key, when, action, gj, wj)
					}
					for _, f := range got.Listings {
						states[f.State] = true
					}
				}
			}
		}
	}
	// The table must reach the states it claims to cover.
	for _, st := range []string{StateActive, StateRemoved, StateWithdrawn, StateExpired, StateSuspended} {
		if !states[st] {
			t.Errorf("no check answered state %q; states seen: %v", st, states)
		}
	}
}

// BenchmarkCheckIndex compares a check answered from the check index with
// the same check answered by the history walk, in process (no HTTP), on a
// ledger of 20,000 synthetic 1 KiB listings, half the subjects listed:
//
//	go test ./node -run '^$' -bench CheckIndex -benchtime=20000x
func BenchmarkCheckIndex(b *testing.B) {
	t := &testing.T{}
	s, v, key := zhejiangKeys(t)
	n := calendarReplica(t, filepath.Join(b.TempDir(), "a.db"), s, v)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	const listings = 20000
	var subjects []string
	for lo := uint64(0); lo < listings; lo += 1000 {
		var es [][]byte
		for i := lo; i < lo+1000; i++ {
			l, err := synth.Listing(i+1, synth.Options{Region: "330000", Domain: "environment", Now: at, PadTo: 1024,
				Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 9)}})
			if err != nil {
				b.Fatal(err)
			}
			e, err := schemas.Sign(l, key)
			if err != nil {
				b.Fatal(err)
			}
			es = append(es, e)
			subjects = append(subjects, l.Subject.USCC, synth.EnterpriseUSCC("330000", 50_000_000+i))
		}
		for i, r := range n.fsm.ApplyBatch([]*raft.Log{ownAppend(t, lo/1000+1, at, es...)}) {
			if res, ok := r.(*applyResult); !ok || res.Err != nil {
				b.Fatalf("batch %d item %d: %+v", lo, i, r)
			}
		}
	}
	var valueBytes, keys int
	n.fsm.view(func(tx *ledger.ReadTx) error {
		return tx.Bucket(index.BucketCheck).ForEach(func(k, v []byte) error {
			keys++
			valueBytes += len(k) + len(v)
			return nil
		})
	})
	when := at.Add(48 * time.Hour)
	for _, bc := range []struct {
		name string
		hs   func(*ledger.ReadTx, string) ([]sanctions.ListingHistory, error)
	}{{"index", n.checkHistories}, {"walk", n.subjectHistories}} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := n.checkFrom(bc.hs, subjects[i%len(subjects)], "procurement", when); err != nil {
					b.Fatal(err)
				}
				i++
			}
			// CPU time of the process per check: on a shared machine wall
			// time per op says more about the neighbours than the check.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-us/op")
			b.ReportMetric(float64(valueBytes)/float64(keys), "index-B/key")
		})
	}
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
