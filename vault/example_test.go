package vault_test

import (
	"bytes"
	"fmt"

	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
)

// A data key wrapped at its place opens only there and only under the
// epoch's key; after the ratchet the previous key opens nothing new.
func Example() {
	k := bytes.Repeat([]byte{7}, vault.KeyLen) // keys/vault.key holds 32 random bytes
	e0, _ := vault.NewState(k, 0)
	var dk schemas.DataKey
	const origin, path = "creditx.330000/ledger", "subject.person"
	w := e0.Wrap(origin, 12, path, dk)
	_, err := e0.Unwrap(origin, 12, path, w)
	_, errElsewhere := e0.Unwrap(origin, 13, path, w)
	e1 := e0.Next()
	w1 := e1.Wrap(origin, 12, path, dk)
	_, errOld := e0.Unwrap(origin, 12, path, w1)
	fmt.Println(len(w), err, errElsewhere != nil, len(w1), e1.Epoch(), errOld != nil)
	// Output: 60 <nil> true 64 1 true
}
