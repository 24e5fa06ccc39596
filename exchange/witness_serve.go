package exchange

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/creditx/creditx/ledger"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
)

// ServeCosign is the witness decision of the C2SP tlog-witness
// add-checkpoint endpoint for a request the replica admitted (caller
// checked, this replica the leader; the node's handler does both): the
// checkpoint must be signed by tg's key, consistent with the one last
// cosigned for tg (checkWitness) and, for a member's ledger, with every
// checkpoint and mirror this member holds of it (checkEquivocation). The
// cosignature is answered only once OpWitness is committed. Status codes
// are the spec's: 403 no valid signature by the log's key, 400 old size
// above the checkpoint size, 409 old size mismatch (body: the last cosigned
// size, text/x.tlog.size), 422 inconsistent (kept as evidence).
func (x *Runtime) ServeCosign(ctx context.Context, w http.ResponseWriter, tg WitnessTarget, a AddCheckpoint) {
	cp, err := ledger.OpenCheckpoint(a.Checkpoint, tg.Origin, tg.V)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if a.OldSize > cp.Size {
		http.Error(w, fmt.Sprintf("old size %d exceeds checkpoint size %d", a.OldSize, cp.Size), http.StatusBadRequest)
		return
	}
	if tg.Member != nil {
		if bad, err := x.checkEquivocation(cp); err != nil {
			x.logger.Error("witness: reading own state failed", "origin", tg.Origin, "err", err)
			http.Error(w, "this member could not read its own state; try again", http.StatusInternalServerError)
			return
		} else if bad {
			http.Error(w, "checkpoint conflicts with what this member saw before; kept as evidence", http.StatusUnprocessableEntity)
			return
		}
	}
	var ws WitnessState
	if err := x.host.View(func(tx *ledger.ReadTx) error { ws, err = ReadWitnessState(tx, tg.Origin); return err }); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := checkWitness(ws, a.OldSize, a.Proof, cp); err != nil {
		x.witnessRefused(w, ws, ws.Size, cp, err)
		return
	}
	lines, err := x.cosigner.Cosign(cp.Note)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The stored note keeps the log's signature(s) and this witness's
	// cosignature (what the monitoring API serves), not other cosignatures.
	res, err := x.propose(ctx, Command{Op: OpWitness, Origin: tg.Origin, OldSize: a.OldSize, Proof: a.Proof,
		Checkpoint: AddSignatures(logSigned(cp, tg.V), lines)})
	if err != nil {
		http.Error(w, "not committed, retry: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if res.Refused != nil {
		x.witnessRefused(w, ws, res.Known, cp, res.Refused)
		return
	}
	x.cosigned.WithLabelValues(tg.Origin).Inc()
	if k := x.kickChan(tg.Origin); k != nil {
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

func (x *Runtime) witnessRefused(w http.ResponseWriter, ws WitnessState, known uint64, cp *ledger.Checkpoint, err error) {
	switch {
	case errors.Is(err, ErrWitnessOld):
		w.Header().Set("Content-Type", SizeContentType)
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "%d\n", known)
	case errors.Is(err, ErrInconsistent):
		x.raiseAlert(Evidence{Kind: AlertEquivocation, Origin: cp.Origin, Reason: err.Error(),
			Items: [][]byte{ws.Note, cp.Signed}})
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

// ReadAlerts returns every recorded alert, oldest first.
func ReadAlerts(tx *ledger.ReadTx) ([]AlertView, error) {
	out := []AlertView{}
	b := tx.Bucket(BucketAlerts)
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		ev, err := DecodeEvidence(v)
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
	return out, err
}

// Status is the public summary of a member's exchange state, GET
// /v1/exchange.
type Status struct {
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
	// Loop is this member's own loop log when it is witnessed
	// (loop_witness.go); absent otherwise.
	Loop *OwnLoopStatus `json:"loop,omitempty"`
}

// The states of a mirror (MirrorStatus.State).
const (
	// MirrorStopped: an alert stopped mirroring (Stopped).
	MirrorStopped = "stopped"
	// MirrorNoCheckpoint: nothing is mirrored because there is nothing to
	// mirror yet: the origin answered 404 for its checkpoint at this
	// replica's latest attempt, and this member's witness has cosigned
	// none. Not a failure; the mirror starts when the origin publishes its
	// first checkpoint (the watch loop's long-poll, or a cosignature by
	// this member's witness, wakes it), and the state clears then. Only
	// the leader (which runs the mirror loops) can report it.
	MirrorNoCheckpoint = "origin has no checkpoint yet"
	// MirrorMirroring: any other case; Size, Checkpoint and Witnessed
	// say how far the mirror is.
	MirrorMirroring = "mirroring"
)

// MirrorStatus is one mirrored member.
type MirrorStatus struct {
	Code   string `json:"code"`
	Origin string `json:"origin"`
	// State is MirrorStopped, MirrorNoCheckpoint or MirrorMirroring.
	State      string `json:"state"`
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
	// Redials is how many times this member's client of that member
	// discarded its connection after a failed request (each a new QUIC
	// connection and TLS handshake) since the node started.
	Redials uint64 `json:"redials"`
	// Loop is the member's loop log as this member follows it; absent when
	// the manifest gives it no loop_vkey (loop_follow.go).
	Loop *LoopStatus `json:"loop,omitempty"`
}

// Status returns the exchange summary.
func (x *Runtime) Status() (*Status, error) {
	return x.status("", true)
}

// OwnStatus is Status without the mirrors (its own ledger and loop log,
// alerts and schemas): what a caller polling many members for their own
// state reads (creditx bench delta).
func (x *Runtime) OwnStatus() (*Status, error) { return x.status("", false) }

// MirrorStatusOf is the status of this member's mirror of member code
// (nil if code is not another member), without reading the others: what
// a caller waiting for one origin at many members reads (creditx bench
// delta's propagation probes read it every 20 ms).
func (x *Runtime) MirrorStatusOf(code string) (*MirrorStatus, error) {
	if code == "" || code == x.self.Code {
		return nil, nil
	}
	st, err := x.status(code, true)
	if err != nil || len(st.Mirrors) == 0 {
		return nil, err
	}
	return &st.Mirrors[0], nil
}

// status is Status with every mirror (only == "", mirrors), the mirror of
// member only, or no mirror (!mirrors).
func (x *Runtime) status(only string, mirrors bool) (*Status, error) {
	st := &Status{Region: x.self.Code, Quorum: x.manifest.WitnessQuorum, Mirrors: []MirrorStatus{},
		AcceptedSchemas: append([]string{}, x.manifest.AcceptedSchemas...)}
	m := x.m() // live.go: mirrors of members that joined too
	var err error
	st.Size, st.Witnessed, err = x.ownState()
	if err != nil {
		return nil, err
	}
	if st.Loop, err = x.ownLoopStatus(); err != nil { // loop_witness.go
		return nil, err
	}
	err = x.host.View(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(BucketAlerts); b != nil {
			st.Alerts = b.Stats().KeyN
		}
		st.AdoptedSchemas = ReadAdopted(tx)
		sb := openStatusBuckets(tx)
		for i := range m.Members {
			mb := &m.Members[i]
			if !mirrors || mb.Code == x.self.Code || (only != "" && mb.Code != only) {
				continue
			}
			ms, err := x.mirrorStatus(tx, sb, m, mb)
			if err != nil {
				return err
			}
			st.Mirrors = append(st.Mirrors, ms)
		}
		return nil
	})
	return st, err
}

// statusBuckets are the exchange buckets a status reads for every
// mirror, opened once per status read (a read transaction does not cache
// the buckets it opens: at 45 members each lookup was repeated 44 times per
// read, and the convergence poll of bench delta reads every member's
// status; nil: the bucket does not exist yet).
type statusBuckets struct {
	witness, followed, stopped, unaccepted *bbolt.Bucket
}

func openStatusBuckets(tx *ledger.ReadTx) statusBuckets {
	return statusBuckets{witness: tx.Bucket(BucketWitness), followed: tx.Bucket(BucketFollowed),
		stopped: tx.Bucket(BucketStopped), unaccepted: tx.Bucket(BucketUnaccepted)}
}

// mirrorStatus is the status of this member's mirror of mb in tx (sb
// opened in tx).
func (x *Runtime) mirrorStatus(tx *ledger.ReadTx, sb statusBuckets, m *Manifest, mb *Member) (MirrorStatus, error) {
	lr := tx.Log(mb.Origin()) // one reader: its buckets are opened once
	ms := MirrorStatus{Code: mb.Code, Origin: mb.Origin(), Size: lr.Size()}
	if c := x.client(mb.Code); c != nil {
		_, ms.FetchedBytes = c.Traffic()
		ms.Redials = c.Redials()
	}
	if cp, err := lr.Checkpoint(); err == nil {
		// Checked once per stored checkpoint, not on every status read (issue 20).
		if c, err := x.cpCache.Open(cp, mb.Origin(), mb.LogVerifier()); err == nil {
			ms.Checkpoint = c.Size
		}
		_, ok, err := x.cpCache.Witnessed(m, mb.Code, cp)
		ms.Witnessed = err == nil && ok
	}
	ws, err := witnessStateIn(sb.witness, mb.Origin())
	if err != nil {
		return ms, err
	}
	ms.Cosigned = ws.Size
	if ms.Loop, err = x.loopStatus(tx, sb, m, mb); err != nil { // loop_follow.go
		return ms, err
	}
	if sb.stopped != nil {
		ms.Stopped = sb.stopped.Get([]byte(mb.Origin())) != nil
	}
	switch {
	case ms.Stopped:
		ms.State = MirrorStopped
	case ms.Size == 0 && ms.Checkpoint == 0 && ms.Cosigned == 0 && x.originHasNoCheckpoint(mb.Origin()):
		ms.State = MirrorNoCheckpoint
	default:
		ms.State = MirrorMirroring
	}
	if b := sb.unaccepted; b != nil {
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
	return ms, nil
}
