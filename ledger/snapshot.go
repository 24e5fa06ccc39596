package ledger

import (
	"io"

	"go.etcd.io/bbolt"
)

// Snapshot is a consistent, point-in-time copy of the whole store (every log
// and every caller bucket), for replicating the store to another machine
// (raft snapshots). It holds a bbolt read transaction open until Release:
// writers are not blocked, but the file cannot shrink meanwhile.
type Snapshot struct {
	tx *bbolt.Tx
}

// Snapshot opens a Snapshot of the store as of now.
func (s *Store) Snapshot() (*Snapshot, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &Snapshot{tx: tx}, nil
}

// WriteTo writes the snapshot as a complete bbolt file; Open accepts it.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) { return s.tx.WriteTo(w) }

// Size is the number of bytes WriteTo writes.
func (s *Snapshot) Size() int64 { return s.tx.Size() }

// Release ends the snapshot's read transaction. It is safe to call twice.
func (s *Snapshot) Release() {
	if s.tx != nil {
		s.tx.Rollback()
		s.tx = nil
	}
}
