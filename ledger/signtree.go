package ledger

import "golang.org/x/mod/sumdb/note"

// CheckpointTree signs a checkpoint of origin's whole tree (its size and
// TreeHash at that size) with s and stores it with SetCheckpoint, checked
// with v, the verifier of s. It returns the size and the signed
// checkpoint. On error nothing is stored; the caller's transaction decides
// whether the appends it covers are kept (a crash before commit loses
// both, never one without the other).
func (tx *Tx) CheckpointTree(origin string, s note.Signer, v note.Verifier) (uint64, []byte, error) {
	lr := tx.Log(origin)
	size := lr.Size()
	root, err := lr.TreeHash(size)
	if err != nil {
		return 0, nil, err
	}
	cp, err := SignCheckpoint(s, origin, size, root)
	if err != nil {
		return 0, nil, err
	}
	if err := tx.SetCheckpoint(origin, cp, v); err != nil {
		return 0, nil, err
	}
	return size, cp, nil
}
