package sanctions

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/schemas"
)

// FuzzState drives State with arbitrary event sequences (3 bytes per event:
// kind, day offset, variant) and checks the invariants the package doc
// promises: no panic, no error; removed and withdrawn are final over time;
// only active or suspended listings restrict; only active ones are
// disclosed; the order of the Events slice does not matter.
func FuzzState(f *testing.F) {
	f.Add([]byte{0, 5, 0, 1, 9, 2})                   // objection, upheld remove
	f.Add([]byte{2, 30, 0, 4, 40, 1})                 // repair then amend
	f.Add([]byte{0, 1, 0, 1, 2, 0, 1, 3, 2, 3, 4, 0}) // objection, rejected, second decision, withdraw
	f.Add([]byte{2, 200, 1, 5, 201, 0, 4, 202, 0})    // wrong authority repair, red
	e := newEngine(f)
	L := ref("330000", 1)
	base := at("2026-03-02 09:00")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 3*40 {
			return
		}
		l := envListing("2026-03-02")
		var evs []Event
		var objs []schemas.Ref
		for i := 0; i+2 < len(data); i += 3 {
			kind, off, v := data[i]%6, int(data[i+1]), data[i+2]
			when := base.Add(time.Duration(off) * 24 * time.Hour).Add(time.Duration(i) * time.Minute).In(cst).Format("2006-01-02 15:04")
			r := ref("330000", uint64(100+i))
			switch kind {
			case 0:
				target := L
				if v%5 == 4 {
					target = ref("330000", 99)
				}
				evs = append(evs, objection(r, target, when))
				objs = append(objs, r)
			case 1:
				o := ref("330000", 98)
				if len(objs) > 0 {
					o = objs[int(v)%len(objs)]
				}
				outcome := []string{"rejected", "upheld", "partial"}[int(v)%3]
				var actions []string
				if outcome != "rejected" {
					actions = [][]string{{"remove"}, {"stop_disclosure"}, {"correct"}}[int(v/3)%3]
				}
				evs = append(evs, decision(r, o, when, outcome, actions...))
			case 2:
				auth := usccZJEnv
				if v%2 == 1 {
					auth = usccJSEnv
				}
				typ := []string{"early_repair", "expiry", "error_correction"}[int(v/2)%3]
				applied := ""
				if typ == "early_repair" {
					applied = base.AddDate(0, int(v%24), 0).In(cst).Format("2006-01-02")
				}
				evs = append(evs, repair(r, L, when, typ, auth, applied, [][]string{{"remove"}, {"stop_publicity"}}[int(v/6)%2]...))
			case 3:
				evs = append(evs, withdraw(r, L, when))
			case 4:
				repl := envListing("2026-03-02")
				repl.PublicityEnd = schemas.Date{Time: repl.PublicityEnd.AddDate(int(v%3), 0, 0)}
				evs = append(evs, amend(t, r, L, when, repl))
			case 5:
				if v%2 == 0 {
					l.Programme.Code = "ZJ-ENV-RED"
				}
			}
		}
		h := ListingHistory{Ref: L, Listing: l, Events: evs}
		rev := ListingHistory{Ref: L, Listing: l, Events: slices.Clone(evs)}
		slices.Reverse(rev.Events)
		final := ""
		for d := -1; d <= 300; d += 7 {
			when := base.AddDate(0, 0, d)
			st, err := e.State(h, when)
			if err != nil {
				t.Fatal(err)
			}
			if final != "" && st.State != StateRemoved && st.State != StateWithdrawn {
				t.Fatalf("day %d: %s after %s", d, st.State, final)
			}
			if final == StateWithdrawn && st.State != StateWithdrawn {
				t.Fatalf("day %d: %s after withdrawn", d, st.State)
			}
			if st.State == StateRemoved || st.State == StateWithdrawn {
				final = st.State
			}
			if st.Restricts && st.State != StateActive && st.State != StateSuspended || st.Disclosed && st.State != StateActive {
				t.Fatalf("day %d: %s restricts=%v disclosed=%v", d, st.State, st.Restricts, st.Disclosed)
			}
			st2, _ := e.State(rev, when)
			if fmt.Sprint(st.State, st.Disclosed, st.Restricts, st.Trail, st.Ignored) != fmt.Sprint(st2.State, st2.Disclosed, st2.Restricts, st2.Trail, st2.Ignored) {
				t.Fatalf("day %d: event slice order changed the result", d)
			}
		}
	})
}
