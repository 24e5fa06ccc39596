package notices

import (
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// TestLogsRouteNoticesAndFeedback: with the loop log off everything goes to
// the ledger; on, notices and feedback on loop-log notices go to the loop
// log, feedback on ledger notices to the ledger, and a batch spanning both
// is refused naming the record.
func TestLogsRouteNoticesAndFeedback(t *testing.T) {
	ledgerO, loopO := schemas.LedgerOrigin("330000"), schemas.LoopOrigin("330000")
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(r schemas.Record) []byte {
		e, err := schemas.Sign(r, key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	notice := &schemas.SanctionNotice{}
	onLoop := &schemas.Feedback{Notice: schemas.Ref{Origin: loopO, Index: 3}}
	onLedger := &schemas.Feedback{Notice: schemas.Ref{Origin: ledgerO, Index: 3}}

	off := Logs{Ledger: ledgerO}
	if off.NoticeOrigin() != ledgerO || off.RecordLog(notice) != ledgerO || off.Own(loopO) || !off.Own(ledgerO) {
		t.Fatalf("loop log off: %+v", off)
	}
	on := Logs{Ledger: ledgerO, Loop: loopO}
	if on.NoticeOrigin() != loopO || on.RecordLog(notice) != loopO || on.RecordLog(onLoop) != loopO || on.RecordLog(onLedger) != ledgerO ||
		!on.Own(loopO) || !on.Own(ledgerO) || on.Own("") {
		t.Fatalf("loop log on: routes wrong")
	}
	if o, perr := on.SubmitLog([][]byte{[]byte("garbage"), []byte("more")}); perr != nil || o != ledgerO {
		t.Fatalf("undecodable batch: %s %+v, want the ledger", o, perr)
	}
	_, perr := on.SubmitLog([][]byte{[]byte("garbage"), sign(onLoop)})
	if perr == nil || perr.Status != 400 || len(perr.Errors) != 1 || perr.Errors[0].Record != 1 || perr.Errors[0].Rule != "loop_log" {
		t.Fatalf("mixed batch: %+v", perr)
	}
}

// TestCheckLoopEntry: only signed sanction notices and feedback are
// appended to the loop log.
func TestCheckLoopEntry(t *testing.T) {
	kr, err := schemas.NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLoopEntry([]byte("not signed"), kr); err == nil || !strings.Contains(err.Error(), "not a signed record") {
		t.Fatalf("unsigned: %v", err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e, err := schemas.Sign(&schemas.Repair{}, key)
	if err != nil {
		t.Skipf("cannot sign an empty repair: %v", err)
	}
	if err := CheckLoopEntry(e, kr); err == nil || !strings.Contains(err.Error(), "only sanction notices and feedback") {
		t.Fatalf("repair: %v", err)
	}
}

// TestNotApplied: a reason is recorded and listed; an empty one is not.
func TestNotApplied(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := schemas.LedgerOrigin("330000")
	if err := s.Update(func(tx *ledger.Tx) error {
		if ok, err := MarkNotApplied(tx, exchange.EntryKey(o, 1), ""); ok || err != nil {
			t.Errorf("empty reason recorded: %v %v", ok, err)
		}
		ok, err := MarkNotApplied(tx, exchange.EntryKey(o, 2), "programme XX-UNKNOWN is not in the catalogue")
		if !ok {
			t.Errorf("reason not recorded")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *ledger.ReadTx) error {
		out, err := ListNotApplied(tx)
		if err != nil || len(out) != 1 || out[0].Index != 2 || out[0].State != "not_applied" {
			t.Errorf("listed %+v %v", out, err)
		}
		if NotAppliedReason(tx, o, 1) != "" || !strings.Contains(NotAppliedReason(tx, o, 2), "XX-UNKNOWN") {
			t.Errorf("reasons wrong")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
