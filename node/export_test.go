package node

import (
	"encoding/hex"
	"strings"

	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
)

// WrapForTest wraps dk at a place under the raw 32-byte vault key given as
// hex (the format of keys/vault.key, epoch ignored), as the vault did at
// epoch 0.
func WrapForTest(keyHex, origin string, index uint64, path string, dk schemas.DataKey) []byte {
	k, err := hex.DecodeString(strings.Fields(keyHex)[0])
	if err != nil {
		panic(err)
	}
	s, err := vault.NewState(k, 0)
	if err != nil {
		panic(err)
	}
	return s.Wrap(origin, index, path, dk)
}

// OpensForTest reports whether the 32-byte key (hex) opens the wrapped key w
// (a 60-byte epoch-0 wrapping) at a place.
func OpensForTest(keyHex, origin string, index uint64, path string, w []byte) bool {
	k, err := hex.DecodeString(keyHex)
	if err != nil {
		return false
	}
	s, err := vault.NewState(k, 0)
	if err != nil || len(w) != 60 {
		return false
	}
	_, err = s.Unwrap(origin, index, path, w)
	return err == nil
}

// AppliedIndexForTest is the raft index n's FSM has applied.
func AppliedIndexForTest(n *Node) uint64 { return n.rep.Raft.AppliedIndex() }

// SnapshotForTest has raft take a snapshot now (raft.ErrNothingNewToSnapshot
// when the latest one already holds the last applied index).
func SnapshotForTest(n *Node) error { return n.rep.Raft.Snapshot().Error() }

// CloseLedgerForTest closes n's ledger.db under it, so that every later
// read fails (as a failing disk would); Run still shuts down.
func CloseLedgerForTest(n *Node) error { return n.fsm.store.Close() }

// ReadNoteKeyPair and LoadNoteKey read a replica's signed-note key files
// (node.go).
var (
	ReadNoteKeyPair = readNoteKeyPair
	LoadNoteKey     = loadNoteKey
)
