package exchange

import (
	"crypto/ed25519"
	"sync"

	"github.com/creditx/creditx/schemas"
)

// keyVerifiers keeps a schemas.Verifier (the key's point decoded and a
// table of its multiples built once, ~1 ms and 96 KiB) per public key that
// signed entries this member checks one at a time, across calls: a
// custodian checks every entry of each loop log it copies (loop_custody.go),
// one sync per followed checkpoint, a few dozen entries each, each sync
// with a keyring replayed afresh (so Keyring.VerifyKey's own cache would be
// rebuilt every time). A Verifier accepts and refuses exactly what
// Signed.Verify does with the same key (schemas.TestVerifierAgreesWithVerify),
// so the cache changes the cost of a check, never its outcome; which key
// must have signed an entry is still decided by the keyring at each call.
//
// It holds at most maxKeyVerifiers keys (the signing keys of loop entries:
// a few per member, so linear in N) and starts over when full. Safe for
// concurrent use; the zero value is ready.
type keyVerifiers struct {
	mu sync.Mutex
	m  map[string]*schemas.Verifier // by public key bytes; guarded by mu
}

// maxKeyVerifiers bounds keyVerifiers (about 96 KiB each).
const maxKeyVerifiers = 512

// verify is s.Verify(pub), with pub's Verifier kept for the next call.
func (c *keyVerifiers) verify(s *schemas.Signed, pub ed25519.PublicKey) error {
	c.mu.Lock()
	v := c.m[string(pub)]
	c.mu.Unlock()
	if v == nil {
		v = schemas.NewVerifier(pub)
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxKeyVerifiers {
			c.m = map[string]*schemas.Verifier{}
		}
		c.m[string(pub)] = v
		c.mu.Unlock()
	}
	return v.Verify(s)
}

// size is how many keys are kept (tests).
func (c *keyVerifiers) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
