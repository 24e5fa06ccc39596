// Package index owns the derived indexes a region replica keeps of the
// ledgers it holds (its own and the mirrored ones), and the reads that
// answer a subject check from them ([Check]; the batch request and the
// error answers of GET and POST /v1/check, [ParseBatchCheck] and
// [CheckErrorBody], which write nothing).
//
// The FSM of package node calls [Indexer.IndexParsed] inside the bbolt
// transaction that appends the entries, so an index never runs ahead of or
// behind the ledger: a crash before the commit loses both, after it keeps
// both. Every replica parses the same bytes ([Parse] is a pure function of
// them) and so writes the same index.
//
// It owns these ledger.db buckets; changing a name or layout breaks
// existing data directories (bump the index version and rebuild instead):
//
//	subjects:   subject key || 0x00 || origin || 0x00 || uint64 BE index -> kind byte
//	            (subject key = USCC, or "h1:<hex>" keyed hash of a citizen ID;
//	             responsible persons of a listed enterprise are indexed too,
//	             with kind KResponsible)
//	refs:       origin || 0x00 || uint64 BE target index || origin || 0x00 || uint64 BE index -> kind byte
//	            (every event that references an earlier one: notices, feedback,
//	             objections, decisions, repairs, corrections)
//	gov:        origin || 0x00 || uint64 BE index -> signer key id (governance records, in order);
//	            the bucket's sequence counts the member_approve, member_remove and
//	            schema_adopt records indexed (the adopted set's key, exchange/adopt.go)
//	bad:        origin || 0x00 || uint64 BE index -> reason (entries that did not decode; never indexed)
//	checkstate: the check index, a derived copy of each listing under its
//	            subject keys (layout in checkindex.go, [BucketCheck])
//
// The kind bytes are KListing..KResponsible (1..9), in that order.
//
// Per entry, the indexer also runs the steps other packages own (notice
// queue, changes feed, conflicts, adopted catalogues and calendars, the
// keyring), which the node passes in [Steps]; their buckets are theirs.
//
// # Failures
//
// An entry that does not parse or decode is recorded in the bad bucket
// with the reason and otherwise not indexed: data problems are never
// returned, so every replica applies the same log the same way. Storage
// errors (and those of the steps) are returned; the caller's transaction
// then fails as a whole and nothing of it is written.
//
// Reads ([SubjectHistories], [CheckHistories], [Check]) never skip a
// listing or event they cannot read: that is an error (wrapping
// ledger.ErrDamaged where an index value contradicts the ledger), since a
// check answered without it could say "allowed" of a restricted subject.
// TestCheckIndexAnswersAsHistoryWalk (package node) proves that the check
// index answers as the history walk does.
package index

import "github.com/creditx/creditx/exchange"

// Bucket names (see the package doc for their layouts).
const (
	BucketSubjects = "subjects"
	BucketRefs     = "refs"
	BucketGov      = exchange.BucketGov
	BucketBad      = "bad"
)

// Kind bytes stored in the subjects, refs and checkstate buckets.
const (
	KListing byte = 1 + iota
	KNotice
	KFeedback
	KObjection
	KDecision
	KRepair
	KCorrection
	KGovernance
	KResponsible // a listing, indexed under a responsible person of the subject
)

// kindByte maps a record kind to its kind byte.
var kindByte = map[string]byte{
	"listing": KListing, "sanction_notice": KNotice, "feedback": KFeedback, "objection": KObjection,
	"objection_decision": KDecision, "repair": KRepair, "correction": KCorrection, "governance": KGovernance,
}

// KindName maps a kind byte to its record kind (KResponsible is absent:
// it is a listing, read through the subjects index only).
func KindName(b byte) string {
	switch b {
	case KListing:
		return "listing"
	case KNotice:
		return "sanction_notice"
	case KFeedback:
		return "feedback"
	case KObjection:
		return "objection"
	case KDecision:
		return "objection_decision"
	case KRepair:
		return "repair"
	case KCorrection:
		return "correction"
	case KGovernance:
		return "governance"
	}
	return ""
}

func entryKey(origin string, index uint64) []byte { return exchange.EntryKey(origin, index) }

func splitEntryKey(k []byte) (origin string, index uint64, ok bool) { return exchange.SplitEntryKey(k) }
