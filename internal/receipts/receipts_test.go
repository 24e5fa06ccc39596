package receipts

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestBuild(t *testing.T) {
	const origin = "creditx.330000/ledger"
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	entries := [][]byte{[]byte(`{"a":0}`), []byte(`{"a":1}`), []byte(`{"a":2}`)}
	var cp []byte
	var root tlog.Hash
	err = s.Update(func(tx *ledger.Tx) error {
		if _, err := tx.Append(origin, entries); err != nil {
			return err
		}
		if root, err = tx.Log(origin).TreeHash(3); err != nil {
			return err
		}
		if cp, err = ledger.SignCheckpoint(signer, origin, 3, root); err != nil {
			return err
		}
		return tx.SetCheckpoint(origin, cp, verifier)
	})
	if err != nil {
		t.Fatal(err)
	}
	resigned := []byte(`{"a":2,"sig":"other"}`) // a re-signed copy of entry 2
	a := Appended{Origin: origin, Indices: []uint64{0, 2}, Fresh: []bool{true, false}, Size: 3, Checkpoint: cp}
	var rs []api.Receipt
	err = s.View(func(tx *ledger.ReadTx) (err error) {
		rs, err = Build(tx, a, [][]byte{entries[0], resigned})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{entries[0], entries[2]} {
		r := rs[i]
		lh := tlog.RecordHash(want)
		if r.LeafHash != hex.EncodeToString(lh[:]) || r.Index != a.Indices[i] || r.Duplicate == a.Fresh[i] || r.Checkpoint != string(cp) {
			t.Fatalf("receipt %d: %+v", i, r)
		}
		var p tlog.RecordProof
		for _, h := range r.InclusionProof {
			b, _ := base64.StdEncoding.DecodeString(h)
			p = append(p, tlog.Hash(b))
		}
		if err := tlog.CheckRecord(p, 3, root, int64(r.Index), lh); err != nil {
			t.Fatalf("receipt %d proof: %v", i, err)
		}
		if _, err := ledger.ParseProof([]byte(r.Proof)); err != nil {
			t.Fatalf("receipt %d proof text: %v", i, err)
		}
	}
	// The receipts of one append share one copy of its checkpoint (a
	// batch's receipts each copied it, issue 20).
	if unsafe.StringData(rs[0].Checkpoint) != unsafe.StringData(rs[1].Checkpoint) {
		t.Error("each receipt has a copy of the checkpoint of its own")
	}
}
