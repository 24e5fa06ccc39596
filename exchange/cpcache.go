package exchange

import (
	"bytes"
	"crypto/sha256"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// CheckpointCache remembers the outcome of the signature checks on signed
// checkpoints, keyed by SHA-256 of the signed bytes and what they were
// checked against, so that a checkpoint is verified once, not on every
// mirror round and status read (issue 20: opening checkpoints was 27% of
// the CPU at 45 members; GET /v1/exchange re-verified N-1 checkpoints with
// up to N cosignatures each).
//
// A hit returns exactly what the check returned for the same bytes and the
// same keys (the outcome is a pure function of them), so the cache cannot
// make a bad signature pass. It holds at most Max entries, dropping the
// oldest; the zero value holds 1024. Safe for concurrent use. Callers must
// not modify a returned *ledger.Checkpoint.
type CheckpointCache struct {
	Max int // entries kept; 0 means 1024

	mu    sync.Mutex
	m     map[cacheKey]cacheVal // guarded by mu
	order []cacheKey            // insertion order, guarded by mu

	checks atomic.Uint64 // signature checks made (misses), for tests and metrics
}

type cacheKey struct {
	sum   [32]byte // SHA-256 of the signed note
	kind  byte     // 'o' open, 'w' witnessed
	what  string   // origin and key hash, or member code
	owner *Manifest
}

type cacheVal struct {
	cp    *ledger.Checkpoint
	note  []byte // QuorumNote's reduced note
	names []string
	ok    bool
	err   error
}

// Checks is how many signature checks the cache made (its misses).
func (c *CheckpointCache) Checks() uint64 { return c.checks.Load() }

func (c *CheckpointCache) get(k cacheKey) (cacheVal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *CheckpointCache) put(k cacheKey, v cacheVal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[cacheKey]cacheVal{}
	}
	if _, ok := c.m[k]; ok {
		return
	}
	max := c.Max
	if max <= 0 {
		max = 1024
	}
	for len(c.order) >= max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = v
	c.order = append(c.order, k)
}

// Open is ledger.OpenCheckpoint(signed, origin, v), checked once per
// distinct signed bytes, origin and key.
func (c *CheckpointCache) Open(signed []byte, origin string, v note.Verifier) (*ledger.Checkpoint, error) {
	if v == nil {
		return ledger.OpenCheckpoint(signed, origin, v)
	}
	k := cacheKey{sum: sha256.Sum256(signed), kind: 'o', what: origin + "\x00" + v.Name() + "\x00" + strconv.FormatUint(uint64(v.KeyHash()), 16)}
	if r, ok := c.get(k); ok {
		return r.cp, r.err
	}
	c.checks.Add(1)
	cp, err := ledger.OpenCheckpoint(bytes.Clone(signed), origin, v) // kept: not the caller's (maybe bbolt's) memory
	c.put(k, cacheVal{cp: cp, err: err})
	return cp, err
}

// Witnessed is m.Witnessed(code, signed), checked once per distinct signed
// bytes, member and manifest (the manifest by identity: a manifest in force
// is never modified, a new one is a new value, and the entry keeps it alive
// so its address cannot be reused while cached).
func (c *CheckpointCache) Witnessed(m *Manifest, code string, signed []byte) ([]string, bool, error) {
	k := cacheKey{sum: sha256.Sum256(signed), kind: 'w', what: code, owner: m}
	if r, ok := c.get(k); ok {
		return r.names, r.ok, r.err
	}
	c.checks.Add(1)
	names, ok, err := m.Witnessed(code, signed)
	c.put(k, cacheVal{names: names, ok: ok, err: err})
	return names, ok, err
}
