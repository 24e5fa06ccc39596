package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// CheckAnswer answers "may this subject get this approval?" (GET /v1/check).
type CheckAnswer struct {
	Subject  string         `json:"subject"`
	Action   string         `json:"action,omitempty"`
	At       time.Time      `json:"at"`
	Result   string         `json:"result"` // "allowed" or "restricted"
	Measures []CheckMeasure `json:"measures"`
	Listings []CheckFinding `json:"listings"`
	// Conflicts among the subject's listings: those in force at At, and
	// those recorded when the listings were indexed (conflicts.go).
	Conflicts []RecordedConflict `json:"conflicts,omitempty"`
}

// CheckMeasure is a measure that restricts the subject for the action.
type CheckMeasure struct {
	Listing schemas.Ref     `json:"listing"`
	Role    string          `json:"role"` // enterprise or responsible_person
	Measure schemas.Measure `json:"measure"`
}

// CheckFinding is a listing naming the subject, from any member, with the
// proof that it is in that member's ledger.
type CheckFinding struct {
	Ref            schemas.Ref `json:"ref"`
	Member         string      `json:"member"`
	Programme      string      `json:"programme"`
	Domain         string      `json:"domain"`
	Role           string      `json:"role"`
	State          string      `json:"state"`
	Restricts      bool        `json:"restricts"`
	Reason         string      `json:"reason,omitempty"`
	Checkpoint     string      `json:"checkpoint"`
	InclusionProof []string    `json:"inclusion_proof"`
}

// check evaluates one subject. With an action, the sanctions engine decides
// from the measures catalogue; without one, the subject is restricted if any
// listing restricts it at all.
func (n *Node) check(key, action string, at time.Time) (*CheckAnswer, error) {
	return n.checkFrom(n.checkHistories, key, action, at) // checkindex.go
}

// checkFrom is check with the subject's listing histories read by histories
// (the check index, or the history walk it must agree with).
func (n *Node) checkFrom(histories func(*ledger.ReadTx, string) ([]sanctions.ListingHistory, error), key, action string, at time.Time) (*CheckAnswer, error) {
	ans := &CheckAnswer{Subject: key, Action: action, At: at, Result: "allowed", Measures: []CheckMeasure{}, Listings: []CheckFinding{}}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		hs, err := histories(tx, key)
		if err != nil {
			return err
		}
		eng := n.engineIn(tx)
		cs, err := n.subjectConflicts(tx, key, hs, at) // conflicts.go
		if err != nil {
			return err
		}
		ans.Conflicts = cs
		var findings []sanctions.Finding
		if action != "" {
			res, err := eng.Check(key, action, hs, at)
			if err != nil {
				return err
			}
			if !res.Allowed {
				ans.Result = "restricted"
			}
			for _, c := range res.Measures {
				ans.Measures = append(ans.Measures, CheckMeasure{Listing: c.Listing, Role: c.Role, Measure: c.Measure})
			}
			findings = res.Listings
		} else {
			for _, h := range hs {
				st, err := eng.State(h, at)
				if err != nil {
					continue
				}
				if st.Restricts {
					ans.Result = "restricted"
				}
				findings = append(findings, sanctions.Finding{Ref: h.Ref, Member: schemas.HeaderOf(h.Listing).Region, Programme: h.Listing.Programme.Code,
					Domain: h.Listing.Domain, State: st.State, Restricts: st.Restricts, Reason: st.Reason})
			}
		}
		for _, f := range findings {
			cf := CheckFinding{Ref: f.Ref, Member: f.Member, Programme: f.Programme, Domain: f.Domain, Role: f.Role, State: f.State, Restricts: f.Restricts, Reason: f.Reason}
			lr := tx.Log(f.Ref.Origin)
			cp, err := lr.Checkpoint()
			switch {
			case errors.Is(err, ledger.ErrNoCheckpoint): // not yet covered: answered without a proof
			case err != nil:
				return err
			default:
				// A mirror's checkpoint may run ahead of the entries held
				// (still catching up): no proof to it yet.
				if size := checkpointSize(cp); size > f.Ref.Index && size <= lr.Size() {
					p, err := lr.InclusionProof(f.Ref.Index, size)
					if err != nil {
						return fmt.Errorf("inclusion proof of %s#%d: %w", f.Ref.Origin, f.Ref.Index, err)
					}
					cf.Checkpoint, cf.InclusionProof = string(cp), b64Hashes(p)
				}
			}
			ans.Listings = append(ans.Listings, cf)
		}
		return nil
	})
	return ans, err
}

// checkpointSize reads the size line of a checkpoint this node stored (and
// so already verified).
func checkpointSize(cp []byte) uint64 {
	var origin string
	var size uint64
	fmt.Sscanf(string(cp), "%s\n%d\n", &origin, &size)
	return size
}

func checkError(w http.ResponseWriter, err error) {
	var ce *sanctions.CheckInputError
	if errors.As(err, &ce) {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "invalid check request",
			Errors: []FieldError{{Record: ce.Index - 1, Field: ce.Field, Rule: "check", Message: ce.Reason}}})
		return
	}
	writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
}

func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("at: %q is not an RFC 3339 time", s)
	}
	return t, nil
}

// handleCheck is GET /v1/check?subject=&action=&at=.
func (n *Node) handleCheck(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	q := r.URL.Query()
	key, personal, err := n.subjectKeyFromParam(q.Get("subject"))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "subject: %v", err))
		return
	}
	at, err := parseAt(q.Get("at"))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	if personal && !n.logLookupOrFail(w, r, id, "check "+key, q.Get("purpose"), nil, plaintextIDs(q.Get("subject"))) { // lookupcap.go
		return
	}
	ans, err := n.check(key, q.Get("action"), at)
	if err != nil {
		checkError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// BatchCheckRequest is the body of POST /v1/check.
type BatchCheckRequest struct {
	Subjects []string `json:"subjects"` // USCCs, citizen IDs or h1: hashes; at most 1000
	Action   string   `json:"action"`
	At       string   `json:"at,omitempty"`
	Purpose  string   `json:"purpose,omitempty"` // required if any subject is a natural person
}

// handleCheckBatch is POST /v1/check: many subjects, one action, one call.
func (n *Node) handleCheckBatch(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	var req BatchCheckRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "malformed batch check: %v", err))
		return
	}
	if len(req.Subjects) == 0 || len(req.Subjects) > 1000 {
		writeErr(w, errorf(http.StatusBadRequest, "subjects: give 1 to 1000 subjects, got %d", len(req.Subjects)))
		return
	}
	at, err := parseAt(req.At)
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	keys := make([]string, len(req.Subjects))
	var personal []string
	for i, s := range req.Subjects {
		k, p, err := n.subjectKeyFromParam(s)
		if err != nil {
			writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "invalid subject", Errors: []FieldError{{Record: i, Field: "subjects", Rule: "subject", Message: err.Error()}}})
			return
		}
		keys[i] = k
		if p {
			personal = append(personal, k)
		}
	}
	plain := plaintextIDs(req.Subjects...)
	if !n.allowLookups(w, id, plain) || !n.allowSubjects(w, r, len(keys)) { // lookupcap.go, privacy_batch.go
		return
	}
	if len(personal) > 0 {
		if perr := checkPurpose(req.Purpose, "checking natural persons"); perr != nil {
			writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "purpose: checking natural persons requires a purpose code of the catalogue",
				Errors: []FieldError{{Record: -1, Field: "purpose", Rule: "purpose", Message: perr.Error}}})
			return
		}
		// One entry for the whole request (privacy_batch.go).
		if !n.logBatchCheck(w, r, id, len(keys), personal, req.Purpose, plain) {
			return
		}
	}
	out := make([]*CheckAnswer, len(keys))
	for i, k := range keys {
		if out[i], err = n.check(k, req.Action, at); err != nil {
			checkError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
