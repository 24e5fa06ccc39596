// Package vault holds the per-record data keys (schemas.DataKey) that open
// the sealed persons of a region's ledger entries, outside the ledger, so
// that destroying them is a legal deletion that leaves the ledger verifiable
// (DESIGN.md section 6; node/DESIGN.md "Data-key vault"; docs/PRIVACY.md
// "Erasure"). It owns the key wrapping, the vault key's ratchet and its file,
// and the Bucket of ledger.db; the node owns the raft commands (ops 6-8 of
// node/command.go) and the /v1/vault HTTP API that drive it.
//
// # Guarantees
//
// A data key is stored only wrapped under the region's vault key
// (keys/vault.key, the same on every replica), through raft, by the FSM in
// the same bbolt transaction as the applied index (Put, Erase, Rotate), so it
// survives a restart and reaches every replica. The FSM never sees a
// plaintext data key and needs no vault key to store one: wrapping is
// deterministic (State.Wrap), so "the same key again" and "another key" are
// byte comparisons that every replica decides alike. Put, Erase and Rotate
// depend only on their arguments and the bucket, so every replica writes the
// same bytes; a refusal writes nothing.
//
// Erasure erases. Erase deletes an entry's wrapped keys and leaves a
// tombstone that refuses every later Put. Copies of the wrapped keys outlive
// that deletion (raft log until compaction, raft snapshots, freed bbolt
// pages, backups), all wrapped under the vault key of their time; so the
// first erasure of an entry also moves the region to the next vault key, one
// way:
//
//	K(e+1) = HMAC-SHA256(K(e), "creditx/vault/ratchet/v1")    (NextKey)
//
// In the same transaction as the deletion, Ratchet re-wraps every remaining
// key under K(e+1) and stores epoch e+1; after the commit the node calls
// Ring.AdvanceTo, which overwrites keys/vault.key with K(e+1). From then on
// K(e) exists nowhere, and every older copy of every wrapped key, the erased
// ones included, is ciphertext under a key nobody can derive.
//
// Rotation (Rotate, POST /v1/vault/rotate) is the same ratchet step without
// erasing anything: a copy of an old key file (a backup, a departed
// operator's) then opens nothing in ledger.db any more, nor any key stored
// after the rotation. It does not reach wrapped keys in the raft log's entries and
// freed pages stored before it; pair it with a raft log compaction. Rotate is
// idempotent: a request from an epoch already passed changes nothing.
//
// # Formats
//
// keys/vault.key holds "<64 hex> <epoch>\n" (epoch omitted: 0, the format
// before issue 14). A wrapped key is 60 bytes at epoch 0 and uint32 BE epoch
// || those 60 bytes at epoch >= 1 (State.Wrap). The bucket's keys are in the
// doc of Bucket.
//
// # Crash table (durable steps of an erasure or rotation)
//
//	step                                   dies right after it: on restart
//	1. raft commits the command            replayed by the FSM: steps 2-3 follow
//	2. bbolt commit (keys deleted or       ledger.db at e+1, keys/vault.key at e: the node calls
//	   re-wrapped, epoch e+1 stored)       Ring.AdvanceTo(stored epoch) at start and after a
//	                                       snapshot install, before serving, so K(e) is gone as
//	                                       soon as the replica runs again; Ratchet meanwhile
//	                                       derives K(e+1) from the stale file
//	3. keys/vault.key.tmp written, fsynced the old file is intact; as step 2
//	4. rename onto keys/vault.key, dir sync done: K(e) is on no disk of this replica
//
// A Put wrapped by a replica that had not yet applied the erasure carries the
// old epoch; Put refuses it (ErrEpoch) and the retry wraps under the new key.
//
// # Limits
//
// A replica without keys/vault.key applies erasures without re-wrapping (it
// cannot); its stale copies are under a destroyed key, and it must not be
// given the key later without a snapshot from a keyed replica. A file system
// may keep the old file's blocks until reused; an operator backup of
// keys/vault.key from before an erasure defeats it (keep no such backups, or
// back up ledger.db and the key together and rotate the backups).
// Re-wrapping costs one AES-GCM open and seal per stored key per erasure
// (about 2 us each).
package vault
