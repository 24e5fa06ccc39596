package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/note"
)

// adoptionFixture is a three-member consortium (self 330000) whose manifest
// does not accept listing/v1, with the other members' log keys, to build
// mirror commands the FSM verifies.
type adoptionFixture struct {
	m       *exchange.Manifest
	signers map[string]note.Signer        // origin -> log key
	trees   map[string]*exchange.Frontier // origin -> tree of the commands built so far
	key     ed25519.PrivateKey            // signs every record (the FSM does not check)
}

func newAdoptionFixture(t *testing.T) *adoptionFixture {
	t.Helper()
	fx := &adoptionFixture{signers: map[string]note.Signer{}, trees: map[string]*exchange.Frontier{}}
	_, fx.key, _ = ed25519.GenerateKey(rand.Reader)
	m := &exchange.Manifest{Version: 1, AcceptedSchemas: slices.DeleteFunc(schemas.KnownSchemas(), func(s string) bool { return s == schemas.SchemaListing })}
	for i, code := range []string{"310000", "320000", "330000"} {
		ca, err := pki.NewCA(code, "test CA "+code, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		skey, vkey, err := ledger.GenerateKey(schemas.LedgerOrigin(code), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		fx.signers[schemas.LedgerOrigin(code)], _ = note.NewSigner(skey)
		fx.trees[schemas.LedgerOrigin(code)] = exchange.NewFrontier()
		_, wv, err := exchange.GenerateWitnessKey(code, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		m.Members = append(m.Members, exchange.Member{Code: code, Name: "member " + code, Endpoint: fmt.Sprintf("https://127.0.0.1:%d443", i+1),
			LogVKey: vkey, WitnessVKey: wv, CA: string(ca.CertPEM()), Status: exchange.StatusActive,
			Anchors: []exchange.Anchor{{Name: "office", USCC: "11" + code + "MB0000010X", PublicKey: base64.StdEncoding.EncodeToString(pub)}}})
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if fx.m, err = exchange.ParseManifest(b); err != nil {
		t.Fatal(err)
	}
	return fx
}

// node opens an FSM at path wired as a member's (indexer, mirror peers,
// schema filter), without raft or listeners.
func (fx *adoptionFixture) node(t *testing.T, path string) *Node {
	t.Helper()
	n := &Node{origin: schemas.LedgerOrigin("330000"), access: schemas.AccessOrigin("330000"), logger: slog.New(slog.DiscardHandler)}
	x, err := exchange.NewOffline(fx.m, "330000", exchangeHost{n}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.x = x
	n.index = newIndexer(n)
	n.admit = newAdmitter(n, n.index)
	f, err := newFSM(path, ledger.Options{}, fsmConfig{indexer: n.index, host: newFSMHooks(n), logger: n.logger})
	if err != nil {
		t.Fatal(err)
	}
	n.fsm = f
	return n
}

func (fx *adoptionFixture) listing(t *testing.T, code string, i uint64) []byte {
	t.Helper()
	l, err := synth.Listing(i, synth.Options{Region: code, Authority: schemas.Agency{Name: "authority", USCC: synth.EnterpriseUSCC(code, 9)}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, fx.key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (fx *adoptionFixture) adoption(t *testing.T, code, schema string) []byte {
	t.Helper()
	g := &schemas.Governance{Header: schemas.Header{Region: code, Submitter: "11" + code + "MB0000010X", CreatedAt: schemas.NewTime(time.Unix(1e9, 0))},
		Action: schemas.ActionSchemaAdopt, SchemaAdopt: &schemas.SchemaAdopt{Schema: schema}}
	e, err := schemas.Sign(g, fx.key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mirror is raft entry index: a mirror-append of entries to code's ledger,
// with a checkpoint at the new size.
func (fx *adoptionFixture) mirror(t *testing.T, index uint64, code string, entries ...[]byte) *raft.Log {
	t.Helper()
	origin := schemas.LedgerOrigin(code)
	fr := fx.trees[origin]
	first := fr.Size()
	for _, e := range entries {
		fr.AppendEntry(e)
	}
	cp, err := ledger.SignCheckpoint(fx.signers[origin], origin, fr.Size(), fr.Root())
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeCommand(command{op: opMirrorAppend, origin: origin, checkpoint: cp, first: first, entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b, AppendedAt: time.Unix(1e9+int64(index), 0)}
}

func applyAll(t *testing.T, f *fsm, logs ...*raft.Log) {
	t.Helper()
	for i, r := range f.ApplyBatch(logs) {
		if res, ok := r.(*applyResult); ok && res.Err != nil {
			t.Fatalf("raft entry %d: %v", logs[i].Index, res.Err)
		}
	}
}

// dumpIndexes is every bucket the schema decision writes to, with the gov
// sequence.
func dumpIndexes(t *testing.T, f *fsm) string {
	t.Helper()
	var b bytes.Buffer
	f.view(func(tx *ledger.ReadTx) error {
		for _, name := range []string{index.BucketSubjects, index.BucketRefs, index.BucketGov, index.BucketBad, exchange.BucketUnaccepted, exchange.BucketAdopted, bucketNoticeQueue} {
			bk := tx.Bucket(name)
			if bk == nil {
				fmt.Fprintf(&b, "%s: none\n", name)
				continue
			}
			fmt.Fprintf(&b, "%s: seq %d\n", name, bk.Sequence())
			bk.ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "  %q = %q\n", k, v)
				return nil
			})
		}
		return nil
	})
	return b.String()
}

func unaccepted(t *testing.T, f *fsm) []string {
	t.Helper()
	var out []string
	f.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(exchange.BucketUnaccepted); b != nil {
			b.ForEach(func(k, v []byte) error {
				origin, i, _ := splitEntryKey(k)
				out = append(out, fmt.Sprintf("%s/%d=%s", origin, i, v))
				return nil
			})
		}
		return nil
	})
	return out
}

func subjects(t *testing.T, f *fsm) int {
	t.Helper()
	n := 0
	f.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketSubjects); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// TestFSMSchemaAdoptionDeterministic: the schema decision for mirrored
// entries depends only on the raft log. Three FSMs apply the same entries -
// one batch per entry, all in one batch, and two batches with a restart
// between - and end with byte-identical indexes. Along the way: a listing
// (not accepted by the manifest) is flagged; one member's schema_adopt is
// not a quorum; in a batch where a second member's adoption comes between
// two of its listings, the listing before it is flagged and then indexed
// when the quorum completes, the one after it is indexed directly, and the
// first member's flagged listing is indexed too.
func TestFSMSchemaAdoptionDeterministic(t *testing.T) {
	fx := newAdoptionFixture(t)
	logs := []*raft.Log{
		fx.mirror(t, 1, "310000", fx.listing(t, "310000", 1)),
		fx.mirror(t, 2, "310000", fx.adoption(t, "310000", schemas.SchemaListing)),
		fx.mirror(t, 3, "320000", fx.listing(t, "320000", 2), fx.adoption(t, "320000", schemas.SchemaListing), fx.listing(t, "320000", 3)),
	}
	dir := t.TempDir()

	// One batch per entry, checking each decision.
	a := fx.node(t, filepath.Join(dir, "a.db"))
	defer a.fsm.close()
	applyAll(t, a.fsm, logs[0])
	if got := unaccepted(t, a.fsm); !slices.Equal(got, []string{"creditx.310000/ledger/0=listing/v1"}) || subjects(t, a.fsm) != 0 {
		t.Fatalf("after a listing of a schema not accepted: unaccepted %v, %d subject keys", got, subjects(t, a.fsm))
	}
	applyAll(t, a.fsm, logs[1])
	if got := unaccepted(t, a.fsm); len(got) != 1 {
		t.Fatalf("one adoption of three members: unaccepted %v", got)
	}
	if st := readAdoptedT(t, a.fsm); len(st) != 0 {
		t.Fatalf("adopted after one member's record: %v", st)
	}
	applyAll(t, a.fsm, logs[2])
	if got := unaccepted(t, a.fsm); len(got) != 0 {
		t.Fatalf("after the quorum: unaccepted %v, want none", got)
	}
	st := readAdoptedT(t, a.fsm)
	if len(st) != 1 || st[0].Schema != schemas.SchemaListing || !st[0].Since.Equal(logs[2].AppendedAt) {
		t.Fatalf("adopted = %+v, want listing/v1 since the raft time of entry 3", st)
	}
	if n := subjects(t, a.fsm); n != 3 {
		t.Fatalf("%d subject keys, want the 3 listings", n)
	}

	// All in one batch.
	b := fx.node(t, filepath.Join(dir, "b.db"))
	defer b.fsm.close()
	applyAll(t, b.fsm, logs...)

	// Two batches, the FSM reopened between them (no state but ledger.db).
	c := fx.node(t, filepath.Join(dir, "c.db"))
	applyAll(t, c.fsm, logs[:2]...)
	c.fsm.close()
	c = fx.node(t, filepath.Join(dir, "c.db"))
	defer c.fsm.close()
	applyAll(t, c.fsm, logs[2:]...)

	want := dumpIndexes(t, a.fsm)
	for name, other := range map[string]*fsm{"one batch": b.fsm, "restarted": c.fsm} {
		if got := dumpIndexes(t, other); got != want {
			t.Errorf("%s: indexes differ from one batch per entry:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func readAdoptedT(t *testing.T, f *fsm) []AdoptedSchema {
	t.Helper()
	var out []AdoptedSchema
	f.view(func(tx *ledger.ReadTx) error {
		out = exchange.ReadAdopted(tx)
		return nil
	})
	return out
}

// TestFSMMirroredReSignedListing: a listing another member's ledger holds
// twice (the same record signed again) is indexed for checks but queues
// notices once (issue 11 item 5, dedupe.go).
func TestFSMMirroredReSignedListing(t *testing.T) {
	fx := newAdoptionFixture(t)
	first := fx.listing(t, "310000", 1)
	s, _ := schemas.ParseSigned(first)
	rec, _ := s.Decode()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	again, err := schemas.Sign(rec, other)
	if err != nil {
		t.Fatal(err)
	}
	n := fx.node(t, filepath.Join(t.TempDir(), "a.db"))
	defer n.fsm.close()
	applyAll(t, n.fsm,
		fx.mirror(t, 1, "310000", first, again),
		fx.mirror(t, 2, "310000", fx.adoption(t, "310000", schemas.SchemaListing)),
		fx.mirror(t, 3, "320000", fx.adoption(t, "320000", schemas.SchemaListing)))
	queued := 0
	n.fsm.view(func(tx *ledger.ReadTx) error {
		if q := tx.Bucket(bucketNoticeQueue); q != nil {
			q.ForEach(func(k, _ []byte) error { queued++; return nil })
		}
		return nil
	})
	if queued != 1 {
		t.Fatalf("%d listings queued for notices, want 1 (the re-signed copy is the same listing)", queued)
	}
}
