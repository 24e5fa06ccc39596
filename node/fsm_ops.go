package node

import (
	"fmt"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// opFunc applies one decoded command inside the batch's transaction. A
// returned error is a storage failure (ApplyBatch stops the replica); a
// refused command is reported in applyResult.Err and writes nothing.
type opFunc func(f *fsm, tx *ledger.Tx, c command) (*applyResult, error)

// fsmOps is the FSM's op table: one apply function per op of the raft
// command format (command.go). Ops 2-5 are the exchange's
// (exchange.ApplyMirrorAppend and friends, over the same transaction).
var fsmOps = [...]opFunc{
	opAppend:       (*fsm).applyAppend,
	opMirrorAppend: exchangeOp(exchange.ApplyMirrorAppend),
	opWitness:      exchangeOp(exchange.ApplyWitness),
	opCosigned:     (*fsm).applyCosigned,
	opAlert:        exchangeOp(exchange.ApplyAlert),
	opVaultPut:     (*fsm).applyVault,
	opVaultErase:   (*fsm).applyVault,
	opVaultRotate:  (*fsm).applyVaultRotate,          // vault_fsm.go
	opTokenRevoke:  (*fsm).applyTokenRevoke,          // subject_revoke.go
	opFollow:       exchangeOp(exchange.ApplyFollow), // exchange/loop_follow.go
}

// opOf is the apply function of op (nil: unknown, which decodeCommand
// already refuses).
func opOf(op byte) opFunc {
	if int(op) >= len(fsmOps) {
		return nil
	}
	return fsmOps[op]
}

// exchangeOp adapts an exchange apply function to the op table: the FSM is
// its exchange.Store, the refusal comes back in applyResult.Err.
func exchangeOp(apply exchange.ApplyFunc) opFunc {
	return func(f *fsm, tx *ledger.Tx, c command) (*applyResult, error) {
		res, err := apply(tx, exchangeStore{f}, toExchange(c))
		if err != nil {
			return nil, err
		}
		r := &applyResult{Origin: c.origin, Size: res.Size, Known: res.Known}
		if res.Refused != nil {
			r.Err = res.Refused
		}
		return r, nil
	}
}

// applyCosigned is op 4 (exchange.ApplyCosigned); it also notes the size
// stored, for the long-polls woken after the commit (Applied).
func (f *fsm) applyCosigned(tx *ledger.Tx, c command) (*applyResult, error) {
	r, err := exchangeOp(exchange.ApplyCosigned)(f, tx, c)
	if err != nil || r.Err != nil {
		return r, err
	}
	if f.witnessed == nil {
		f.witnessed = map[string]uint64{}
	}
	f.witnessed[c.origin] = max(f.witnessed[c.origin], r.Size)
	return r, nil
}

// toExchange is the exchange's view of a command of ops 2-5 and 10.
func toExchange(c command) exchange.Command {
	return exchange.Command{Op: exchange.Op(c.op), Origin: c.origin, Entries: c.entries, Checkpoint: c.checkpoint,
		First: c.first, OldSize: c.oldSize, Proof: c.proof, Evidence: c.evidence, Follows: c.follows}
}

// fromExchange is the command of an exchange.Command (the runtime proposes
// these through exchangeHost.Propose).
func fromExchange(c exchange.Command) (command, error) {
	if (c.Op < exchange.OpMirrorAppend || c.Op > exchange.OpAlert) && c.Op != exchange.OpFollow {
		return command{}, fmt.Errorf("%w: %d is not an exchange op", errBadCommand, c.Op)
	}
	return command{op: byte(c.Op), origin: c.Origin, entries: c.Entries, checkpoint: c.Checkpoint,
		first: c.First, oldSize: c.OldSize, proof: c.Proof, evidence: c.Evidence, follows: c.Follows}, nil
}

// exchangeStore is the FSM as the exchange's apply functions see it.
type exchangeStore struct{ f *fsm }

func (s exchangeStore) Peer(tx *ledger.Tx, origin string) (note.Verifier, bool) {
	return s.f.peer(tx, origin)
}

func (s exchangeStore) Signer(origin string) (note.Verifier, bool) {
	sl, ok := s.f.logs[origin]
	return sl.verifier, ok
}

func (s exchangeStore) IndexMirrored(tx *ledger.Tx, origin string, first uint64, entries [][]byte, leaves []tlog.Hash) error {
	return s.f.indexMirrored(tx, origin, first, entries, leaves)
}

// peer is the FSM's log key of a mirrored origin (fsmHost.Peer).
func (f *fsm) peer(tx *ledger.Tx, origin string) (note.Verifier, bool) {
	if f.host == nil {
		return nil, false
	}
	return f.host.Peer(tx, origin)
}

// indexMirrored indexes the accepted entries of a mirror batch (contiguous
// runs) and flags the others in the unaccepted bucket. Each entry is judged
// by the adopted set as of the entries before it: indexing a run that
// completes an adoption updates the set (reconcileSchemas, called by the
// indexer) before the next entry is judged.
func (f *fsm) indexMirrored(tx *ledger.Tx, origin string, first uint64, entries [][]byte, leaves []tlog.Hash) error {
	if f.indexer == nil {
		return nil
	}
	ub, err := tx.Bucket(exchange.BucketUnaccepted)
	if err != nil {
		return err
	}
	// Each entry is parsed once (the mirror verifier's parse of these bytes
	// on this replica, else here) for the schema filter and the indexer.
	pi, _ := f.indexer.(parsedIndexer)
	var parsed []index.Parsed
	if pi != nil {
		parsed = make([]index.Parsed, len(entries))
		for i, e := range entries {
			parsed[i] = pi.ParsedFor(leaves[i], e)
		}
	}
	start := 0
	flush := func(end int) error {
		if end <= start {
			return nil
		}
		if pi != nil {
			return pi.IndexParsed(tx, origin, first+uint64(start), entries[start:end], parsed[start:end])
		}
		return f.indexer.Index(tx, origin, first+uint64(start), entries[start:end])
	}
	for i, e := range entries {
		if f.host == nil {
			break
		}
		var schema string
		if parsed != nil {
			schema = mirroredSchema(parsed[i], e)
		} else {
			schema = exchange.EntrySchema(e)
		}
		ok, err := f.host.Accepts(tx, schema)
		if err != nil {
			return err
		}
		if !ok {
			if err := flush(i); err != nil {
				return err
			}
			if err := ub.Put(entryKey(origin, first+uint64(i)), []byte(schema)); err != nil {
				return err
			}
			start = i + 1
		} else if schema == schemas.SchemaGovernance {
			// It may complete (or undo) an adoption: index the run now so
			// that the next entry is judged by the updated set.
			if err := flush(i + 1); err != nil {
				return err
			}
			start = i + 1
		}
	}
	return flush(len(entries))
}

// mirroredSchema is the schema id of mirrored entry e parsed as pe: its
// record's id if the record decoded strictly (decoding re-encodes it to
// exactly its bytes, so the id is the one its "schema" member names),
// else what exchange.EntrySchema reads from the bytes. Either way a pure
// function of e, so every replica judges alike.
func mirroredSchema(pe index.Parsed, e []byte) string {
	if pe.Err == nil && pe.DecErr == nil && pe.Rec != nil {
		return pe.Rec.SchemaID()
	}
	return exchange.EntrySchema(e)
}
