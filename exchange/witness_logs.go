package exchange

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/creditx/creditx/internal/sigmemo"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// WitnessLogConfig is a log this member witnesses although it is not a
// consortium member's ledger (exchange.witness_logs in the node config): a
// Tessera log, a public log, another consortium's ledger. Any caller may
// submit its checkpoints (C2SP tlog-witness: "There is no authentication of
// requests beyond the validation of the signature on the checkpoint"); the
// witness cosigns a checkpoint only if the log's key signed it and it is
// consistent with the last one cosigned for the origin, which is kept in raft
// (the witness bucket, op 3, like the members' ledgers).
//
//	exchange:
//	  witness_logs:
//	    - origin: example.com/log          # the checkpoint's origin line; unique, not a member ledger
//	      vkey: example.com/log+1a2b3c4d+AR...  # the log's signed-note Ed25519 vkey (x/mod note)
type WitnessLogConfig struct {
	Origin string `yaml:"origin"`
	VKey   string `yaml:"vkey"`
}

// MonitorPathPrefix is the witness's monitoring prefix (C2SP tlog-witness,
// "GET <monitoring prefix>/<origin hash>/checkpoint").
const MonitorPathPrefix = "/witness/"

// ErrWitnessLog is wrapped by every refusal of a witness_logs entry.
var ErrWitnessLog = errors.New("invalid exchange.witness_logs")

// loadWitnessLogs checks the configured witness_logs and returns origin ->
// log key. An entry whose origin is a consortium member's ledger, is listed
// twice, or whose vkey does not parse is refused with the index and field.
func loadWitnessLogs(m *Manifest, logs []WitnessLogConfig) (map[string]note.Verifier, error) {
	out := map[string]note.Verifier{}
	for i, l := range logs {
		at := fmt.Sprintf("exchange.witness_logs[%d]", i)
		if l.Origin == "" || strings.ContainsAny(l.Origin, "\n") || len(l.Origin) > 255 {
			return nil, fmt.Errorf("%w: %s.origin: %q is not an origin line", ErrWitnessLog, at, l.Origin)
		}
		if _, ok := m.MemberByOrigin(l.Origin); ok {
			return nil, fmt.Errorf("%w: %s.origin: %q is a member's ledger, witnessed as such", ErrWitnessLog, at, l.Origin)
		}
		if _, dup := out[l.Origin]; dup {
			return nil, fmt.Errorf("%w: %s.origin: %q is listed twice", ErrWitnessLog, at, l.Origin)
		}
		v, err := note.NewVerifier(strings.TrimSpace(l.VKey))
		if err != nil {
			return nil, fmt.Errorf("%w: %s.vkey: not a signed-note verifier key: %v", ErrWitnessLog, at, err)
		}
		out[l.Origin] = sigmemo.Wrap(v)
	}
	return out, nil
}

// WitnessTarget is what the witness knows of an origin it may cosign.
type WitnessTarget struct {
	Origin string
	V      note.Verifier
	Member *Member // nil for a witness_logs entry
}

// Target returns the log an add-checkpoint request names, if this witness
// knows it: an effective member's ledger or loop log (with a loop_vkey,
// loop_witness.go) other than our own, or a witness_logs entry.
func (x *Runtime) Target(origin string) (WitnessTarget, bool) {
	if v, ok := x.open[origin]; ok {
		return WitnessTarget{Origin: origin, V: v}, true
	}
	mb, v, ok := x.m().LogOf(origin) // live.go
	if !ok || mb.Code == x.self.Code || !x.effective()[mb.Code] {
		return WitnessTarget{}, false
	}
	return WitnessTarget{Origin: origin, V: v, Member: mb}, true
}

// MonitorCheckpoint is what C2SP tlog-witness's monitoring API serves for
// the log whose origin hashes (SHA-256) to originHash: the latest checkpoint
// this witness cosigned for it, with the log's signature and this witness's
// cosignature; nil if it never cosigned one.
func MonitorCheckpoint(tx *ledger.ReadTx, originHash []byte) ([]byte, error) {
	var found []byte
	b := tx.Bucket(BucketWitness)
	if b == nil {
		return nil, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		if h := sha256.Sum256(k); bytes.Equal(h[:], originHash) {
			ws, err := decodeWitnessState(v)
			if err != nil {
				return err
			}
			found = ws.Note
		}
		return nil
	})
	return found, err
}
