package anchor

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// Transaction names of the chaincode, as clients call them. Changing them
// breaks every deployed client.
const (
	TxPut    = "PutAnchor"    // args: encoded anchor, encoded proof; result "written" or "unchanged"
	TxGet    = "GetAnchor"    // args: member, size (decimal); result: encoded anchor, or empty if none
	TxLatest = "LatestAnchor" // args: member; result: encoded anchor, or empty if none
)

// Results of TxPut.
const (
	ResultWritten   = "written"
	ResultUnchanged = "unchanged"
)

// Invoke is the chaincode's entry point, independent of the Fabric shim:
// the external chaincode service passes its stub's state and the
// transaction's function name and arguments (all bytes, as the peer sent
// them). TxGet and TxLatest answer an empty result, not an error, when
// nothing is anchored, so that a client tells "not anchored" from a failed
// query. Errors are those of Put, Get and Latest, or a *FieldError naming
// the malformed argument; the shim turns any error into a 500 response,
// which the peer does not endorse.
func Invoke(st State, fn string, args [][]byte) ([]byte, error) {
	switch fn {
	case TxPut:
		if len(args) != 2 {
			return nil, &FieldError{"args", fmt.Sprintf("%s takes 2 arguments (anchor, proof), got %d", fn, len(args))}
		}
		a, err := Parse(args[0])
		if err != nil {
			return nil, err
		}
		p, err := ParseProof(args[1])
		if err != nil {
			return nil, err
		}
		wrote, err := Put(st, a, p)
		if err != nil {
			return nil, err
		}
		if wrote {
			return []byte(ResultWritten), nil
		}
		return []byte(ResultUnchanged), nil
	case TxGet, TxLatest:
		want := map[string]int{TxGet: 2, TxLatest: 1}[fn]
		if len(args) != want {
			return nil, &FieldError{"args", fmt.Sprintf("%s takes %d argument(s) (member[, size]), got %d", fn, want, len(args))}
		}
		member := string(args[0])
		if err := checkMember(member); err != nil {
			return nil, err
		}
		var a Anchor
		var err error
		if fn == TxLatest {
			a, err = Latest(st, member)
		} else {
			size, perr := strconv.ParseUint(string(args[1]), 10, 64)
			if perr != nil || strconv.FormatUint(size, 10) != string(args[1]) {
				return nil, &FieldError{"size", fmt.Sprintf("%q is not a decimal number without leading zeros", args[1])}
			}
			a, err = Get(st, member, size)
		}
		if errors.Is(err, ErrNotFound) {
			return []byte{}, nil
		}
		if err != nil {
			return nil, err
		}
		return a.Encode(), nil
	}
	return nil, &FieldError{"function", fmt.Sprintf("unknown transaction %q", fn)}
}

// ParseQueryResult decodes the result of TxGet or TxLatest: an anchor, or
// an error wrapping ErrNotFound for the empty result. A client passes the
// member and, for TxGet, the size it asked for (0 for TxLatest: the empty
// tree is never anchored, so no TxGet asks for size 0); the anchor must be
// that member's and of that size, since a result is not trusted to answer
// the question asked.
func ParseQueryResult(b []byte, member string, size uint64) (Anchor, error) {
	if len(b) == 0 {
		if size == 0 {
			return Anchor{}, fmt.Errorf("%w: member %s", ErrNotFound, member)
		}
		return Anchor{}, fmt.Errorf("%w: member %s size %d", ErrNotFound, member, size)
	}
	a, err := Parse(b)
	if err != nil {
		return Anchor{}, err
	}
	if a.Member != member || size != 0 && a.Size != size {
		return Anchor{}, &FieldError{"member", fmt.Sprintf("asked for %s at size %d, the answer is %s at size %d", member, size, a.Member, a.Size)}
	}
	return a, nil
}

// ParsePutResult decodes the result of TxPut: whether it wrote.
func ParsePutResult(b []byte) (bool, error) {
	switch string(b) {
	case ResultWritten:
		return true, nil
	case ResultUnchanged:
		return false, nil
	}
	return false, &FieldError{"result", fmt.Sprintf("%q is neither %q nor %q", b, ResultWritten, ResultUnchanged)}
}

// MaxProofHashes bounds a consistency proof (2 * 64 levels is more than any
// tree of 2^64 entries needs).
const MaxProofHashes = 128

// EncodeProof returns a consistency proof's bytes, the second argument of
// TxPut: the 32-byte hashes concatenated in tlog.ProveTree's order, nothing
// else (an empty proof is zero bytes). Versioning rule: the format is
// fixed; another proof shape needs another transaction name.
func EncodeProof(p tlog.TreeProof) []byte {
	b := make([]byte, 0, 32*len(p))
	for _, h := range p {
		b = append(b, h[:]...)
	}
	return b
}

// ParseProof decodes EncodeProof's format; errors are *FieldError on "proof".
func ParseProof(b []byte) (tlog.TreeProof, error) {
	if len(b)%32 != 0 || len(b)/32 > MaxProofHashes {
		return nil, &FieldError{"proof", fmt.Sprintf("%d bytes is not a multiple of 32 up to %d hashes", len(b), MaxProofHashes)}
	}
	p := make(tlog.TreeProof, len(b)/32)
	for i := range p {
		copy(p[i][:], b[32*i:])
	}
	return p, nil
}
