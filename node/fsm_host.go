package node

import (
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// fsmHooks is the replica as its FSM sees it (fsmHost): the signing-key
// check, the other members' log keys and accepted schemas (package
// exchange), and what runs after a batch or a snapshot install.
type fsmHooks struct {
	n *Node
	// peers are the configured members' log keys, origin -> key (nil
	// without an exchange); fixed at construction.
	peers map[string]note.Verifier
}

func newFSMHooks(n *Node) fsmHooks {
	h := fsmHooks{n: n}
	if n.x != nil {
		h.peers = n.x.PeerVerifiers()
	}
	return h
}

// CheckEntry: the entry's signing key must be valid at index (admission.go).
func (h fsmHooks) CheckEntry(origin string, index uint64, entry []byte) error {
	return h.n.checkEntryKey(origin, index, entry)
}

// Peer is the configured log key of origin, or that of a member that
// joined by governance as of tx (exchange/live.go).
func (h fsmHooks) Peer(tx *ledger.Tx, origin string) (note.Verifier, bool) {
	if v, ok := h.peers[origin]; ok {
		return v, true
	}
	if h.n.x == nil {
		return nil, false
	}
	return h.n.x.LivePeer(tx, origin)
}

// Accepts is the exchange's schema filter for mirrored entries
// (exchange/adopt.go); without an exchange every entry is accepted.
func (h fsmHooks) Accepts(tx *ledger.Tx, schema string) (bool, error) {
	if h.n.x == nil {
		return true, nil
	}
	return h.n.x.AcceptsSchema(tx, schema)
}

// Applied saves the checkpoint file (startcheck.go, once the start-up check
// installed the saver), then wakes the long polls (notices.Waker), the
// exchange's push loop and, if the batch stored a witnessed own checkpoint,
// the members' checkpoint long-polls (exchange/watch.go).
func (h fsmHooks) Applied(witnessed map[string]uint64) {
	if h.n.ckpt != nil {
		h.n.ckpt.Save()
	}
	if h.n.sanctions != nil {
		h.n.sanctions.Notify()
	}
	if h.n.x != nil {
		for origin, size := range witnessed {
			h.n.x.OwnWitnessed(origin, size)
		}
		h.n.x.Applied() // the push loop sleeps until a batch is applied
	}
}

// Restored rebuilds what the replica derives from ledger.db: the keyring
// and the vault key's epoch.
func (h fsmHooks) Restored() error {
	if h.n.x != nil {
		h.n.x.StoreReplaced() // the witnessed size is read again (exchange/watch.go)
	}
	if err := h.n.rebuildKeyring(); err != nil {
		return err
	}
	return h.n.syncVaultEpoch()
}
