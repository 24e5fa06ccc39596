package node

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
)

// TestOpTable: the FSM's op table has an apply function for exactly the ops
// of the raft command format, and a command of an op it has none for is
// refused in the result (nothing written), not a panic.
func TestOpTable(t *testing.T) {
	for op := 0; op < 256; op++ {
		known := commandVersionOf(byte(op)) != 0
		if got := opOf(byte(op)) != nil; got != known {
			t.Errorf("op %d: apply function %v, in the command format %v", op, got, known)
		}
	}
	f, err := newFSM(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{}, fsmConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	err = f.store.Update(func(tx *ledger.Tx) error {
		for _, data := range [][]byte{{commandVersion, 9, 1, 'o'}, {commandVersion, opAlert, 1, 'o', 1, 0xff}} {
			r, err := f.applyCommand(tx, data)
			if err != nil {
				t.Fatalf("command %x: storage error %v; want a refusal", data, err)
			}
			if r.Err == nil {
				t.Errorf("command %x applied; want refused", data)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An exchange refusal comes back typed, with its reason.
	err = f.store.Update(func(tx *ledger.Tx) error {
		r, err := exchangeOp(exchange.ApplyMirrorAppend)(f, tx, command{op: opMirrorAppend, origin: "creditx.310000/ledger", checkpoint: []byte("cp\n")})
		if err != nil {
			return err
		}
		var rf *exchange.Refusal
		if !errors.As(r.Err, &rf) || !errors.Is(r.Err, exchange.ErrUnknownOrigin) || rf.Op != exchange.OpMirrorAppend {
			t.Errorf("mirror-append of an unknown origin: %v; want a *exchange.Refusal of ErrUnknownOrigin", r.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
