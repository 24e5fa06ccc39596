package client

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// BatchReceipts checks a batch receipt and rebuilds each record's Receipt
// (with its inclusion proof and tlog-proof text, as the JSON path answers). It
// checks the checkpoint's signature with v when v is not nil (without it,
// only the checkpoint's form: check the receipts later, e.g. "creditx
// verify-receipt"), the range proof against the checkpoint's root with the
// records' leaf hashes, and every record's inclusion proof. A receipt that
// does not verify returns an error and no receipts.
func BatchReceipts(b *api.BatchReceipt, v note.Verifier) ([]api.Receipt, error) {
	size, root, err := checkpointTree(b.Checkpoint, b.Origin, v)
	if err != nil {
		return nil, err
	}
	leaves := make([]tlog.Hash, b.Count)
	set := make([]bool, b.Count)
	hashes := make([]tlog.Hash, len(b.Records))
	for i, r := range b.Records {
		if err := decodeHexHash(r.LeafHash, &hashes[i]); err != nil {
			return nil, fmt.Errorf("record %d: leaf hash: %w", i, err)
		}
		if r.Index >= b.First && r.Index-b.First < b.Count {
			k := r.Index - b.First
			if set[k] && leaves[k] != hashes[i] {
				return nil, fmt.Errorf("record %d: two leaf hashes for index %d", i, r.Index)
			}
			leaves[k], set[k] = hashes[i], true
		}
	}
	var paths []tlog.RecordProof
	if b.Count > 0 {
		for k, ok := range set {
			if !ok {
				return nil, fmt.Errorf("no record for index %d of the range", b.First+uint64(k))
			}
		}
		proof, err := decodeB64Hashes(b.RangeProof)
		if err != nil {
			return nil, fmt.Errorf("range proof: %w", err)
		}
		if paths, err = ledger.RangeInclusionProofs(size, root, b.First, leaves, proof); err != nil {
			return nil, err
		}
	}
	out := make([]api.Receipt, len(b.Records))
	for i, r := range b.Records {
		var p tlog.RecordProof
		if r.Index >= b.First && r.Index-b.First < b.Count {
			p = paths[r.Index-b.First]
		} else {
			if p, err = decodeB64Hashes(r.InclusionProof); err != nil {
				return nil, fmt.Errorf("record %d: inclusion proof: %w", i, err)
			}
		}
		if r.Index >= size {
			return nil, fmt.Errorf("record %d: index %d not below the checkpoint's size %d", i, r.Index, size)
		}
		if err := tlog.CheckRecord(p, int64(size), root, int64(r.Index), hashes[i]); err != nil {
			return nil, fmt.Errorf("record %d (index %d): %w", i, r.Index, err)
		}
		lh := hashes[i]
		out[i] = api.Receipt{Origin: b.Origin, Index: r.Index, LeafHash: r.LeafHash, Duplicate: r.Duplicate, Checkpoint: b.Checkpoint,
			InclusionProof: api.EncodeHashes(p),
			Proof:          string(ledger.FormatProof(ledger.Proof{Extra: lh[:], Index: r.Index, Hashes: p, Checkpoint: []byte(b.Checkpoint)}))}
	}
	return out, nil
}

// checkpointTree returns the size and root of a signed checkpoint for
// origin, verifying its signature with v if v is not nil.
func checkpointTree(signed, origin string, v note.Verifier) (uint64, tlog.Hash, error) {
	if v != nil {
		cp, err := ledger.OpenCheckpoint([]byte(signed), origin, v)
		if err != nil {
			return 0, tlog.Hash{}, err
		}
		return cp.Size, cp.Root, nil
	}
	text, _, ok := strings.Cut(signed, "\n\n")
	if !ok {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: no signature block")
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(text + "\n")); err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: %w", err)
	}
	if c.Origin != origin || len(c.Hash) != tlog.HashSize {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: origin %q (want %q) or root of %d bytes", c.Origin, origin, len(c.Hash))
	}
	var root tlog.Hash
	copy(root[:], c.Hash)
	return c.Size, root, nil
}

func decodeHexHash(s string, h *tlog.Hash) error {
	if len(s) != 2*tlog.HashSize {
		return fmt.Errorf("%d hex digits, want 64", len(s))
	}
	_, err := hex.Decode(h[:], []byte(s))
	return err
}

func decodeB64Hashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d: not 32 bytes of std base64", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
