package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/creditx/creditx/exchange"
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
func loadWitnessLogs(m *exchange.Manifest, logs []WitnessLogConfig) (map[string]note.Verifier, error) {
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
		out[l.Origin] = v
	}
	return out, nil
}

// witnessTarget is what the witness knows of an origin it may cosign.
type witnessTarget struct {
	origin string
	v      note.Verifier
	member *exchange.Member // nil for a witness_logs entry
}

// witnessTarget returns the log an add-checkpoint request names, if this
// witness knows it: an effective member's ledger other than our own, or a
// witness_logs entry.
func (x *exchangeNode) witnessTarget(origin string) (witnessTarget, bool) {
	if v, ok := x.open[origin]; ok {
		return witnessTarget{origin: origin, v: v}, true
	}
	mb, ok := x.m().MemberByOrigin(origin) // membership_live.go
	if !ok || mb.Code == x.self.Code || !x.effective()[mb.Code] {
		return witnessTarget{}, false
	}
	return witnessTarget{origin: origin, v: mb.LogVerifier(), member: mb}, true
}

// handleWitnessMonitor serves C2SP tlog-witness's monitoring API, public:
// GET /witness/<lower-case hex SHA-256 of the origin>/checkpoint answers the
// latest checkpoint this witness cosigned for that log, with the log's
// signature and this witness's cosignature; 404 if it never cosigned one.
func (n *Node) handleWitnessMonitor(w http.ResponseWriter, r *http.Request) {
	if n.x == nil {
		http.NotFound(w, r)
		return
	}
	want, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(want) != sha256.Size || strings.ToLower(r.PathValue("hash")) != r.PathValue("hash") {
		http.Error(w, "origin hash must be the lower-case hex SHA-256 of the origin", http.StatusNotFound)
		return
	}
	var found []byte
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketWitness)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if h := sha256.Sum256(k); bytes.Equal(h[:], want) {
				ws, err := decodeWitnessState(v)
				if err != nil {
					return err
				}
				found = ws.note
			}
			return nil
		})
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if found == nil {
		http.Error(w, "this witness never cosigned a checkpoint for that log", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(found)
}
