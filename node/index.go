package node

import (
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// The subject, reference, governance and check indexes are package
// index's (its doc gives the buckets byte by byte); this file wires the
// node's parts into its per-entry steps, and keeps the names the rest of
// the node reads them with.

// Buckets of package index the node reads (read.go, web.go).
const (
	bucketSubjects = index.BucketSubjects
	bucketBad      = index.BucketBad
)

// Kind bytes of package index the node reads (register.go, subject.go).
const (
	kListing     = index.KListing
	kResponsible = index.KResponsible
)

func entryKey(origin string, index uint64) []byte { return exchange.EntryKey(origin, index) }

func splitEntryKey(k []byte) (origin string, index uint64, ok bool) { return exchange.SplitEntryKey(k) }

// subjectKey is a key a listing is indexed under (index.SubjectKey).
type subjectKey struct {
	key         string
	responsible bool
}

func listingSubjectKeys(l *schemas.Listing) []subjectKey {
	var out []subjectKey
	for _, k := range index.ListingSubjectKeys(l) {
		out = append(out, subjectKey{key: k.Key, responsible: k.Responsible})
	}
	return out
}

// indexer is the node's side of the indexer: the steps package index runs
// per entry that other parts of the node own (their methods are in the
// files of those parts), in the FSM's transaction.
type indexer struct {
	node *Node
	*index.Indexer
}

// newIndexer returns n's indexer. n's origins, logger and exchange must
// be set; its FSM and sanctions state are read when entries are indexed.
func newIndexer(n *Node) *indexer {
	ix := &indexer{node: n}
	st := index.Steps{
		Access: n.access, Origin: n.origin,
		NoticeQueue: bucketNoticeQueue, Notices: bucketNotices, // sanctions.go
		NotApplied:        ix.notApplied,  // notapplied.go
		QueueValue:        ix.queueValue,  // adopted.go
		OwnNoticeLog:      n.ownNoticeLog, // loop.go
		ProvisionalNotice: ix.indexProvisionalNotice,
		CatalogueAdopt:    ix.indexCatalogueAdopt,
		CalendarAdopt:     ix.indexCalendarAdopt,
		Keyring: func(i uint64, g *schemas.Governance, keyID string) error {
			return n.keyring.Load().Apply(i, g, keyID)
		},
		MirroredDuplicate: ix.mirroredDuplicate, // dedupe.go
		Change:            ix.indexChange,       // changes.go
		Conflicts:         ix.indexConflicts,    // conflicts.go
		Logger:            n.logger,
	}
	if x := n.x; x != nil {
		st.Reconcile = func(tx *ledger.Tx, reindex func(string, uint64, [][]byte) error) error {
			return x.ReconcileSchemas(tx, n.fsm.now, reindex)
		}
	}
	ix.Indexer = index.New(st)
	return ix
}

// parsedIndexer is an Indexer that takes entries the FSM already parsed
// (applyAppend), so that each entry is parsed once on the apply path.
type parsedIndexer interface {
	IndexParsed(tx *ledger.Tx, origin string, first uint64, entries [][]byte, parsed []index.Parsed) error
	// ParsedFor returns the parse of entry e (leaf hash leaf) if admission
	// on this replica made one, else parses e itself.
	ParsedFor(leaf tlog.Hash, e []byte) index.Parsed
}

// history is index.History; n.history (owner_history.go) refines it.
func history(tx *ledger.ReadTx, origin string, idx uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	return index.History(tx, origin, idx, l)
}

// subjectHistories returns the histories of every listing indexed under
// key by the history walk (index.SubjectHistories).
func (n *Node) subjectHistories(tx *ledger.ReadTx, key string) ([]sanctions.ListingHistory, error) {
	return index.SubjectHistories(tx, key, n.history)
}

// checkHistories is subjectHistories from the check index when it is
// complete (index.CheckHistories).
func (n *Node) checkHistories(tx *ledger.ReadTx, key string) ([]sanctions.ListingHistory, error) {
	return index.CheckHistories(tx, key, nil, n.history)
}

// rebuildKeyring replays the governance index of the region's own ledger into
// a fresh keyring (at start-up and after a snapshot restore).
func (n *Node) rebuildKeyring() error {
	anchors, err := parseAnchors(n.cfg.Region, n.cfg.Anchors)
	if err != nil {
		return err
	}
	kr, err := schemas.NewKeyring(anchors)
	if err != nil {
		return err
	}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		return index.ReplayGovernance(tx, n.origin, func(i uint64, g *schemas.Governance, keyID string) {
			if err := kr.Apply(i, g, keyID); err != nil {
				n.logger.Warn("governance record not applied to keyring", "index", i, "err", err)
			}
		})
	})
	if err != nil {
		return err
	}
	n.keyring.Store(kr)
	return nil
}
