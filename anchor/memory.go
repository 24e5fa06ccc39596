package anchor

import (
	"context"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Memory is an in-process anchor backend: the chaincode (Invoke) over a
// MapState, called with the same encoded arguments, and its results decoded
// the same way, as the Fabric client (package anchor/fabric) does. It is the
// second implementation of the small interfaces package anchor/sidecar and
// package audit declare, for tests and for trying the loop without Fabric.
// Its state is lost with the process. Safe for concurrent use.
type Memory struct {
	mu sync.Mutex
	st MapState // guarded by mu
}

// NewMemory returns an empty backend.
func NewMemory() *Memory { return &Memory{st: MapState{}} }

func (m *Memory) invoke(ctx context.Context, fn string, args ...[]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Like a refused Fabric transaction, a refused Put leaves no writes
	// (Put checks everything before writing).
	return Invoke(m.st, fn, args)
}

// Put submits TxPut and reports whether the chaincode wrote.
func (m *Memory) Put(ctx context.Context, a Anchor, proof tlog.TreeProof) (bool, error) {
	res, err := m.invoke(ctx, TxPut, a.Encode(), EncodeProof(proof))
	if err != nil {
		return false, err
	}
	return ParsePutResult(res)
}

// Get evaluates TxGet; an error wraps ErrNotFound when nothing is anchored
// at size.
func (m *Memory) Get(ctx context.Context, member string, size uint64) (Anchor, error) {
	res, err := m.invoke(ctx, TxGet, []byte(member), []byte(strconv.FormatUint(size, 10)))
	if err != nil {
		return Anchor{}, err
	}
	return ParseQueryResult(res, member, size)
}

// Latest evaluates TxLatest; an error wraps ErrNotFound when nothing is
// anchored for member.
func (m *Memory) Latest(ctx context.Context, member string) (Anchor, error) {
	res, err := m.invoke(ctx, TxLatest, []byte(member))
	if err != nil {
		return Anchor{}, err
	}
	return ParseQueryResult(res, member, 0)
}
