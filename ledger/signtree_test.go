package ledger

import "testing"

func TestCheckpointTree(t *testing.T) {
	const origin = "example.com/signtree"
	s := openTest(t)
	k := newKeys(t, origin)
	appendN(t, s, origin, 0, 5)
	var size uint64
	var cp []byte
	if err := s.Update(func(tx *Tx) (err error) { size, cp, err = tx.CheckpointTree(origin, k.signer, k.verifier); return err }); err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(cp, origin, k.verifier)
	if err != nil || size != 5 || got.Size != 5 {
		t.Fatalf("size %d, checkpoint %+v, %v", size, got, err)
	}
	if err := s.View(func(tx *ReadTx) error {
		latest, err := tx.Log(origin).Checkpoint()
		if err == nil && string(latest) != string(cp) {
			t.Errorf("stored checkpoint is not the one returned")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other := newKeys(t, origin)
	if err := s.Update(func(tx *Tx) error { _, _, err := tx.CheckpointTree(origin, other.signer, k.verifier); return err }); err == nil {
		t.Fatal("a checkpoint the verifier rejects was stored")
	}
}
