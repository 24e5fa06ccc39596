package exchange

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// Witnessed receipts on the serving side: the latest checkpoint of an
// origin that carries the witness quorum, and an entry's proof against it
// (a receipt, receipt.go). Package node serves them (GET /v1/proof and
// POST /v1/records?witnessed=1).

// QuorumRule names the witness quorum of the manifest, for messages.
func (m *Manifest) QuorumRule() string {
	if p := m.Policy(); p != nil {
		return fmt.Sprintf("the witness_policy quorum %q", p.Quorum())
	}
	return fmt.Sprintf("witness_quorum %d cosignatures by other members", m.WitnessQuorum)
}

// LatestWitnessed is origin's latest checkpoint with the witness quorum, in
// tx: for own (this member's origin) the one stored by the push loop
// (BucketWitnessed), for a mirror its stored checkpoint if its
// cosignatures meet the quorum. size 0 and no error: none yet. An origin no
// member has, or a stored checkpoint that does not open, is an error.
func (m *Manifest) LatestWitnessed(tx *ledger.ReadTx, own, origin string) (signed []byte, size uint64, err error) {
	if origin == own {
		b := tx.Bucket(BucketWitnessed)
		if b == nil {
			return nil, 0, nil
		}
		v := b.Get([]byte(own))
		if len(v) <= 8 {
			return nil, 0, nil
		}
		return append([]byte(nil), v[8:]...), binary.BigEndian.Uint64(v[:8]), nil
	}
	mb, v, ok := m.LogOf(origin) // a ledger or a loop log (loop_witness.go)
	if !ok {
		return nil, 0, fmt.Errorf("no member has origin %q", origin)
	}
	cp, err := tx.Log(origin).Checkpoint()
	if errors.Is(err, ledger.ErrNoCheckpoint) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if _, ok, err := m.witnessedBy(mb.Code, v, cp); err != nil || !ok {
		return nil, 0, nil
	}
	c, err := ledger.OpenCheckpoint(cp, origin, v)
	if err != nil {
		return nil, 0, err
	}
	return cp, c.Size, nil
}

// WitnessedProof is the proof of one entry against a witnessed checkpoint.
type WitnessedProof struct {
	LeafHash  tlog.Hash   // tlog.RecordHash of the entry
	Hashes    []tlog.Hash // the inclusion proof at the checkpoint's size
	Witnesses []string    // the members whose cosignatures count
	Proof     []byte      // the receipt: a C2SP tlog-proof with the leaf hash as extra line
}

// ProveWitnessed is the proof of entry index of origin against signed, a
// witnessed checkpoint of tree size size (LatestWitnessed), read in tx.
func (m *Manifest) ProveWitnessed(tx *ledger.ReadTx, origin string, index uint64, signed []byte, size uint64) (*WitnessedProof, error) {
	lr := tx.Log(origin)
	e, err := lr.Entry(index)
	if err != nil {
		return nil, err
	}
	ps, err := lr.InclusionProofs([]uint64{index}, size)
	if err != nil {
		return nil, err
	}
	lh := tlog.RecordHash(e)
	mb, v, ok := m.LogOf(origin)
	if !ok {
		return nil, fmt.Errorf("no member has origin %q", origin)
	}
	cosigners, _, err := m.witnessedBy(mb.Code, v, signed)
	if err != nil {
		return nil, fmt.Errorf("stored witnessed checkpoint of %s does not verify: %w", origin, err)
	}
	return &WitnessedProof{LeafHash: lh, Hashes: ps[0], Witnesses: cosigners,
		Proof: ledger.FormatProof(ledger.Proof{Extra: lh[:], Index: index, Hashes: ps[0], Checkpoint: signed})}, nil
}
