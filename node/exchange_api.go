package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"golang.org/x/mod/sumdb/note"
)

// handleWitness is the C2SP tlog-witness add-checkpoint endpoint, served over
// HTTP/3 and HTTPS. A member's ledger is witnessed for its member only (role
// member, of an active member); a log listed in exchange.witness_logs for any
// caller, certificate or not. Status codes are the spec's: 400 malformed (or
// old size above the checkpoint size), 403 no valid signature by the log's
// key, 404 unknown origin, 409 old size mismatch (body: the last cosigned
// size, text/x.tlog.size), 422 inconsistent (a consistency proof that does
// not verify, a proof with old size 0, an empty tree with a non-empty root,
// the same size with another root). A follower forwards the request to the
// leader (the witness state lives in raft), so any replica of a member can be
// its endpoint.
func (n *Node) handleWitness(w http.ResponseWriter, r *http.Request) {
	x := n.x
	if x == nil {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, exchange.MaxAddCheckpointSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	a, err := exchange.ParseAddCheckpoint(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	origin, _, _ := bytes.Cut(a.Checkpoint, []byte("\n"))
	tg, ok := x.witnessTarget(string(origin))
	if !ok {
		http.Error(w, fmt.Sprintf("unknown origin %q", origin), http.StatusNotFound)
		return
	}
	id := pki.IdentityFromRequest(r)
	switch {
	case tg.member == nil && id.Role == pki.RoleReplica && id.Region == n.cfg.Region:
		// a follower of this region forwarded a request for an open log
	case tg.member == nil:
		if !n.IsLeader() {
			n.forwardWitness(w, r, body, "")
			return
		}
	default:
		if id, ok = n.require(w, r, pki.RoleMember, pki.RoleReplica); !ok {
			return
		}
		if id.Role == pki.RoleReplica {
			// a follower of this region forwarded a member's request
			code := r.Header.Get(forwardedMemberHeader)
			if id.Region != n.cfg.Region || code == "" {
				writeErr(w, errorf(http.StatusForbidden, "only a replica of %s may forward witness requests, naming the member", n.cfg.Region))
				return
			}
			id.Region = code
		} else if !n.IsLeader() {
			n.forwardWitness(w, r, body, id.Region)
			return
		}
		if !x.effective()[id.Region] {
			writeErr(w, errorf(http.StatusForbidden, "member %s is not an active, approved member", id.Region))
			return
		}
	}
	cp, err := ledger.OpenCheckpoint(a.Checkpoint, tg.origin, tg.v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if a.OldSize > cp.Size {
		http.Error(w, fmt.Sprintf("old size %d exceeds checkpoint size %d", a.OldSize, cp.Size), http.StatusBadRequest)
		return
	}
	if tg.member != nil && x.checkEquivocation(cp) {
		http.Error(w, "checkpoint conflicts with what this member saw before; kept as evidence", http.StatusUnprocessableEntity)
		return
	}
	var ws witnessState
	if err := n.fsm.view(func(tx *ledger.ReadTx) error { ws, err = readWitnessState(tx, tg.origin); return err }); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := checkWitness(ws, a.OldSize, a.Proof, cp); err != nil {
		n.witnessRefused(w, x, ws, ws.size, cp, err)
		return
	}
	lines, err := x.cosigner.Cosign(cp.Note)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The stored note keeps the log's signature(s) and this witness's
	// cosignature (what the monitoring API serves), not other cosignatures.
	res, err := x.propose(command{op: opWitness, origin: tg.origin, oldSize: a.OldSize, proof: a.Proof,
		checkpoint: exchange.AddSignatures(logSigned(cp, tg.v), lines)})
	if err != nil {
		http.Error(w, "not committed, retry: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if res.Err != nil {
		n.witnessRefused(w, x, ws, res.Known, cp, res.Err)
		return
	}
	x.cosigned.WithLabelValues(tg.origin).Inc()
	if k := x.kickChan(tg.origin); k != nil {
		select {
		case k <- struct{}{}:
		default:
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(lines)
}

// logSigned is cp's note with only the signature lines of the log's key v.
func logSigned(cp *ledger.Checkpoint, v note.Verifier) []byte {
	out := []byte(cp.Note.Text + "\n")
	for _, s := range cp.Note.Sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			out = append(out, "— "+s.Name+" "+s.Base64+"\n"...)
		}
	}
	return out
}

func (n *Node) witnessRefused(w http.ResponseWriter, x *exchangeNode, ws witnessState, known uint64, cp *ledger.Checkpoint, err error) {
	switch {
	case errors.Is(err, errWitnessOld):
		w.Header().Set("Content-Type", exchange.SizeContentType)
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "%d\n", known)
	case errors.Is(err, errInconsistent):
		x.raiseAlert(exchange.Evidence{Kind: exchange.AlertEquivocation, Origin: cp.Origin, Reason: err.Error(),
			Items: [][]byte{ws.note, cp.Signed}})
		http.Error(w, err.Error()+"; kept as evidence", http.StatusUnprocessableEntity)
	default:
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
	}
}

// AlertView is one alert as GET /v1/alerts shows it.
type AlertView struct {
	Seq      uint64    `json:"seq"`
	Kind     string    `json:"kind"`
	Origin   string    `json:"origin"`
	Time     time.Time `json:"time"`
	Index    uint64    `json:"index,omitempty"`
	Reason   string    `json:"reason"`
	Evidence []string  `json:"evidence"` // signed notes and entries, verbatim
}

// Alerts returns every recorded alert, oldest first.
func (n *Node) Alerts() ([]AlertView, error) {
	out := []AlertView{}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketAlerts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			ev, err := exchange.DecodeEvidence(v)
			if err != nil {
				return err
			}
			av := AlertView{Seq: binary.BigEndian.Uint64(k), Kind: ev.Kind, Origin: ev.Origin, Time: ev.Time, Index: ev.Index, Reason: ev.Reason}
			for _, it := range ev.Items {
				av.Evidence = append(av.Evidence, string(it))
			}
			out = append(out, av)
			return nil
		})
	})
	return out, err
}

func (n *Node) handleAlerts(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica, pki.RoleMember); !ok {
		return
	}
	as, err := n.Alerts()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// ExchangeStatus is the public summary of a member's exchange state, GET
// /v1/exchange.
type ExchangeStatus struct {
	Region    string         `json:"region"`
	Size      uint64         `json:"size"`      // own ledger
	Witnessed uint64         `json:"witnessed"` // own size stored with a quorum of cosignatures
	Quorum    int            `json:"quorum"`
	Mirrors   []MirrorStatus `json:"mirrors"`
	Alerts    int            `json:"alerts"`
	// AcceptedSchemas are the manifest's accepted_schemas; AdoptedSchemas
	// the versions governance adopted on top (schema_adopt by a quorum of
	// effective members), as this member's FSM applies them. Mirrored
	// entries of any other version are stored but not indexed (Unaccepted).
	AcceptedSchemas []string        `json:"accepted_schemas"`
	AdoptedSchemas  []AdoptedSchema `json:"adopted_schemas"`
}

// MirrorStatus is one mirrored member.
type MirrorStatus struct {
	Code       string `json:"code"`
	Origin     string `json:"origin"`
	Size       uint64 `json:"size"`       // entries verified and stored
	Checkpoint uint64 `json:"checkpoint"` // size of the stored (verified) checkpoint
	Cosigned   uint64 `json:"cosigned"`   // size this member's witness last cosigned
	Unaccepted int    `json:"unaccepted"` // entries stored but not indexed (schema neither accepted nor adopted)
	// UnacceptedSchemas counts the unaccepted entries by schema id.
	UnacceptedSchemas map[string]int `json:"unaccepted_schemas,omitempty"`
	Stopped           bool           `json:"stopped"`   // mirroring stopped by an alert
	Witnessed         bool           `json:"witnessed"` // the stored checkpoint's cosignatures meet the witness_policy's quorum (without one: witness_quorum cosignatures of other members)
	// FetchedBytes is the HTTP/3 body bytes received from this member since
	// the node started (tiles, entry bundles, checkpoints, cosignatures).
	FetchedBytes uint64 `json:"fetched_bytes"`
}

// ExchangeStatus returns the exchange summary (nil without an exchange).
func (n *Node) ExchangeStatus() (*ExchangeStatus, error) {
	x := n.x
	if x == nil {
		return nil, nil
	}
	st := &ExchangeStatus{Region: n.cfg.Region, Quorum: x.manifest.WitnessQuorum, Mirrors: []MirrorStatus{},
		AcceptedSchemas: append([]string{}, x.manifest.AcceptedSchemas...)}
	m := x.m() // membership_live.go: mirrors of members that joined too
	var err error
	st.Size, st.Witnessed, err = x.ownState()
	if err != nil {
		return nil, err
	}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketAlerts); b != nil {
			st.Alerts = b.Stats().KeyN
		}
		st.AdoptedSchemas = readAdopted(tx)
		for i := range m.Members {
			mb := &m.Members[i]
			if mb.Code == x.self.Code {
				continue
			}
			ms := MirrorStatus{Code: mb.Code, Origin: mb.Origin(), Size: tx.Log(mb.Origin()).Size()}
			if c := x.client(mb.Code); c != nil {
				_, ms.FetchedBytes = c.Traffic()
			}
			if cp, err := tx.Log(mb.Origin()).Checkpoint(); err == nil {
				// Checked once per stored checkpoint, not on every status read (issue 20).
				if c, err := x.cpCache.Open(cp, mb.Origin(), mb.LogVerifier()); err == nil {
					ms.Checkpoint = c.Size
				}
				_, ok, err := x.cpCache.Witnessed(m, mb.Code, cp)
				ms.Witnessed = err == nil && ok
			}
			ws, err := readWitnessState(tx, mb.Origin())
			if err != nil {
				return err
			}
			ms.Cosigned = ws.size
			if b := tx.Bucket(bucketStopped); b != nil {
				ms.Stopped = b.Get([]byte(mb.Origin())) != nil
			}
			if b := tx.Bucket(bucketUnaccepted); b != nil {
				prefix := append([]byte(mb.Origin()), 0)
				c := b.Cursor()
				for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
					ms.Unaccepted++
					if ms.UnacceptedSchemas == nil {
						ms.UnacceptedSchemas = map[string]int{}
					}
					ms.UnacceptedSchemas[string(v)]++
				}
			}
			st.Mirrors = append(st.Mirrors, ms)
		}
		return nil
	})
	return st, err
}

func (n *Node) handleExchangeStatus(w http.ResponseWriter, r *http.Request) {
	st, err := n.ExchangeStatus()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	if st == nil {
		writeErr(w, errorf(http.StatusNotFound, "this node is not a consortium member"))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// witnessedCheckpoint returns the own checkpoint stored with a quorum of
// cosignatures, if any.
func (n *Node) witnessedCheckpoint(tx *ledger.ReadTx) []byte {
	b := tx.Bucket(bucketWitnessed)
	if b == nil {
		return nil
	}
	v := b.Get([]byte(n.origin))
	if len(v) <= 8 {
		return nil
	}
	return append([]byte(nil), v[8:]...)
}

// mirrorOrigin maps a member code to a mirrored origin.
func (n *Node) mirrorOrigin(code string) (string, bool) {
	if n.x == nil {
		return "", false
	}
	mb, ok := n.x.cached().Member(code) // membership_live.go
	if !ok || mb.Code == n.cfg.Region {
		return "", false
	}
	return mb.Origin(), true
}
