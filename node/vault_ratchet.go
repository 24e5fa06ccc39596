package node

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Erasure that erases: the vault key ratchets at every legal erasure
// (issue 14 item 5; docs/PRIVACY.md "Erasure").
//
// Copies of a wrapped data key outlive its deletion from ledger.db: in the
// raft log (until compaction), in raft snapshots, in freed bbolt pages, in
// backups. All are wrapped under the vault key of their time. So every
// erasure (op 7) moves the region to the next vault key, one way:
//
//	K(e+1) = HMAC-SHA256(K(e), "creditx/vault/ratchet/v1")
//
// In the same bbolt transaction as the deletion, the FSM re-wraps every
// remaining key under K(e+1) and stores the epoch e+1 (bucket vault, key
// "\x00epoch", uint64 BE). After the transaction commits it overwrites
// keys/vault.key with K(e+1) (temporary file, fsync, rename, directory
// fsync). From then on K(e) exists nowhere, and every older copy of every
// wrapped key, the erased ones included, is ciphertext under a key nobody
// can derive (HMAC is one-way).
//
// keys/vault.key holds "<64 hex> <epoch>\n" (epoch omitted: 0, the format
// before issue 14). A wrapped key stored at epoch 0 is the 60 bytes of
// vaultSealer.wrap; at epoch e >= 1 it is uint32 BE e || those 60 bytes.
//
// Crash points: dying after the commit and before the rename leaves the file
// at epoch e and ledger.db at e+1; on start (and after a snapshot install)
// syncVaultEpoch ratchets the file forward to the stored epoch, so K(e) is
// gone as soon as the replica runs again. A PUT wrapped by a replica that had
// not yet applied the erasure carries the old epoch; the FSM refuses it
// (errVaultEpoch, 503) and the retry wraps under the new key.
//
// Limits, stated plainly: a replica without keys/vault.key applies erasures
// without re-wrapping (it cannot); its stale copies are under a destroyed key,
// and it must not be given the key later without a snapshot from a keyed
// replica. A file system may keep the old file's blocks until reused; an
// operator backup of keys/vault.key from before an erasure defeats it (keep
// no such backups, or back up ledger.db and the key together and rotate the
// backups). Re-wrapping costs one AES-GCM open and seal per stored key per
// erasure (about 2 us each).

const (
	vaultRatchetLabel = "creditx/vault/ratchet/v1"
	vaultEpochKey     = "\x00epoch" // in bucketVault; origins never start with 0x00
)

// errVaultEpoch: a vault-put wrapped under an epoch that is not the FSM's.
var errVaultEpoch = errors.New("vault: the key was wrapped under a vault key that an erasure has since replaced; retry")

// vaultState is one epoch of the vault key. Immutable.
type vaultState struct {
	epoch  uint64
	key    []byte
	sealer *vaultSealer
}

func newVaultState(key []byte, epoch uint64) (*vaultState, error) {
	s, err := newVaultSealer(key)
	if err != nil {
		return nil, err
	}
	return &vaultState{epoch: epoch, key: key, sealer: s}, nil
}

// next is the state of the following epoch.
func (s *vaultState) next() *vaultState {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(vaultRatchetLabel))
	n, err := newVaultState(m.Sum(nil), s.epoch+1)
	if err != nil {
		panic(err) // a 32-byte key always makes an AES-256 cipher
	}
	return n
}

// wrap wraps dk under this epoch's key (format in the file doc).
func (s *vaultState) wrap(origin string, index uint64, path string, dk schemas.DataKey) []byte {
	w := s.sealer.wrap(origin, index, path, dk)
	if s.epoch == 0 {
		return w
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(s.epoch)), w...)
}

// wrappedEpoch returns the epoch a stored wrapped key was made under.
func wrappedEpoch(w []byte) (uint64, []byte) {
	if len(w) == 64 {
		return uint64(binary.BigEndian.Uint32(w)), w[4:]
	}
	return 0, w
}

func (s *vaultState) unwrap(origin string, index uint64, path string, w []byte) (schemas.DataKey, error) {
	e, body := wrappedEpoch(w)
	if e != s.epoch {
		return schemas.DataKey{}, fmt.Errorf("vault: the stored key is of epoch %d, this replica's vault key of epoch %d (an erasure is being applied; retry)", e, s.epoch)
	}
	return s.sealer.unwrap(origin, index, path, body)
}

// vaultRing is the region's vault key on this replica: the current epoch,
// and the file it lives in. Safe for concurrent use: readers load cur; the
// FSM goroutine (and start-up) advance it under mu.
type vaultRing struct {
	path string
	mu   sync.Mutex // serialises advance
	cur  atomic.Pointer[vaultState]
}

// loadVaultRing reads keys/vault.key; a missing file gives (nil, nil): the
// vault is disabled on this replica.
func loadVaultRing(path string) (*vaultRing, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("vault key %s: want \"<%d hex> [epoch]\"", path, 2*vaultKeyLen)
	}
	k, err := hex.DecodeString(f[0])
	if err != nil || len(k) != vaultKeyLen {
		return nil, fmt.Errorf("vault key %s: want %d hex characters", path, 2*vaultKeyLen)
	}
	var epoch uint64
	if len(f) == 2 {
		if epoch, err = strconv.ParseUint(f[1], 10, 32); err != nil {
			return nil, fmt.Errorf("vault key %s: epoch: %w", path, err)
		}
	}
	st, err := newVaultState(k, epoch)
	if err != nil {
		return nil, err
	}
	r := &vaultRing{path: path}
	r.cur.Store(st)
	return r, nil
}

func (r *vaultRing) state() *vaultState { return r.cur.Load() }

// advanceTo ratchets the key forward to epoch and replaces the file. It
// refuses to go back (an older key cannot be derived).
func (r *vaultRing) advanceTo(epoch uint64) error {
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
		st = st.next()
	}
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

// vaultEpoch reads the epoch stored in ledger.db.
func vaultEpoch(get func([]byte) []byte) uint64 {
	if v := get([]byte(vaultEpochKey)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// ratchetVault runs inside the erase transaction: every remaining wrapped
// key is re-wrapped under the next epoch's key, which is stored. Without a
// vault key (ring nil) only the epoch advances. It returns the new epoch.
func (f *fsm) ratchetVault(b *bbolt.Bucket) (uint64, error) {
	epoch := vaultEpoch(b.Get)
	var st *vaultState
	if f.vault != nil {
		st = f.vault.state()
		for st.epoch < epoch { // the file is behind (crash before its rename)
			st = st.next()
		}
		if st.epoch > epoch {
			f.logger.Error("vault key ahead of ledger.db; cannot re-wrap", "file_epoch", st.epoch, "db_epoch", epoch)
			st = nil
		}
	}
	if st != nil {
		nx := st.next()
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
			dk, err := st.unwrap(string(origin), index, path, v)
			if err != nil {
				f.logger.Error("vault: a stored key does not open under the current epoch; left as is", "origin", string(origin), "index", index, "path", path, "err", err)
				continue
			}
			redo = append(redo, kv{append([]byte(nil), k...), nx.wrap(string(origin), index, path, dk)})
		}
		for _, x := range redo {
			if err := b.Put(x.k, x.v); err != nil {
				return 0, err
			}
		}
	}
	if err := b.Put([]byte(vaultEpochKey), binary.BigEndian.AppendUint64(nil, epoch+1)); err != nil {
		return 0, err
	}
	return epoch + 1, nil
}

// syncVaultEpoch brings keys/vault.key to the epoch stored in ledger.db (on
// start, after a snapshot install, and after each erasure's commit).
func (n *Node) syncVaultEpoch() error {
	if n.vault == nil {
		return nil
	}
	var epoch uint64
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketVault); b != nil {
			epoch = vaultEpoch(b.Get)
		}
		return nil
	}); err != nil {
		// Ratcheting to a guessed epoch could destroy a key still needed,
		// or keep one that must go: refuse (New does not start).
		return fmt.Errorf("vault: reading the erasure epoch: %w", err)
	}
	return n.vault.advanceTo(epoch)
}
