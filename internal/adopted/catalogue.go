package adopted

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Measures-catalogue versions adopted on the ledger (issue 12).
//
// A node knows a set of catalogues (sanctions.CatalogueSet): the embedded
// default, the initial one (sanctions.catalogue, default the embedded
// one) and every file of sanctions.catalogues. Until a catalogue_adopt
// governance record is applied, the initial catalogue is in force.
// Admission refuses a catalogue_adopt whose sha256 is not in the set (field
// record.catalogue_adopt.sha256) or whose version is not that catalogue's
// (record.catalogue_adopt.version); nothing is written (Catalogues.Check).
//
// The FSM applies a catalogue_adopt from the index at which it indexes it,
// in this region's own ledger or a mirrored member's (as calendar years),
// so every replica applying the same raft log switches at the same entry.
// A mirrored adoption naming a catalogue this node does not know is
// recorded as refused, not applied, and shown in GET /v1/catalogue. From
// then on the catalogue in force decides, on every replica: which listings
// are not applied, the catalogue recorded with each queued listing in the
// notice queue (the leader issues that listing's notices under the recorded
// catalogue, whichever leader and whenever), checks, conflicts and states.
// A notice's deadline is recomputed under the catalogue whose version the
// notice cites (Deadlines.Engine).
//
// Bucket (same ledger.db transaction as the entries; changing the name or
// layout breaks existing data directories):
//
//	catalogues: "a" || uint64 BE sequence -> JSON api.AdoptedCatalogue (applied, in order; the last is in force)
//	            "r" || origin 0x00 index  -> JSON api.CatalogueRefusal (mirrored adoptions not applied)
//
// The notice-queue value (QueueValue) is uint64 BE unix nanos || 32-byte
// SHA-256 of the catalogue in force when the listing was indexed; an 8-byte
// value (written before this) means the initial catalogue.
const (
	BucketCatalogues          = "catalogues"
	CatalogueAdoptedPrefix    = 'a'
	CatalogueRefusedKeyPrefix = 'r'
)

// LastAdopted is the catalogue adoption in force in b (nil bucket or none: false).
func LastAdopted(b *bbolt.Bucket) (api.AdoptedCatalogue, bool, error) {
	if b == nil {
		return api.AdoptedCatalogue{}, false, nil
	}
	c := b.Cursor()
	k, v := c.Seek([]byte{CatalogueAdoptedPrefix + 1})
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || k[0] != CatalogueAdoptedPrefix {
		return api.AdoptedCatalogue{}, false, nil
	}
	var ac api.AdoptedCatalogue
	if err := json.Unmarshal(v, &ac); err != nil {
		return api.AdoptedCatalogue{}, false, fmt.Errorf("catalogues bucket %x: %w", k, err)
	}
	return ac, true, nil
}

// Catalogues are the catalogues a node knows and an engine for each.
// Read-only once built.
type Catalogues struct {
	Initial *sanctions.Engine            // the engine of the initial catalogue
	Set     *sanctions.CatalogueSet      // nil: only Initial's catalogue (and the embedded default)
	Engines map[string]*sanctions.Engine // by catalogue digest
}

// InForce returns the engine of the catalogue in force in b (Initial
// without adoptions). An unreadable bucket returns Initial and the error.
func (c Catalogues) InForce(b *bbolt.Bucket) (*sanctions.Engine, error) {
	ac, ok, err := LastAdopted(b)
	if !ok {
		return c.Initial, err
	}
	return c.ByDigest(ac.SHA256), nil
}

// ByDigest is the engine of catalogue digest (Initial if unknown).
func (c Catalogues) ByDigest(digest string) *sanctions.Engine {
	if e, ok := c.Engines[digest]; ok {
		return e
	}
	return c.Initial
}

// ByVersion is the engine of the catalogue of version v (Initial if unknown).
func (c Catalogues) ByVersion(v string) *sanctions.Engine {
	if c.Set != nil {
		if cat, ok := c.Set.ByVersion(v); ok {
			return c.ByDigest(cat.Digest())
		}
	}
	return c.Initial
}

// Queued is the engine to issue the notices of a listing queued with
// notice-queue value v.
func (c Catalogues) Queued(v []byte) *sanctions.Engine {
	if len(v) != 8+32 {
		return c.Initial
	}
	return c.ByDigest(hex.EncodeToString(v[8:]))
}

// QueueValue is the notice-queue value of a listing indexed at raft time
// now under eng's catalogue (nil: the initial one, written as 8 bytes).
func QueueValue(eng *sanctions.Engine, now time.Time) ([]byte, error) {
	v := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
	if eng == nil {
		return v, nil
	}
	d, err := hexDigest(eng.Catalogue().Digest())
	if err != nil {
		return nil, err
	}
	return append(v, d...), nil
}

// QueuedAt is the raft time a notice-queue value records.
func QueuedAt(v []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC()
}

func hexDigest(s string) ([]byte, error) {
	d, err := hex.DecodeString(s)
	if err != nil || len(d) != 32 {
		return nil, fmt.Errorf("catalogue digest %q is not a hex SHA-256: %v", s, err)
	}
	return d, nil
}

// Check refuses a catalogue_adopt whose sha256 matches no catalogue known,
// or names another version than that one's: the field at fault and why
// ("" if none). Admission and the FSM (for mirrored adoptions) apply it.
func (c Catalogues) Check(a *schemas.CatalogueAdopt) (field, msg string) {
	known := map[string]string{} // digest -> version
	for _, cat := range c.Known() {
		known[cat.Digest()] = cat.Version()
	}
	v, ok := known[a.SHA256]
	switch {
	case !ok:
		return "record.catalogue_adopt.sha256", fmt.Sprintf("%s is the digest of no measures catalogue this node knows (it knows %s); list the catalogue file in sanctions.catalogues on every member first",
			a.SHA256, c.names())
	case v != a.Version:
		return "record.catalogue_adopt.version", fmt.Sprintf("the catalogue with digest %s is version %s, not %s", a.SHA256, v, a.Version)
	}
	return "", ""
}

// ApplyCatalogueAdopt applies entry e, a catalogue_adopt record indexed at
// (origin, index) at raft time now, inside the apply transaction. Data
// problems are recorded in the catalogues bucket, never returned.
func (c Catalogues) ApplyCatalogueAdopt(tx *ledger.Tx, origin string, index uint64, e []byte, now time.Time) error {
	cb, err := tx.Bucket(BucketCatalogues)
	if err != nil {
		return err
	}
	refuse := func(digest, reason string) error {
		b, _ := json.Marshal(api.CatalogueRefusal{Origin: origin, Index: index, SHA256: digest, Reason: reason})
		return cb.Put(append([]byte{CatalogueRefusedKeyPrefix}, exchange.EntryKey(origin, index)...), b)
	}
	g, ok := schemas.DecodeEntry(e).(*schemas.Governance)
	if !ok || g.CatalogueAdopt == nil {
		return refuse("", "not a catalogue_adopt governance record")
	}
	a := g.CatalogueAdopt
	if field, msg := c.Check(a); field != "" {
		return refuse(a.SHA256, field+": "+msg)
	}
	seq, err := cb.NextSequence()
	if err != nil {
		return err
	}
	b, err := json.Marshal(api.AdoptedCatalogue{Version: a.Version, SHA256: a.SHA256, Origin: origin, Index: index, Since: now.UTC()})
	if err != nil {
		return err
	}
	return cb.Put(binary.BigEndian.AppendUint64([]byte{CatalogueAdoptedPrefix}, seq), b)
}

// StateIn reads the catalogues known, adopted and in force in tx. An
// unreadable bucket fails with the reason.
func (c Catalogues) StateIn(tx *ledger.ReadTx) (api.CatalogueState, error) {
	st := api.CatalogueState{Known: []api.KnownCatalogue{}, Adopted: []api.AdoptedCatalogue{}}
	initial := c.Initial.Catalogue()
	for _, cat := range c.Known() {
		st.Known = append(st.Known, api.KnownCatalogue{Version: cat.Version(), SHA256: cat.Digest(), Initial: cat.Digest() == initial.Digest()})
	}
	st.InForce = api.KnownCatalogue{Version: initial.Version(), SHA256: initial.Digest(), Initial: true}
	cb := tx.Bucket(BucketCatalogues)
	if cb == nil {
		return st, nil
	}
	cur := cb.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		switch k[0] {
		case CatalogueAdoptedPrefix:
			var ac api.AdoptedCatalogue
			if err := json.Unmarshal(v, &ac); err != nil {
				return st, fmt.Errorf("adopted catalogues unreadable (the initial catalogue counts meanwhile): %x: %w", k, err)
			}
			st.Adopted = append(st.Adopted, ac)
		case CatalogueRefusedKeyPrefix:
			var r api.CatalogueRefusal
			if err := json.Unmarshal(v, &r); err != nil {
				return st, fmt.Errorf("catalogue refusals unreadable: %x: %w", k, err)
			}
			st.Refused = append(st.Refused, r)
		}
	}
	if len(st.Adopted) > 0 {
		last := st.Adopted[len(st.Adopted)-1]
		st.Since = &last
		st.InForce = api.KnownCatalogue{Version: last.Version, SHA256: last.SHA256, Initial: last.SHA256 == initial.Digest()}
	}
	return st, nil
}

// Known is the set's catalogues, or the initial one alone (with the
// embedded default if that differs).
func (c Catalogues) Known() []*catalogue.Catalogue {
	if c.Set == nil {
		out := []*catalogue.Catalogue{c.Initial.Catalogue()}
		if d, err := catalogue.Default(); err == nil && d.Digest() != out[0].Digest() {
			out = append(out, d)
		}
		return out
	}
	return c.Set.All()
}

// names lists the known catalogues for an error message.
func (c Catalogues) names() string {
	var names []string
	for _, cat := range c.Known() {
		names = append(names, fmt.Sprintf("version %s sha256 %s", cat.Version(), cat.Digest()))
	}
	slices.Sort(names)
	return strings.Join(names, "; ")
}

// CatalogueAdoptRecord builds and signs (with admin's anchor key) the
// catalogue_adopt governance record of catalogue c for region.
func CatalogueAdoptRecord(region string, admin *client.Credentials, c *catalogue.Catalogue, now time.Time) ([]byte, error) {
	g := &schemas.Governance{
		Header:         schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Action:         schemas.ActionCatalogueAdopt,
		CatalogueAdopt: &schemas.CatalogueAdopt{Version: c.Version(), SHA256: c.Digest()},
	}
	return admin.Sign(g)
}
