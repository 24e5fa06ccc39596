package exchange

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Schema adoption by governance (issue 4 item 5).
//
// A mirrored entry is indexed if its schema id is accepted when the FSM
// applies it. The exact rule (issue 16: schema acceptance follows the
// manifest IN FORCE, not the configured one): with M the manifest in force
// as of the applying transaction (Reconstruct of the gov index on the
// configured manifest, Current(), exactly as LivePeer reads it) and the
// member_approve, member_remove and schema_adopt records of M's members'
// ledgers in this node's gov index (own ledger and mirrors), the schema id
// s is accepted iff
//
//	s is in the configured manifest's accepted_schemas, or
//	M.Accepted(approvals, adoptions)[s]
//
// that is: in M's accepted_schemas, or adopted by more than half of the
// members effective under M (M.Effective). A city that joined by governance
// is effective under M and votes; a member that left (status removed in M)
// or was removed by member_remove does not, and neither counts towards the
// threshold. The configured manifest's accepted_schemas stay accepted even
// if M drops one (every replica of a region runs the same configured
// manifest, so this is deterministic within the region). Otherwise the entry
// is stored (mirrors are exact copies), flagged in the unaccepted bucket and
// not indexed.
//
// The adopted bucket holds the accepted ids beyond the configured manifest's
// accepted_schemas (M's additions, adopted ones), so AcceptsEntry is one
// slice lookup and at most one bbolt read.
//
// Determinism: the decision is made inside the raft FSM, so it reads only
// the apply transaction's state. The adopted set is persisted in the adopted
// bucket, which the FSM brings up to date (reconcileSchemas) after every
// indexed run of entries, in that same transaction, whenever its key - the
// gov bucket's sequence, bumped by the indexer for every member_approve,
// member_remove, schema_adopt, manifest_propose or manifest_approve record
// it indexes (so a change of the manifest in force changes the key), plus a
// digest of the configured manifest and of the schema versions this build
// decodes - differs from the stored one. Every replica applying the same
// raft log therefore changes the set at the same entry, whatever the
// batching of ApplyBatch (an entry that follows an adoption in the same
// mirror batch is indexed). Nothing here depends on clocks except the
// "since" time, which is raft time.
//
// Entries flagged before their version is adopted are indexed when it is
// adopted, in the same transaction, in key order (origin, index) of the
// unaccepted bucket, and removed from it. The same happens when a new
// manifest or software version accepts a flagged version (at the first
// indexed run after the restart; all replicas of a region must run the same
// manifest and build, as before). Adoption is not sticky (see
// Manifest.Accepted), but entries indexed while a version was
// adopted stay indexed: only later entries are flagged again.

// BucketAdopted is the FSM's adopted set. Changing its name or layout breaks
// existing data directories.
//
//	adopted: 0x00 "key"  -> uint64 BE gov sequence || 16-byte policy digest (see adoptionKey)
//	         schema id   -> uint64 BE unix nanoseconds of the raft time it became adopted
const BucketAdopted = "adopted"

var adoptedKeyKey = []byte("\x00key")

// maxAdoptRounds bounds the reconcile loop: indexing flagged governance
// records can change the set again (only if the manifest does not accept
// governance/v1). Any bound is deterministic; the rest happens at the next
// indexed run.
const maxAdoptRounds = 8

// IsExchangeGovernance reports whether a governance action changes who is
// effective or what is adopted: the indexer bumps the gov bucket's sequence
// for these, which invalidates the adopted set.
func IsExchangeGovernance(action string) bool {
	return action == schemas.ActionMemberApprove || action == schemas.ActionMemberRemove || action == schemas.ActionSchemaAdopt ||
		action == schemas.ActionManifestPropose || action == schemas.ActionManifestApprove // live.go: the manifest in force
}

// policyDigest identifies what, besides the gov index, the adopted set is a
// function of: the manifest and the schema versions this build decodes.
func policyDigest(m *Manifest) [16]byte {
	b, err := m.Encode()
	if err != nil {
		panic(fmt.Sprintf("creditx: encoding a parsed manifest: %v", err))
	}
	h := sha256.New()
	h.Write([]byte("creditx adopted-schemas policy v1\x00"))
	binary.Write(h, binary.BigEndian, uint64(len(b)))
	h.Write(b)
	h.Write([]byte(strings.Join(schemas.KnownSchemas(), "\x00")))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// adoptionKey is the adopted bucket's key for a gov sequence.
func (x *Runtime) adoptionKey(govSeq uint64) []byte {
	return append(binary.BigEndian.AppendUint64(nil, govSeq), x.policy[:]...)
}

// govDecisions reads the member_approve, member_remove and schema_adopt
// records in the gov index of the ledger of every member of m (own and
// mirrored; m is the manifest in force, so members that joined by
// governance are read too), in key order. Only records signed by an anchor key reach the
// gov index of a mirror (EntryVerifier) or of the own ledger (admission), so
// signatures are not checked again. Entries that do not read or decode are
// skipped (they never reached the index that way; nothing to count).
func govDecisions(m *Manifest, gov *bbolt.Bucket, logOf func(origin string) *ledger.LogReader) (approvals []Approval, adoptions []Adoption) {
	if gov == nil {
		return nil, nil
	}
	for i := range m.Members {
		mb := &m.Members[i]
		lr := logOf(mb.Origin())
		prefix := append([]byte(mb.Origin()), 0)
		c := gov.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			_, index, ok := SplitEntryKey(k)
			if !ok {
				continue
			}
			e, err := lr.Entry(index)
			if err != nil {
				continue
			}
			a, ad := governanceDecision(mb.Code, e)
			if a != nil {
				approvals = append(approvals, *a)
			}
			if ad != nil {
				adoptions = append(adoptions, *ad)
			}
		}
	}
	return approvals, adoptions
}

// governanceDecision reads a member_approve, member_remove or schema_adopt
// record of member by.
func governanceDecision(by string, e []byte) (*Approval, *Adoption) {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil, nil
	}
	rec, err := s.Decode()
	if err != nil {
		return nil, nil
	}
	g, ok := rec.(*schemas.Governance)
	if !ok {
		return nil, nil
	}
	switch {
	case g.Action == schemas.ActionMemberApprove && g.MemberApprove != nil:
		a := g.MemberApprove
		return &Approval{By: by, Code: a.Code, Endpoint: a.Endpoint, LogVKey: a.LogVKey, WitnessVKey: a.WitnessVKey}, nil
	case g.Action == schemas.ActionMemberRemove && g.MemberRemove != nil:
		return &Approval{By: by, Code: g.MemberRemove.Code, Remove: true}, nil
	case g.Action == schemas.ActionSchemaAdopt && g.SchemaAdopt != nil:
		return nil, &Adoption{By: by, Schema: g.SchemaAdopt.Schema}
	}
	return nil, nil
}

// EntrySchema is the record schema id of an entry, "?" if it has none.
func EntrySchema(e []byte) string {
	var env struct {
		Record struct {
			Schema string `json:"schema"`
		} `json:"record"`
	}
	if err := json.Unmarshal(e, &env); err != nil || env.Record.Schema == "" {
		return "?"
	}
	return env.Record.Schema
}

// AcceptsEntry is the FSM's schema filter for mirrored entries: accepted by
// the configured manifest, or by the manifest in force (its accepted_schemas
// and governance adoptions) as of this transaction (the adopted bucket, kept
// up to date by reconcileSchemas). It returns the schema id for the
// unaccepted bucket. An error is a storage failure.
func (x *Runtime) AcceptsEntry(tx *ledger.Tx, e []byte) (bool, string, error) {
	s := EntrySchema(e)
	ok, err := x.AcceptsSchema(tx, s)
	return ok, s, err
}

// AcceptsSchema is AcceptsEntry for an entry whose schema id s
// (EntrySchema, or the id of its strictly decoded record) is known.
func (x *Runtime) AcceptsSchema(tx *ledger.Tx, s string) (bool, error) {
	if x.manifest.Accepts(s) {
		return true, nil
	}
	if s == "?" {
		return false, nil
	}
	ab, err := tx.Bucket(BucketAdopted)
	if err != nil {
		return false, err
	}
	return ab.Get([]byte(s)) != nil, nil
}

// ReconcileSchemas brings the adopted bucket up to date with the gov index
// and indexes (with index, which must not call back here) the flagged
// entries of newly accepted versions. It runs on the FSM goroutine inside
// the apply transaction, after each indexed run of entries; when the key
// has not changed it costs two bbolt reads. now is the raft time of the
// entry being applied.
func (x *Runtime) ReconcileSchemas(tx *ledger.Tx, now time.Time, index func(origin string, first uint64, entries [][]byte) error) error {
	ab, err := tx.Bucket(BucketAdopted)
	if err != nil {
		return err
	}
	gov, err := tx.Bucket(BucketGov)
	if err != nil {
		return err
	}
	for range maxAdoptRounds {
		key := x.adoptionKey(gov.Sequence())
		old := ab.Get(adoptedKeyKey)
		if bytes.Equal(old, key) {
			return nil
		}
		policyChanged := len(old) != len(key) || !bytes.Equal(old[8:], key[8:])
		inForce := x.inForceTx(gov, tx.Log)
		accepted, _ := inForce.Accepted(govDecisions(inForce, gov, tx.Log))
		// The adopted set: what the manifest in force accepts beyond the
		// configured manifest's accepted_schemas.
		var gone [][]byte
		c := ab.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if k[0] != 0 && (!accepted[string(k)] || x.manifest.Accepts(string(k))) {
				gone = append(gone, slices.Clone(k))
			}
		}
		for _, k := range gone {
			if err := ab.Delete(k); err != nil {
				return err
			}
		}
		added := false
		for _, s := range allKeys(accepted) {
			if x.manifest.Accepts(s) || ab.Get([]byte(s)) != nil {
				continue
			}
			if err := ab.Put([]byte(s), binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))); err != nil {
				return err
			}
			added = true
		}
		if err := ab.Put(adoptedKeyKey, key); err != nil {
			return err
		}
		if added || policyChanged {
			if err := promoteFlagged(tx, accepted, index); err != nil {
				return err
			}
		}
	}
	return nil
}

// inForceTx is the manifest in force as of the transaction whose gov bucket
// is gov (Reconstruct on the configured manifest, as LivePeer): the
// configured manifest while no membership record is indexed.
func (x *Runtime) inForceTx(gov *bbolt.Bucket, logOf func(origin string) *ledger.LogReader) *Manifest {
	recs, approvals := membershipRecords(gov, logOf)
	if len(recs) == 0 {
		return x.manifest
	}
	return x.derived(Reconstruct(x.manifest, approvals, recs).Current().Manifest)
}

// promoteFlagged indexes the flagged (unaccepted) entries whose schema is
// now accepted, in key order, and unflags them.
func promoteFlagged(tx *ledger.Tx, accepted map[string]bool, index func(origin string, first uint64, entries [][]byte) error) error {
	ub, err := tx.Bucket(BucketUnaccepted)
	if err != nil {
		return err
	}
	var keys [][]byte
	c := ub.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if accepted[string(v)] {
			keys = append(keys, slices.Clone(k))
		}
	}
	for _, k := range keys {
		origin, i, ok := SplitEntryKey(k)
		if !ok {
			return fmt.Errorf("corrupt unaccepted key %x", k)
		}
		e, err := tx.Log(origin).Entry(i)
		if err != nil {
			return fmt.Errorf("flagged entry %s %d: %w", origin, i, err)
		}
		if err := ub.Delete(k); err != nil {
			return err
		}
		if err := index(origin, i, [][]byte{e}); err != nil {
			return err
		}
	}
	return nil
}

// allKeys are the keys of m, true or not, sorted.
func allKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// AdoptedSchema is a schema version adopted by governance, as the FSM
// applies it.
type AdoptedSchema struct {
	Schema string    `json:"schema"`
	Since  time.Time `json:"since"` // raft time of the entry that completed the quorum
}

// ReadAdopted lists the adopted bucket.
func ReadAdopted(tx *ledger.ReadTx) []AdoptedSchema {
	out := []AdoptedSchema{}
	ab := tx.Bucket(BucketAdopted)
	if ab == nil {
		return out
	}
	c := ab.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if k[0] == 0 || len(v) != 8 {
			continue
		}
		out = append(out, AdoptedSchema{Schema: string(k), Since: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()})
	}
	return out
}
