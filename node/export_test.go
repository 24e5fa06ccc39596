package node

import (
	"encoding/hex"
	"strings"

	"github.com/creditx/creditx/schemas"
)

// WrapForTest wraps dk at a place under the raw 32-byte vault key given as
// hex (the format of keys/vault.key, epoch ignored), as the vault did at
// epoch 0.
func WrapForTest(keyHex, origin string, index uint64, path string, dk schemas.DataKey) []byte {
	k, err := hex.DecodeString(strings.Fields(keyHex)[0])
	if err != nil {
		panic(err)
	}
	s, err := newVaultSealer(k)
	if err != nil {
		panic(err)
	}
	return s.wrap(origin, index, path, dk)
}

// OpensForTest reports whether the 32-byte key (hex) opens the wrapped key w
// (a 60-byte epoch-0 wrapping) at a place.
func OpensForTest(keyHex, origin string, index uint64, path string, w []byte) bool {
	k, err := hex.DecodeString(keyHex)
	if err != nil || len(k) != vaultKeyLen {
		return false
	}
	s, err := newVaultSealer(k)
	if err != nil {
		return false
	}
	_, err = s.unwrap(origin, index, path, w)
	return err == nil
}
