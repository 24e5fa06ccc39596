package exchange

import (
	"strings"
	"sync"

	"github.com/creditx/creditx/internal/cosig"
	"golang.org/x/mod/sumdb/note"
)

// keyMemos gives every manifest the runtime derives one verifier, so one
// memory of accepted signatures (internal/sigmemo), per key (issue 20).
//
// ParseManifest wraps each key it parses with a fresh memory. The manifest
// in force is rebuilt from the gov index (Reconstruct: ApplyChange parses
// the result of every approved change) whenever the gov bucket's sequence
// moves (m, InForceAt) and on every LivePeer call in the FSM, so once a
// membership change is in force each rebuild came with memories that had
// seen nothing: the leader's mirror loops and status reads (x.m()) and the
// FSM (LivePeer) checked the same signature over the same bytes with
// different memories of the same key, once each.
//
// share replaces each verifier of a manifest by the one first registered
// for the same key: a signed-note vkey (log, loop and policy log keys) by
// its text, a witness vkey by its canonical form (cosig.Canonical: the
// same name and public key). Equal texts give verifiers that accept
// exactly the same (message, signature) pairs, so sharing the memory
// changes which checks are made, never an outcome; a key that differs in
// any byte is another entry with its own memory (TestInForceSharesKeyMemories).
//
// It holds one entry per distinct key of the manifests the runtime saw (the
// configured one and the ones in force since): a few per member and key
// rotation. Safe for concurrent use; the zero value is ready.
type keyMemos struct {
	mu sync.Mutex
	m  map[string]note.Verifier // kind + "\x00" + vkey -> verifier; guarded by mu
}

// share makes m's keys the registered verifiers for the same keys,
// registering those not seen yet. m must not be in use by anyone else yet
// (a manifest just parsed or reconstructed): its fields are set in place.
func (k *keyMemos) share(m *Manifest) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]note.Verifier{}
	}
	one := func(kind, vkey string, v *note.Verifier) {
		if *v == nil || vkey == "" {
			return
		}
		key := kind + "\x00" + vkey
		if got, ok := k.m[key]; !ok {
			k.m[key] = *v
		} else if got != *v {
			*v = got
		}
	}
	witness := func(vkey string, v *note.Verifier) {
		if canon, err := cosig.Canonical(vkey); err == nil {
			one("cosig", canon, v)
		}
	}
	for i := range m.Members {
		mb := &m.Members[i]
		one("note", strings.TrimSpace(mb.LogVKey), &mb.logV)
		one("note", strings.TrimSpace(mb.LoopVKey), &mb.loopV)
		witness(mb.WitnessVKey, &mb.witnessV)
	}
	if p := m.policy; p != nil {
		for i := range p.Logs {
			one("note", strings.TrimSpace(p.Logs[i].VKey), &p.Logs[i].Verifier)
		}
		for i := range p.Witnesses {
			witness(p.Witnesses[i].VKey, &p.Witnesses[i].Verifier)
		}
	}
}

// derived is m, a manifest the runtime just reconstructed, with its keys
// shared (keyMemos); the configured manifest is returned as it is.
func (x *Runtime) derived(m *Manifest) *Manifest {
	if m != nil && m != x.manifest {
		x.keys.share(m)
	}
	return m
}
