package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const calIssuer = "12330000000007771X"

// calendarReplica is one replica of Zhejiang: a real FSM (bbolt ledger,
// indexer, sanctions state) without raft transport; the test feeds every
// replica the same raft log entries, as raft would.
func calendarReplica(t *testing.T, path string, s note.Signer, v note.Verifier) *Node {
	t.Helper()
	n := &Node{origin: schemas.LedgerOrigin("330000"), access: schemas.AccessOrigin("330000"), logger: slog.New(slog.DiscardHandler)}
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../sanctions/testdata/agencies-330000.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ag, err := sanctions.LoadAgencies(f)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: ag, Region: "330000", Issuer: calIssuer})
	if err != nil {
		t.Fatal(err)
	}
	n.sanctions = &sanctionsState{engine: eng}
	n.index = newIndexer(n)
	n.admit = newAdmitter(n, n.index)
	kr, err := schemas.NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	n.keyring.Store(kr)
	fsm, err := newFSM(path, ledger.Options{}, fsmConfig{logs: map[string]signingLog{n.origin: {signer: s, verifier: v}}, indexer: n.index, logger: n.logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsm.close() })
	n.fsm = fsm
	return n
}

// zhejiangKeys returns the signed-note key pair of Zhejiang's ledger (one
// per test, shared by all its replicas as raft members share it) and an
// Ed25519 key that signs the records the test appends.
func zhejiangKeys(t *testing.T) (note.Signer, note.Verifier, ed25519.PrivateKey) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(schemas.LedgerOrigin("330000"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, key
}

// zjEnvListing is synthetic listing seq of Zhejiang's environment authority,
// created at now.
func zjEnvListing(t *testing.T, seq uint64, now time.Time) *schemas.Listing {
	t.Helper()
	l, err := synth.Listing(seq, synth.Options{Region: "330000", Domain: "environment", Now: now,
		Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 9)}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ownAppend(t *testing.T, index uint64, at time.Time, entries ...[]byte) *raft.Log {
	t.Helper()
	b, err := encodeCommand(command{op: opAppend, origin: schemas.LedgerOrigin("330000"), entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b, AppendedAt: at}
}

// leaderNotices is what RunNotices computes on the leader: the signed
// notices of every queued listing, with the calendar in force.
func leaderNotices(t *testing.T, n *Node, key ed25519.PrivateKey) [][]byte {
	t.Helper()
	var out [][]byte
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		eng := n.engineIn(tx)
		c := tx.Bucket(bucketNoticeQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			origin, index, _ := splitEntryKey(k)
			e, err := tx.Log(origin).Entry(index)
			if err != nil {
				return err
			}
			l, err := schemas.DecodeListing(e)
			if err != nil {
				return err
			}
			h := tlog.RecordHash(e)
			at := time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
			ns, err := eng.NoticesFor(l, schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, at)
			if err != nil {
				return err
			}
			for _, nt := range ns {
				se, err := schemas.Sign(nt, key)
				if err != nil {
					return err
				}
				out = append(out, se)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func adoptionRecord(t *testing.T, key ed25519.PrivateKey, file string, at time.Time) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	y, err := workdays.ParseYear(b)
	if err != nil {
		t.Fatal(err)
	}
	admin := &client.Credentials{SignKey: key}
	admin.Identity.ID = calIssuer
	e, err := adopted.CalendarAdoptRecord("330000", admin, y, at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func dumpBuckets(t *testing.T, n *Node, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	n.fsm.view(func(tx *ledger.ReadTx) error {
		for _, name := range names {
			buf.WriteString(name + ":\n")
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			b.ForEach(func(k, v []byte) error { buf.WriteString(hex.EncodeToString(k) + "=" + string(v) + "\n"); return nil })
		}
		return nil
	})
	return buf.Bytes()
}

// Issue 12 item 4: a region whose clock is 2026-12-20 issues notices with
// provisional 2027 deadlines (it failed: no 2027 calendar), and once a 2027
// calendar is adopted by a calendar_adopt governance record every replica
// recomputes them to the same final date at the same entry.
func TestCalendarAdoptionRecomputesProvisionalDeadlines(t *testing.T) {
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
	clock := time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC) // Sunday 10:00 in Beijing
	le, err := schemas.Sign(zjEnvListing(t, 1, clock), key)
	if err != nil {
		t.Fatal(err)
	}
	apply(ownAppend(t, 1, clock, le))
	notices := leaderNotices(t, replicas[0], key)
	if len(notices) == 0 {
		t.Fatal("no notices issued for a listing whose deadline runs into 2027")
	}
	apply(ownAppend(t, 2, clock.Add(time.Second), notices...))

	for i, r := range replicas {
		vs, err := r.notices(nil, clock)
		if err != nil || len(vs) != len(notices) {
			t.Fatalf("replica %d: %d notices, %v", i, len(vs), err)
		}
		for _, nv := range vs {
			// 10 working days after Sunday 2026-12-20, weekends only past 2026.
			if !nv.Notice.FeedbackDueProvisional || !nv.Provisional || nv.FeedbackDue.String() != "2027-01-01" || nv.DueCorrection != nil {
				t.Fatalf("replica %d: due %s provisional %v (notice %v), want 2027-01-01 provisional", i, nv.FeedbackDue, nv.Provisional, nv.Notice.FeedbackDueProvisional)
			}
		}
	}

	adopt := adoptionRecord(t, key, "../sanctions/workdays/testdata/fixture_2027.yaml", clock.Add(time.Hour))
	// Admission's check accepts 2027 and refuses a gap year with a field error.
	if field, msg := replicas[0].checkCalendarAdopt(schemas.DecodeEntry(adopt).(*schemas.Governance).CalendarAdopt); field != "" {
		t.Fatalf("admission refused 2027: %s %s", field, msg)
	}
	gap := *schemas.DecodeEntry(adopt).(*schemas.Governance).CalendarAdopt
	gap.Year = 2029
	if field, msg := replicas[0].checkCalendarAdopt(&gap); field != "record.calendar_adopt.year" {
		t.Fatalf("gap year: field %q %s", field, msg)
	}
	apply(ownAppend(t, 3, clock.Add(time.Hour), adopt))

	var first []byte
	for i, r := range replicas {
		vs, _ := r.notices(nil, clock)
		for _, nv := range vs {
			// 2027-01-01..03 are days off in the adopted year: the 10th working day is 01-04.
			if nv.Provisional || nv.FeedbackDue.String() != "2027-01-04" || nv.DueCorrection == nil ||
				nv.DueCorrection.Was.String() != "2027-01-01" || nv.DueCorrection.Calendar != "国办发明电〔2026〕99号（测试）" {
				t.Fatalf("replica %d after adoption: due %s provisional %v correction %+v", i, nv.FeedbackDue, nv.Provisional, nv.DueCorrection)
			}
			if nv.Notice.FeedbackDue.String() != "2027-01-01" {
				t.Fatal("the signed notice must not be rewritten")
			}
		}
		st, err := r.CalendarState()
		if err != nil || st.Covered[1] != 2027 || len(st.Adopted) != 1 || st.Provisional != 0 {
			t.Fatalf("replica %d calendar state %+v %v", i, st, err)
		}
		d := dumpBuckets(t, r, bucketCalendars, bucketNoticeDue, bucketNoticeProvisional)
		if first == nil {
			first = d
		} else if !bytes.Equal(first, d) {
			t.Fatalf("replica %d differs:\n%s\nvs\n%s", i, d, first)
		}
	}

	// A second adoption of 2027 (or a gap year) reaching the FSM is recorded
	// as refused, not applied.
	apply(ownAppend(t, 4, clock.Add(2*time.Hour), adoptionRecord(t, key, "../sanctions/workdays/testdata/fixture_2027.yaml", clock.Add(2*time.Hour))))
	st, _ := replicas[2].CalendarState()
	if len(st.Adopted) != 1 || len(st.Refused) != 1 || !bytes.Contains(st.Refused[0], []byte("already covered")) {
		t.Fatalf("re-adoption: %+v", st)
	}

	// Issued after the adoption, a notice's deadline is final at once.
	le2, err := schemas.Sign(zjEnvListing(t, 2, clock.Add(3*time.Hour)), key)
	if err != nil {
		t.Fatal(err)
	}
	apply(ownAppend(t, 5, clock.Add(3*time.Hour), le2))
	later := leaderNotices(t, replicas[1], key) // only the second listing is still queued
	if len(later) == 0 {
		t.Fatal("no notices for the second listing")
	}
	for _, e := range later {
		nt := schemas.DecodeEntry(e).(*schemas.SanctionNotice)
		if nt.FeedbackDueProvisional || nt.FeedbackDue.String() != "2027-01-04" {
			t.Fatalf("notice after adoption: %s provisional %v", nt.FeedbackDue, nt.FeedbackDueProvisional)
		}
	}
}

// An unreadable adopted year is not only a log line: CalendarState (GET
// /v1/calendar) fails with the reason, while views keep counting under the
// embedded calendar.
func TestCalendarStateShowsUnreadableAdoption(t *testing.T) {
	s, v, _ := zhejiangKeys(t)
	n := calendarReplica(t, filepath.Join(t.TempDir(), "a.db"), s, v)
	err := n.fsm.store.Update(func(tx *ledger.Tx) error {
		cb, err := tx.Bucket(bucketCalendars)
		if err != nil {
			return err
		}
		if _, err := cb.NextSequence(); err != nil {
			return err
		}
		return cb.Put([]byte{calendarYearPrefix, '2', '0', '2', '7'}, []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CalendarState(); err == nil || !strings.Contains(err.Error(), "adopted calendars unreadable") {
		t.Fatalf("CalendarState with a corrupt adoption: %v", err)
	}
	n.fsm.view(func(tx *ledger.ReadTx) error {
		if got := n.viewCalendar(tx).Covered()[1]; got != 2026 {
			t.Errorf("views count under %d, want the embedded calendar (2026)", got)
		}
		return nil
	})
}
