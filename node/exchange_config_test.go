package node

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// TestLoopKeyLoadedOnce: the loop key New loads for the FSM (addLoopLog)
// is the very signer and verifier the exchange runtime is configured with,
// not a second read of keys/loop.key; with sanctions.loop_log off the file
// is not read at all (a missing one is no error) and the runtime gets no
// loop key.
func TestLoopKeyLoadedOnce(t *testing.T) {
	dir := t.TempDir()
	lo := schemas.LoopOrigin("330000")
	skey, vkey, err := ledger.GenerateKey(lo, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "loop.key")
	if err := os.WriteFile(keyPath, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loop.vkey"), []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Node{origin: schemas.LedgerOrigin("330000"), cfg: Config{Region: "330000", Exchange: &ExchangeConfig{}}}
	n.cfg.Sanctions.LoopLog, n.cfg.Sanctions.LoopKey = true, keyPath
	logs := map[string]signingLog{}
	if err := n.addLoopLog(logs); err != nil {
		t.Fatal(err)
	}
	l, ok := logs[lo]
	if !ok || l.signer.Name() != lo {
		t.Fatalf("addLoopLog: %v, want the key of %s", logs, lo)
	}
	xc := exchangeConfig(n, logs)
	if xc.LoopSigner != l.signer || xc.LoopVerifier != l.verifier {
		t.Errorf("the exchange runtime's loop key is not the one New loaded for the FSM (read twice?)")
	}

	n.cfg.Sanctions.LoopLog, n.cfg.Sanctions.LoopKey = false, filepath.Join(dir, "missing.key")
	logs = map[string]signingLog{}
	if err := n.addLoopLog(logs); err != nil || len(logs) != 0 {
		t.Errorf("addLoopLog with the loop log off: %v, %v; want nothing read", logs, err)
	}
	if xc := exchangeConfig(n, logs); xc.LoopSigner != nil || xc.LoopVerifier != nil {
		t.Errorf("exchange config with the loop log off has a loop key")
	}
}
