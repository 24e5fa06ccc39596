package exchange

import (
	"bytes"
	"encoding/binary"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// BucketGov is the replica's governance index in ledger.db, which its
// indexer writes (package node) and the runtime reads: which members take
// part (effective.go), which schemas are adopted (adopt.go) and which
// manifest is in force (live.go). Changing its name or layout breaks
// existing data directories.
//
//	gov: origin || 0x00 || uint64 BE index -> signer key id (governance records, in order);
//	     the bucket's sequence counts the member_approve, member_remove,
//	     schema_adopt, manifest_propose and manifest_approve records indexed
//	     (IsExchangeGovernance; the adopted set's key, adopt.go)
const BucketGov = "gov"

// EntryKey is the index key of entry index of origin: origin || 0x00 ||
// uint64 BE index (ledger origins never hold 0x00). Keys of one origin sort
// in index order.
func EntryKey(origin string, index uint64) []byte {
	k := make([]byte, 0, len(origin)+9)
	k = append(k, origin...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, index)
}

// SplitEntryKey is the inverse of EntryKey.
func SplitEntryKey(k []byte) (origin string, index uint64, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k)-i-1 != 8 {
		return "", 0, false
	}
	return string(k[:i]), binary.BigEndian.Uint64(k[i+1:]), true
}

// membershipRecords reads every manifest_propose and manifest_approve
// record, and every member_approve and member_remove decision, in the gov
// index of the member ledgers this node holds. Only records signed by an
// anchor key reach the gov index (admission, EntryVerifier).
func membershipRecords(gov *bbolt.Bucket, logOf func(origin string) *ledger.LogReader) (recs []GovRecord, approvals []Approval) {
	if gov == nil {
		return nil, nil
	}
	c := gov.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		origin, index, ok := SplitEntryKey(k)
		if !ok {
			continue
		}
		code, err := schemas.ParseLedgerOrigin(origin)
		if err != nil {
			continue
		}
		e, err := logOf(origin).Entry(index)
		if err != nil || !bytes.Contains(e, []byte(`"manifest_`)) && !bytes.Contains(e, []byte(`"member_`)) {
			continue
		}
		s, err := schemas.ParseSigned(e)
		if err != nil {
			continue
		}
		rec, err := s.Decode()
		if err != nil {
			continue
		}
		g, ok := rec.(*schemas.Governance)
		if !ok {
			continue
		}
		switch {
		case g.ManifestPropose != nil:
			recs = append(recs, GovRecord{By: code, Index: index, Propose: g.ManifestPropose})
		case g.ManifestApprove != nil:
			recs = append(recs, GovRecord{By: code, Index: index, Approve: g.ManifestApprove})
		default:
			if a, _ := governanceDecision(code, e); a != nil {
				approvals = append(approvals, *a)
			}
		}
	}
	return recs, approvals
}

// Membership reconstructs the membership history from the gov index
// (Reconstruct; genesis: the configured manifest).
func (x *Runtime) Membership() (*History, error) {
	var recs []GovRecord
	var approvals []Approval
	if err := x.host.View(func(tx *ledger.ReadTx) error {
		recs, approvals = membershipRecords(tx.Bucket(BucketGov), tx.Log)
		return nil
	}); err != nil {
		return nil, err
	}
	return Reconstruct(x.manifest, approvals, recs), nil
}
