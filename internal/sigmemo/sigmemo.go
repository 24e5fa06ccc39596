// Package sigmemo gives a signed-note verifier a memory of the signature
// lines it has accepted, so that a checkpoint whose signatures are opened
// again (the same checkpoint read on another path, or the same checkpoint
// with one more cosignature) costs one signature check for each line not
// seen before, not one for every line (issue 20: note.Open was 10% of the
// CPU of a 45-member convergence, much of it re-checking the same
// cosignatures each time a checkpoint gained one).
//
// Guarantee: a wrapped verifier accepts exactly the (message, signature)
// pairs its inner verifier accepts. A pair is remembered only after the
// inner verifier accepted it, under SHA-256 of a domain-separation prefix,
// the message's length, the message and the signature; the inner
// verifier's answer is a pure function of its key and those bytes
// (Ed25519, Ed25519 cosignature/v1 and ML-DSA-44 verification hold no
// state), and a memory belongs to one verifier, so one key. A pair the
// inner verifier refused is never remembered and is checked again each
// time: a forged or altered signature, or a good signature over an altered
// body, is refused however warm the memory is (TestForgedRefusedWarm). To
// be accepted without a check, a pair would have to collide under SHA-256
// with one that was accepted.
//
// Bound: at most Max remembered pairs per verifier (32-byte keys), the
// oldest forgotten first; forgetting only costs a check. Safe for
// concurrent use.
package sigmemo

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"
)

// Max is how many accepted signatures a verifier remembers. A member's
// witness key cosigns the checkpoints of every other member's ledger and
// loop log (2(N-1) logs), a few sizes of each in flight at once.
const Max = 256

// domain separates this package's memory keys from any other SHA-256
// input. Changing it only empties memories (they are not persisted).
const domain = "creditx sigmemo v1\n"

// Verifier is a note.Verifier with a memory of the signatures it accepted.
type Verifier struct {
	inner note.Verifier // immutable

	mu   sync.Mutex
	seen map[[32]byte]struct{} // accepted pairs; guarded by mu
	ring [][32]byte            // seen's keys in insertion order, a ring once full; guarded by mu
	next int                   // ring slot to overwrite next once full; guarded by mu

	checks atomic.Uint64 // calls of the inner verifier
	hits   atomic.Uint64 // calls answered from memory
}

// Wrap returns v with a memory of accepted signatures; nil for nil, and v
// itself if it already has one.
func Wrap(v note.Verifier) note.Verifier {
	if v == nil {
		return nil
	}
	if _, ok := v.(*Verifier); ok {
		return v
	}
	return &Verifier{inner: v}
}

// Name is the inner verifier's key name.
func (m *Verifier) Name() string { return m.inner.Name() }

// KeyHash is the inner verifier's key hash.
func (m *Verifier) KeyHash() uint32 { return m.inner.KeyHash() }

// Verify reports whether sig is a valid signature of msg by the key: true
// if this pair was accepted before, else the inner verifier's answer.
func (m *Verifier) Verify(msg, sig []byte) bool {
	k := memoKey(msg, sig)
	m.mu.Lock()
	_, ok := m.seen[k]
	m.mu.Unlock()
	if ok {
		m.hits.Add(1)
		return true
	}
	m.checks.Add(1)
	if !m.inner.Verify(msg, sig) {
		return false
	}
	m.remember(k)
	return true
}

func (m *Verifier) remember(k [32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.seen[k]; ok {
		return
	}
	if m.seen == nil {
		m.seen = make(map[[32]byte]struct{})
	}
	if len(m.ring) < Max {
		m.ring = append(m.ring, k)
	} else {
		delete(m.seen, m.ring[m.next])
		m.ring[m.next] = k
		m.next = (m.next + 1) % Max
	}
	m.seen[k] = struct{}{}
}

// Stats returns how many signatures the inner verifier checked and how
// many were accepted from memory.
func (m *Verifier) Stats() (checks, hits uint64) { return m.checks.Load(), m.hits.Load() }

// memoKey is SHA-256(domain || uint64be(len(msg)) || msg || sig): the
// length makes the split between message and signature unambiguous.
func memoKey(msg, sig []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(msg)))
	h.Write(n[:])
	h.Write(msg)
	h.Write(sig)
	var k [32]byte
	h.Sum(k[:0])
	return k
}
