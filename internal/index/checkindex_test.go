package index

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// noSteps are Steps that do nothing: the indexes of this package only.
func noSteps() Steps {
	return Steps{
		NoticeQueue: "notice-queue", Notices: "notices",
		NotApplied:        func(*ledger.Tx, []byte, *schemas.Listing) (bool, error) { return false, nil },
		QueueValue:        func(*ledger.Tx) ([]byte, error) { return []byte{0}, nil },
		OwnNoticeLog:      func(string) bool { return false },
		ProvisionalNotice: func(*ledger.Tx, []byte) error { return nil },
		CatalogueAdopt:    func(*ledger.Tx, string, uint64, []byte) error { return nil },
		CalendarAdopt:     func(*ledger.Tx, string, uint64, []byte) error { return nil },
		Keyring:           func(uint64, *schemas.Governance, string) error { return nil },
		MirroredDuplicate: func(*ledger.Tx, string, uint64, *schemas.Signed, string) (bool, error) { return false, nil },
		Change:            func(*ledger.Tx, string, []byte, View) error { return nil },
		Conflicts:         func(*ledger.Tx, string, uint64, View) error { return nil },
	}
}

// TestCheckIndexListsAsSubjectsIndex: on a fresh ledger the check index is
// complete, lists a subject's listings as the history walk does (same
// references, same events), flags exactly the listing with a
// state-changing event, records an entry that does not decode in the bad
// bucket only, and refuses (ledger.ErrDamaged) a value naming another leaf.
func TestCheckIndexListsAsSubjectsIndex(t *testing.T) {
	st, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	auth := schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}
	const origin = "creditx.330000/ledger"
	var es [][]byte
	var ls []*schemas.Listing
	for seq := range uint64(2) {
		l, err := synth.Listing(seq+1, synth.Options{Region: "330000", Authority: auth, Rand: rand.Reader})
		if err != nil {
			t.Fatal(err)
		}
		e, err := schemas.Sign(l, priv)
		if err != nil {
			t.Fatal(err)
		}
		ls, es = append(ls, l), append(es, e)
	}
	h := schemas.Header{Region: "330000", Submitter: auth.USCC, CreatedAt: schemas.NewTime(time.Now())}
	corr, err := schemas.Sign(&schemas.Correction{Header: h, Target: schemas.Ref{Origin: origin, Index: 1}, Action: "withdraw", Reason: "r"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	es = append(es, corr, []byte("not a record"))
	ix := New(noSteps())
	if err := st.Update(func(tx *ledger.Tx) error {
		first, err := tx.Append(origin, es)
		if err != nil {
			return err
		}
		return ix.Index(tx, origin, first, es)
	}); err != nil {
		t.Fatal(err)
	}
	err = st.View(func(tx *ledger.ReadTx) error {
		if tx.Bucket(BucketBad).Get(entryKey(origin, 3)) == nil {
			t.Error("undecodable entry not in the bad bucket")
		}
		b := tx.Bucket(BucketCheck)
		if !CheckComplete(b) {
			t.Fatal("check index not complete on a fresh ledger")
		}
		for i, l := range ls {
			keys := ListingSubjectKeys(l)
			if len(keys) == 0 {
				t.Fatalf("listing %d has no subject key", i)
			}
			for _, k := range keys {
				flagged, ok := CheckFlagged(b.Get(append(append([]byte(k.Key), 0), entryKey(origin, uint64(i))...)))
				if !ok || flagged != (i == 1) {
					t.Errorf("listing %d under %s: in index %v, flagged %v", i, k.Key, ok, flagged)
				}
				got, err := CheckHistories(tx, k.Key, nil, History)
				if err != nil {
					t.Fatal(err)
				}
				want, err := SubjectHistories(tx, k.Key, History)
				if err != nil {
					t.Fatal(err)
				}
				ref := func(h sanctions.ListingHistory) schemas.Ref { return h.Ref }
				if !slices.Equal(mapOf(got, ref), mapOf(want, ref)) || len(got) != 1 || len(got[0].Events) != len(want[0].Events) {
					t.Errorf("listing %d under %s: check index %+v, walk %+v", i, k.Key, got, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A value naming another leaf hash is damage, never a listing skipped.
	key := ListingSubjectKeys(ls[0])[0].Key
	if err := st.Update(func(tx *ledger.Tx) error {
		b, err := tx.Bucket(BucketCheck)
		if err != nil {
			return err
		}
		k := append(append([]byte(key), 0), entryKey(origin, 0)...)
		v := slices.Clone(b.Get(k))
		v[2] ^= 1
		return b.Put(k, v)
	}); err != nil {
		t.Fatal(err)
	}
	err = st.View(func(tx *ledger.ReadTx) error {
		_, err := CheckHistories(tx, key, nil, History)
		return err
	})
	if !errors.Is(err, ledger.ErrDamaged) {
		t.Fatalf("damaged check index value: %v, want ledger.ErrDamaged", err)
	}
}

func mapOf[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// TestCheckpointSize: the size line of a stored checkpoint, 0 for
// anything that is not one.
func TestCheckpointSize(t *testing.T) {
	for _, tc := range []struct {
		cp   string
		want uint64
	}{
		{"creditx.330000/ledger\n1000002\nq83vEjWJuL0=\n\n— creditx.330000/ledger AAAA\n", 1000002},
		{"o\n0\nroot\n", 0},
		{"o\n18446744073709551615\nroot\n", 1<<64 - 1},
		{"o\n18446744073709551616\nroot\n", 0},
		{"o\n-5\nroot\n", 0},
		{"o\n12x\nroot\n", 0},
		{"o\n12", 0},
		{"o 1\n12\nroot\n", 0},
		{"\n12\nroot\n", 0},
		{"", 0},
	} {
		if got := CheckpointSize([]byte(tc.cp)); got != tc.want {
			t.Errorf("CheckpointSize(%q) = %d, want %d", tc.cp, got, tc.want)
		}
	}
}
