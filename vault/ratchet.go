package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// The ratchet (format and crash points in the package doc).

const (
	ratchetLabel = "creditx/vault/ratchet/v1"
	epochKey     = "\x00epoch" // in Bucket; origins never start with 0x00. Changing it breaks existing data.
)

// NextKey is the vault key of the epoch after k's:
//
//	K(e+1) = HMAC-SHA256(K(e), "creditx/vault/ratchet/v1")
//
// One way: K(e) cannot be derived from K(e+1).
func NextKey(k []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(ratchetLabel))
	return m.Sum(nil)
}

// State is one epoch of the vault key. Immutable and safe for concurrent use.
type State struct {
	epoch  uint64
	key    []byte
	sealer *sealer
}

// NewState is the vault key key (KeyLen bytes) at epoch.
func NewState(key []byte, epoch uint64) (*State, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("vault: key of %d bytes, want %d", len(key), KeyLen)
	}
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	return &State{epoch: epoch, key: key, sealer: s}, nil
}

// Epoch is the state's epoch.
func (s *State) Epoch() uint64 { return s.epoch }

// Next is the state of the following epoch.
func (s *State) Next() *State {
	n, err := NewState(NextKey(s.key), s.epoch+1)
	if err != nil {
		panic(err) // a 32-byte key always makes an AES-256 cipher
	}
	return n
}

// Wrap wraps dk for its place (origin, index, path inside the record) under
// this epoch's key:
//
//	epoch 0:     nonce(12) || AES-256-GCM(encKey, nonce, dk, aad)        60 bytes
//	epoch e > 0: uint32 BE e || the 60 bytes above                        64 bytes
//
// with encKey = HMAC-SHA256(K, "creditx/vault/enc/v1"), nonce the first 12
// bytes of HMAC-SHA256(HMAC-SHA256(K, "creditx/vault/nonce/v1"), aad || dk),
// and aad = "creditx/vault/wrap/v1\n" || uvarint len(origin) || origin ||
// uint64 BE index || path. The same key at the same place and epoch always
// wraps to the same bytes (synthetic-IV style); that reveals only equality,
// which the FSM needs to decide idempotence alike on every replica.
// Versioning: another scheme gets "/v2" labels and a new command op.
func (s *State) Wrap(origin string, index uint64, path string, dk schemas.DataKey) []byte {
	w := s.sealer.wrap(origin, index, path, dk)
	if s.epoch == 0 {
		return w
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(s.epoch)), w...)
}

// WrappedEpoch returns the epoch a stored wrapped key was made under, and
// its body without the epoch prefix.
func WrappedEpoch(w []byte) (uint64, []byte) {
	if len(w) == 64 {
		return uint64(binary.BigEndian.Uint32(w)), w[4:]
	}
	return 0, w
}

// Unwrap reverses Wrap. It fails for a key of another epoch (an erasure is
// being applied; retry), another vault key, or another place.
func (s *State) Unwrap(origin string, index uint64, path string, w []byte) (schemas.DataKey, error) {
	e, body := WrappedEpoch(w)
	if e != s.epoch {
		return schemas.DataKey{}, fmt.Errorf("vault: the stored key is of epoch %d, this replica's vault key of epoch %d (an erasure is being applied; retry)", e, s.epoch)
	}
	return s.sealer.unwrap(origin, index, path, body)
}

// Ring is the region's vault key on this replica: the current epoch, and
// the file it lives in. Safe for concurrent use: readers call State; the FSM
// goroutine (and start-up) advance it.
type Ring struct {
	path string
	mu   sync.Mutex // serialises AdvanceTo
	cur  atomic.Pointer[State]
}

// LoadRing reads the key file at path ("<64 hex> [epoch]\n"; epoch omitted:
// 0, the format before issue 14). A missing file gives (nil, nil): the vault
// is disabled on this replica.
func LoadRing(path string) (*Ring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("vault key %s: want \"<%d hex> [epoch]\"", path, 2*KeyLen)
	}
	k, err := hex.DecodeString(f[0])
	if err != nil || len(k) != KeyLen {
		return nil, fmt.Errorf("vault key %s: want %d hex characters", path, 2*KeyLen)
	}
	var epoch uint64
	if len(f) == 2 {
		if epoch, err = strconv.ParseUint(f[1], 10, 32); err != nil {
			return nil, fmt.Errorf("vault key %s: epoch: %w", path, err)
		}
	}
	st, err := NewState(k, epoch)
	if err != nil {
		return nil, err
	}
	r := &Ring{path: path}
	r.cur.Store(st)
	return r, nil
}

// State is the current epoch's key.
func (r *Ring) State() *State { return r.cur.Load() }

// AdvanceTo ratchets the key forward to epoch and replaces the file
// (temporary file, fsync, rename, directory fsync). It refuses to go back
// (an older key cannot be derived). If it fails the file keeps its old
// epoch and the ring is unchanged; calling it again finishes the step.
func (r *Ring) AdvanceTo(epoch uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.cur.Load()
	if epoch < st.epoch {
		return fmt.Errorf("vault key %s is at epoch %d, ahead of ledger.db's %d", r.path, st.epoch, epoch)
	}
	if epoch == st.epoch {
		return nil
	}
	for st.epoch < epoch {
		st = st.Next()
	}
	// Dying before the rename leaves the old file (epoch behind ledger.db):
	// the next start ratchets it forward. After the rename K(old) is gone.
	if err := writeFileSync(r.path, []byte(hex.EncodeToString(st.key)+" "+strconv.FormatUint(st.epoch, 10)+"\n")); err != nil {
		return fmt.Errorf("vault key: replacing %s: %w", r.path, err)
	}
	r.cur.Store(st)
	return nil
}

// writeFileSync replaces path atomically and durably.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Ratchet runs inside an erase or rotate transaction: every remaining
// wrapped key in b is re-wrapped under the next epoch's key, and the next
// epoch is stored. Without a vault key (ring nil), or with a key file ahead
// of the bucket (logged), only the epoch advances. It returns the new epoch;
// err is a storage failure.
func Ratchet(b *bbolt.Bucket, ring *Ring, logger *slog.Logger) (uint64, error) {
	epoch := StoredEpoch(b)
	var st *State
	if ring != nil {
		st = ring.State()
		for st.epoch < epoch { // the file is behind (crash before its rename)
			st = st.Next()
		}
		if st.epoch > epoch {
			logger.Error("vault key ahead of ledger.db; cannot re-wrap", "file_epoch", st.epoch, "db_epoch", epoch)
			st = nil
		}
	}
	if st != nil {
		nx := st.Next()
		type kv struct{ k, v []byte }
		var redo []kv
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if len(k) == 0 || k[0] == 0 {
				continue
			}
			origin, rest, ok := bytes.Cut(k, []byte{0})
			if !ok || len(rest) <= 8 {
				continue // a tombstone
			}
			index, path := binary.BigEndian.Uint64(rest[:8]), string(rest[8:])
			dk, err := st.Unwrap(string(origin), index, path, v)
			if err != nil {
				logger.Error("vault: a stored key does not open under the current epoch; left as is", "origin", string(origin), "index", index, "path", path, "err", err)
				continue
			}
			redo = append(redo, kv{append([]byte(nil), k...), nx.Wrap(string(origin), index, path, dk)})
		}
		for _, x := range redo {
			if err := b.Put(x.k, x.v); err != nil {
				return 0, fmt.Errorf("vault: %w", err)
			}
		}
	}
	if err := b.Put([]byte(epochKey), binary.BigEndian.AppendUint64(nil, epoch+1)); err != nil {
		return 0, fmt.Errorf("vault: %w", err)
	}
	return epoch + 1, nil
}
