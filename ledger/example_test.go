package ledger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// A node appends admitted records and updates its own index in the same
// transaction, then signs a checkpoint covering them.
func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "ledger-example")
	defer os.RemoveAll(dir)
	s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	const origin = "creditx.330000/ledger"
	skey, vkey, _ := ledger.GenerateKey(origin, rand.Reader)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)

	records := [][]byte{[]byte(`{"schema":"listing/v1","n":1}`), []byte(`{"schema":"listing/v1","n":2}`)}
	err = s.Update(func(tx *ledger.Tx) error {
		first, err := tx.Append(origin, records)
		if err != nil {
			return err // nothing is written
		}
		idx, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		if err := idx.Put([]byte("subject-1"), fmt.Appendf(nil, "%d", first)); err != nil {
			return err
		}
		r := tx.Log(origin)
		root, err := r.TreeHash(r.Size())
		if err != nil {
			return err
		}
		cp, err := ledger.SignCheckpoint(signer, origin, r.Size(), root)
		if err != nil {
			return err
		}
		return tx.SetCheckpoint(origin, cp, verifier)
	}) // returns nil only after fsync
	if err != nil {
		log.Fatal(err)
	}
	l := s.Log(origin)
	size, _ := l.Size()
	i, ok, _ := l.LeafIndex(ledger.LeafHash(records[1]))
	fmt.Println(size, i, ok)
	// Output: 2 1 true
}

// An auditor verifies an exported ledger offline, checking every entry.
func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "ledger-example")
	defer os.RemoveAll(dir)
	s, _ := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
	defer s.Close()
	const origin = "creditx.310000/ledger"
	skey, vkey, _ := ledger.GenerateKey(origin, rand.Reader)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	s.Update(func(tx *ledger.Tx) error {
		for i := 0; i < 300; i++ {
			if _, err := tx.Append(origin, [][]byte{fmt.Appendf(nil, "record %d", i)}); err != nil {
				return err
			}
		}
		root, _ := tx.Log(origin).TreeHash(300)
		cp, _ := ledger.SignCheckpoint(signer, origin, 300, root)
		return tx.SetCheckpoint(origin, cp, verifier)
	})
	export := filepath.Join(dir, "export")
	if err := ledger.Export(context.Background(), s.Log(origin), export, vkey); err != nil {
		log.Fatal(err)
	}

	src := ledger.DirSource(export)
	signed, _ := src.Checkpoint()
	checked := 0
	cp, err := ledger.Verify(context.Background(), src, signed, origin, verifier,
		func(index uint64, entry []byte) error {
			checked++ // verify the record's signature and schema here
			return nil
		}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cp.Origin, cp.Size, checked)
	// Output: creditx.310000/ledger 300 300
}
