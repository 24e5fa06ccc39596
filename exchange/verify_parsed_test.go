package exchange

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"reflect"
	"testing"

	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// TestCheckBatchParsedIsParseDecode: the parse CheckBatchParsed returns
// for each entry it verified is the one schemas.ParseDecode makes of the
// same bytes (what the FSM's indexer would otherwise compute), a record of
// an unknown schema comes back without a record, and a failing batch
// returns no parses.
func TestCheckBatchParsedIsParseDecode(t *testing.T) {
	fx := newEntryFixture(t)
	batch := append([][]byte(nil), fx.entries...)
	unknown := []byte(`{"key":"` + schemas.KeyID(fx.pub.Public().(ed25519.PublicKey)) + `","record":{"schema":"nope/v9"},"sig":"` +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + `"}`)
	if _, err := schemas.ParseSigned(unknown); err != nil {
		t.Fatalf("test entry of an unknown schema: %v", err)
	}
	v, _ := NewEntryVerifier(fx.m, fx.mb)
	acc, parsed, err := v.CheckBatchParsed(0, batch)
	if err != nil || len(parsed) != len(batch) || len(acc) != len(batch) {
		t.Fatalf("CheckBatchParsed = %d accepted, %d parsed, %v", len(acc), len(parsed), err)
	}
	for i, e := range batch {
		s, rec, err := schemas.ParseDecode(e)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(parsed[i].Signed, s) || !reflect.DeepEqual(parsed[i].Rec, rec) {
			t.Errorf("entry %d: verifier's parse differs from ParseDecode's", i)
		}
	}
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	bad := append(append([][]byte(nil), batch...), fx.listing(t, 77, rogue, "330000"))
	v2, _ := NewEntryVerifier(fx.m, fx.mb)
	if _, parsed, err := v2.CheckBatchParsed(0, bad); err == nil || parsed != nil {
		t.Fatalf("batch with a bad signature: parsed %d, err %v", len(parsed), err)
	}
	// Signature bytes are checked after the parse: an entry of an unknown
	// schema with a bad signature fails the batch too.
	v3, _ := NewEntryVerifier(fx.m, fx.mb)
	if _, parsed, err := v3.CheckBatchParsed(0, append(append([][]byte(nil), batch...), unknown)); err == nil || parsed != nil {
		t.Fatalf("unknown schema with a bad signature: parsed %d, err %v", len(parsed), err)
	}
}

// TestFrontierAppendLeaf: appending an entry's leaf hash is appending the entry.
func TestFrontierAppendLeaf(t *testing.T) {
	a, b := NewFrontier(), NewFrontier()
	for i := range 300 {
		e := fmt.Appendf(nil, "entry %d", i)
		a.AppendEntry(e)
		b.AppendLeaf(tlog.RecordHash(e))
		if a.Root() != b.Root() || a.Size() != b.Size() {
			t.Fatalf("after %d entries: AppendLeaf root %x, AppendEntry %x", i+1, b.Root(), a.Root())
		}
	}
	b.AppendLeaf(tlog.RecordHash([]byte("other")))
	a.AppendEntry([]byte("another"))
	if a.Root() == b.Root() {
		t.Fatal("different entries, same root")
	}
}
