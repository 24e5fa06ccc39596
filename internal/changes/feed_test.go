package changes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/schemas"
)

// TestNewChange: an active listing this member does not apply is
// not_applied; a natural person is never named by USCC.
func TestNewChange(t *testing.T) {
	l := &schemas.Listing{Domain: "tax", Subject: schemas.Subject{Type: schemas.SubjectNaturalPerson, USCC: "x"}}
	ch := NewChange(Listed, "o", 3, []byte("e"), l, "o", 3, "active", true)
	if ch.State != NotApplied || ch.SubjectUSCC != "" || ch.Listing != RefOf("o", 3, []byte("e")) || ch.Domain != "tax" {
		t.Errorf("natural person, not applied: %+v", ch)
	}
	l.Subject = schemas.Subject{Type: "legal_person", USCC: "91110000000000000X"}
	ch = NewChange(Suspended, "o", 3, []byte("e"), l, "p", 9, "suspended", true)
	if ch.State != "suspended" || ch.SubjectUSCC != l.Subject.USCC || ch.Cause != (api.EntryRefJSON{Origin: "p", Index: 9}) {
		t.Errorf("legal person, suspended: %+v", ch)
	}
}

// TestPoll: a page with changes is answered at once; an empty page is
// read again after a wake-up from where it ended, and answered empty when
// the wait ends; a caller gone is no answer; a read error is returned.
func TestPoll(t *testing.T) {
	ctx := context.Background()
	woken := make(chan struct{})
	wake := func() <-chan struct{} { return woken }
	var froms [][]uint64
	reads := 0
	read := func(from []uint64, limit int, at time.Time) (api.ChangesPage, []uint64, error) {
		froms = append(froms, from)
		reads++
		if reads == 2 {
			return api.ChangesPage{Changes: []api.Change{{Change: Listed}}}, []uint64{5, 0, 0}, nil
		}
		if reads == 1 {
			close(woken)
		}
		return api.ChangesPage{Changes: []api.Change{}}, []uint64{4, 0, 0}, nil
	}
	page, ok, err := Poll(ctx, []uint64{1, 0, 0}, 10, time.Minute, wake, read)
	if err != nil || !ok || len(page.Changes) != 1 || froms[1][0] != 4 {
		t.Fatalf("woken: %+v %v %v, read from %v", page, ok, err, froms)
	}
	page, ok, err = Poll(ctx, []uint64{1, 0, 0}, 10, 0, func() <-chan struct{} { return nil }, read)
	if err != nil || !ok || len(page.Changes) != 0 {
		t.Errorf("no wait: %+v %v %v", page, ok, err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	empty := func([]uint64, int, time.Time) (api.ChangesPage, []uint64, error) {
		return api.ChangesPage{}, []uint64{1, 0, 0}, nil
	}
	if _, ok, err = Poll(gone, []uint64{1, 0, 0}, 10, time.Minute, func() <-chan struct{} { return nil }, empty); ok || err != nil {
		t.Errorf("caller gone: %v %v; want no answer", ok, err)
	}
	bad := errors.New("disk")
	failing := func([]uint64, int, time.Time) (api.ChangesPage, []uint64, error) { return api.ChangesPage{}, nil, bad }
	if _, _, err = Poll(ctx, []uint64{1, 0, 0}, 10, time.Minute, wake, failing); !errors.Is(err, bad) {
		t.Errorf("read error: %v", err)
	}
}
