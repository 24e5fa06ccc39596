package node

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Wire types of this file's endpoints (package api).
type (
	CatalogueState   = api.CatalogueState
	AdoptedCatalogue = api.AdoptedCatalogue
	KnownCatalogue   = api.KnownCatalogue
	CatalogueRefusal = api.CatalogueRefusal
)

// Measures-catalogue versions adopted on the ledger (issue 12).
//
// A node knows a set of catalogues (sanctions.CatalogueSet): the embedded
// default, the initial one (sanctions.catalogue, default the embedded
// one) and every file of sanctions.catalogues. Until a catalogue_adopt
// governance record is applied, the initial catalogue is in force.
// Admission refuses a catalogue_adopt whose sha256 is not in the set (field
// record.catalogue_adopt.sha256) or whose version is not that catalogue's
// (record.catalogue_adopt.version); nothing is written.
//
// The FSM applies a catalogue_adopt from the index at which it indexes it,
// in this region's own ledger or a mirrored member's (as calendar years,
// calendar.go), so every replica applying the same raft log switches at the
// same entry. A mirrored adoption naming a catalogue this node does not
// know is recorded as refused, not applied, and shown in GET /v1/catalogue.
// From then on the catalogue in force decides, on every replica: which
// listings are not applied (notapplied.go), the catalogue recorded with each
// queued listing in the notice queue (the leader issues that listing's
// notices under the recorded catalogue, whichever leader and whenever),
// checks, conflicts and states. A notice's deadline is recomputed
// (calendar.go) under the catalogue whose version the notice cites.
//
// Bucket (same ledger.db transaction as the entries; changing the name or
// layout breaks existing data directories):
//
//	catalogues: "a" || uint64 BE sequence -> JSON AdoptedCatalogue (applied, in order; the last is in force)
//	            "r" || origin 0x00 index  -> JSON CatalogueRefusal (mirrored adoptions not applied)
//
// The notice-queue value (sanctions.go) is uint64 BE unix nanos || 32-byte
// SHA-256 of the catalogue in force when the listing was indexed; an 8-byte
// value (written before this) means the initial catalogue.
const (
	bucketCatalogues          = "catalogues"
	catalogueAdoptedPrefix    = 'a'
	catalogueRefusedKeyPrefix = 'r'
)

// lastAdopted is the catalogue adoption in force in b (nil bucket or none: false).
func lastAdopted(b *bbolt.Bucket) (AdoptedCatalogue, bool, error) {
	if b == nil {
		return AdoptedCatalogue{}, false, nil
	}
	c := b.Cursor()
	k, v := c.Seek([]byte{catalogueAdoptedPrefix + 1})
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || k[0] != catalogueAdoptedPrefix {
		return AdoptedCatalogue{}, false, nil
	}
	var ac AdoptedCatalogue
	if err := json.Unmarshal(v, &ac); err != nil {
		return AdoptedCatalogue{}, false, fmt.Errorf("catalogues bucket %x: %w", k, err)
	}
	return ac, true, nil
}

// engineOf returns the engine of the catalogue in force in b (the initial
// one without adoptions). An unreadable bucket is logged and counts as the
// initial catalogue; CatalogueState reports it.
func (n *Node) engineOf(b *bbolt.Bucket) *sanctions.Engine {
	if n.sanctions == nil {
		return nil
	}
	ac, ok, err := lastAdopted(b)
	if err != nil {
		n.logger.Error("adopted catalogues unreadable; using the initial catalogue", "err", err)
	}
	if !ok {
		return n.sanctions.engine
	}
	return n.engineByDigest(ac.SHA256)
}

// engineByDigest is the engine of catalogue digest (the initial one if unknown).
func (n *Node) engineByDigest(digest string) *sanctions.Engine {
	if e, ok := n.sanctions.engines[digest]; ok {
		return e
	}
	return n.sanctions.engine
}

// engineByVersion is the engine of the catalogue of version v (the initial one if unknown).
func (n *Node) engineByVersion(v string) *sanctions.Engine {
	if n.sanctions.cats != nil {
		if c, ok := n.sanctions.cats.ByVersion(v); ok {
			return n.engineByDigest(c.Digest())
		}
	}
	return n.sanctions.engine
}

// queueValue is the notice-queue value of a listing indexed now under the
// catalogue in force in tx.
func (ix *indexer) queueValue(tx *ledger.Tx) ([]byte, error) {
	cb, err := tx.Bucket(bucketCatalogues)
	if err != nil {
		return nil, err
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(ix.node.fsm.now.UnixNano()))
	eng := ix.node.engineOf(cb)
	if eng == nil {
		return v, nil // no sanctions state (some tests): the initial catalogue
	}
	d, err := hexDigest(eng.Catalogue().Digest())
	if err != nil {
		return nil, err
	}
	return append(v, d...), nil
}

// queuedEngine is the engine to issue a queued listing's notices with.
func (n *Node) queuedEngine(v []byte) *sanctions.Engine {
	if len(v) != 8+32 {
		return n.sanctions.engine
	}
	return n.engineByDigest(hex.EncodeToString(v[8:]))
}

// queuedAt is the raft time a notice-queue value records.
func queuedAt(v []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC()
}

func hexDigest(s string) ([]byte, error) {
	d, err := hex.DecodeString(s)
	if err != nil || len(d) != 32 {
		return nil, fmt.Errorf("catalogue digest %q is not a hex SHA-256: %v", s, err)
	}
	return d, nil
}

// indexCatalogueAdopt applies a catalogue_adopt record indexed at (origin,
// index) (FSM, inside the apply transaction). Data problems are recorded in
// the catalogues bucket, never returned.
func (ix *indexer) indexCatalogueAdopt(tx *ledger.Tx, origin string, index uint64, e []byte) error {
	cb, err := tx.Bucket(bucketCatalogues)
	if err != nil {
		return err
	}
	refuse := func(digest, reason string) error {
		b, _ := json.Marshal(CatalogueRefusal{Origin: origin, Index: index, SHA256: digest, Reason: reason})
		return cb.Put(append([]byte{catalogueRefusedKeyPrefix}, entryKey(origin, index)...), b)
	}
	g, ok := decodeRecord(e).(*schemas.Governance)
	if !ok || g.CatalogueAdopt == nil {
		return refuse("", "not a catalogue_adopt governance record")
	}
	a := g.CatalogueAdopt
	if field, msg := ix.node.checkCatalogueAdopt(a); field != "" {
		return refuse(a.SHA256, field+": "+msg)
	}
	seq, err := cb.NextSequence()
	if err != nil {
		return err
	}
	b, err := json.Marshal(AdoptedCatalogue{Version: a.Version, SHA256: a.SHA256, Origin: origin, Index: index, Since: ix.node.fsm.now.UTC()})
	if err != nil {
		return err
	}
	return cb.Put(binary.BigEndian.AppendUint64([]byte{catalogueAdoptedPrefix}, seq), b)
}

// CatalogueState reads the catalogues known, adopted and in force. An
// unreadable bucket fails with the reason.
func (n *Node) CatalogueState() (CatalogueState, error) {
	st := CatalogueState{Known: []KnownCatalogue{}, Adopted: []AdoptedCatalogue{}}
	initial := n.sanctions.engine.Catalogue()
	for _, c := range n.knownCatalogues() {
		st.Known = append(st.Known, KnownCatalogue{Version: c.Version(), SHA256: c.Digest(), Initial: c.Digest() == initial.Digest()})
	}
	st.InForce = KnownCatalogue{Version: initial.Version(), SHA256: initial.Digest(), Initial: true}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		cb := tx.Bucket(bucketCatalogues)
		if cb == nil {
			return nil
		}
		c := cb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			switch k[0] {
			case catalogueAdoptedPrefix:
				var ac AdoptedCatalogue
				if err := json.Unmarshal(v, &ac); err != nil {
					return fmt.Errorf("adopted catalogues unreadable (the initial catalogue counts meanwhile): %x: %w", k, err)
				}
				st.Adopted = append(st.Adopted, ac)
			case catalogueRefusedKeyPrefix:
				var r CatalogueRefusal
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("catalogue refusals unreadable: %x: %w", k, err)
				}
				st.Refused = append(st.Refused, r)
			}
		}
		if len(st.Adopted) > 0 {
			last := st.Adopted[len(st.Adopted)-1]
			st.Since = &last
			st.InForce = KnownCatalogue{Version: last.Version, SHA256: last.SHA256, Initial: last.SHA256 == initial.Digest()}
		}
		return nil
	})
	return st, err
}

// knownCatalogues is the set's catalogues, or the initial one alone.
func (n *Node) knownCatalogues() []*catalogue.Catalogue {
	if n.sanctions.cats == nil {
		out := []*catalogue.Catalogue{n.sanctions.engine.Catalogue()}
		if d, err := catalogue.Default(); err == nil && d.Digest() != out[0].Digest() {
			out = append(out, d)
		}
		return out
	}
	return n.sanctions.cats.All()
}

// handleCatalogue is GET /v1/catalogue. Public: catalogues hold no personal data.
func (n *Node) handleCatalogue(w http.ResponseWriter, r *http.Request) {
	st, err := n.CatalogueState()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// catalogueNames lists the known catalogues for an error message.
func (n *Node) catalogueNames() string {
	var names []string
	for _, c := range n.knownCatalogues() {
		names = append(names, fmt.Sprintf("version %s sha256 %s", c.Version(), c.Digest()))
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
