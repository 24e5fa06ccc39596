package node

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// RecordView is one ledger entry as a caller may see it.
type RecordView struct {
	Origin         string          `json:"origin"`
	Index          uint64          `json:"index"`
	LeafHash       string          `json:"leaf_hash"`
	Kind           string          `json:"kind"`
	KeyID          string          `json:"key"`
	Record         json.RawMessage `json:"record"`          // shaped for the caller's role
	Shaped         bool            `json:"shaped"`          // true if fields were removed for this caller
	Checkpoint     string          `json:"checkpoint"`      // covering Index
	InclusionProof []string        `json:"inclusion_proof"` // at the checkpoint's size
}

func (n *Node) handleRecord(w http.ResponseWriter, r *http.Request) {
	id := pki.IdentityFromRequest(r)
	origin, ok := n.originForCode(r.PathValue("code"))
	if !ok {
		writeErr(w, errorf(http.StatusNotFound, "no ledger %q on this node", r.PathValue("code")))
		return
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "index %q is not a number", r.PathValue("index")))
		return
	}
	var view *RecordView
	var rec schemas.Record
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		view, rec, err = n.recordView(tx, id.Role, origin, index)
		return err
	})
	if err != nil {
		n.readError(w, fmt.Sprintf("record %s/%d", origin, index), err)
		return
	}
	if view == nil {
		writeErr(w, errorf(http.StatusNotFound, "record %s/%d is not published", origin, index))
		return
	}
	if disclose.Personal(rec) && id.Role != pki.RolePublic {
		if !n.logAccessOrFail(w, r, id, fmt.Sprintf("record %s/%d", origin, index)) {
			return
		}
	}
	writeJSON(w, http.StatusOK, view)
}

// recordView reads entry index of origin with its proof, shaped for role.
// It returns nil if the role may not see it.
func (n *Node) recordView(tx *ledger.ReadTx, role pki.Role, origin string, index uint64) (*RecordView, schemas.Record, error) {
	lr := tx.Log(origin)
	e, err := lr.Entry(index)
	if err != nil {
		return nil, nil, err
	}
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.Decode()
	if err != nil {
		return nil, nil, err
	}
	disclosed := true
	if l, ok := rec.(*schemas.Listing); ok {
		disclosed = n.listingState(tx, origin, index, l, time.Now()).Disclosed
	}
	body, shaped, ok := disclose.Shape(role, rec, s.Record, disclosed)
	if !ok {
		return nil, rec, nil
	}
	cp, err := lr.Checkpoint()
	if err != nil {
		return nil, nil, err
	}
	c, err := ledger.OpenCheckpoint(cp, origin, n.verifierFor(origin))
	if err != nil {
		return nil, nil, err
	}
	p, err := lr.InclusionProof(index, c.Size)
	if err != nil {
		return nil, nil, err
	}
	lh := tlog.RecordHash(e)
	return &RecordView{Origin: origin, Index: index, LeafHash: hex.EncodeToString(lh[:]), Kind: rec.Kind(), KeyID: s.KeyID,
		Record: body, Shaped: shaped, Checkpoint: string(cp), InclusionProof: api.EncodeHashes(p)}, rec, nil
}

// subjectKeyFromParam turns a USCC, an "h1:" keyed hash or a citizen ID into
// the index key; a citizen ID is hashed here and never stored or logged.
func (n *Node) subjectKeyFromParam(s string) (key string, personal bool, err error) {
	s = strings.TrimSpace(s)
	switch {
	case schemas.IsIDHash(s):
		return s, true, nil
	case schemas.DetectIDKind(s) == schemas.IDKindUSCC:
		return s, false, nil
	case schemas.DetectIDKind(s) == schemas.IDKindCitizenID:
		if err := schemas.CheckCitizenID(s); err != nil {
			return "", true, err
		}
		return n.matchKey.HashID(s), true, nil
	}
	return "", false, fmt.Errorf("subject %q is neither a unified social credit code, a citizen ID nor an h1: keyed hash", s)
}

// SubjectView is every event about a subject with its derived status.
type SubjectView struct {
	Subject  string        `json:"subject"`
	Status   string        `json:"status"` // "listed" or "not_listed"
	Listings []ListingView `json:"listings"`
	persons  []string      // keyed hashes of the persons its listings name, as shown to the caller
}

// ListingView is one listing with its current state and related events.
type ListingView struct {
	RecordView
	ListingStatus
	Events []EventRef `json:"events"`
}

func (n *Node) handleSubject(w http.ResponseWriter, r *http.Request) {
	id := pki.IdentityFromRequest(r)
	key, personal, err := n.subjectKeyFromParam(r.PathValue("id"))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	if personal && id.Role == pki.RolePublic {
		writeErr(w, errorf(http.StatusForbidden, "records of natural persons are not public; authenticate with a client certificate"))
		return
	}
	if personal && !n.logLookupOrFail(w, r, id, "subject "+key, r.URL.Query().Get("purpose"), nil, plaintextIDs(r.PathValue("id"))) { // lookupcap.go
		return
	}
	sv, err := n.subjectView(id.Role, key, time.Now())
	if err != nil {
		n.readError(w, "subject "+key, err)
		return
	}
	// An organisation's listings may name its responsible persons: reading
	// them is a read of personal data like GET /v1/records of the listing.
	if !personal && len(sv.persons) > 0 && id.Role != pki.RolePublic &&
		!n.logPersonsOrFail(w, r, id, "subject "+key, sv.persons, r.URL.Query().Get("purpose")) {
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

func (n *Node) subjectView(role pki.Role, key string, at time.Time) (*SubjectView, error) {
	sv := &SubjectView{Subject: key, Status: "not_listed", Listings: []ListingView{}}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		for _, le := range subjectListings(tx, key) {
			lv, rec, err := n.recordView(tx, role, le.origin, le.index)
			if err != nil {
				return err
			}
			if lv == nil {
				continue
			}
			if role != pki.RolePublic {
				sv.persons = append(sv.persons, disclose.Persons(rec)...)
			}
			st := n.listingState(tx, le.origin, le.index, rec.(*schemas.Listing), at)
			if st.Restricts() {
				sv.Status = "listed"
			}
			sv.Listings = append(sv.Listings, ListingView{RecordView: *lv, ListingStatus: st, Events: st.events})
		}
		return nil
	})
	return sv, err
}

type entryRef struct {
	origin string
	index  uint64
	kind   byte
}

// subjectListings lists the listings indexed under key.
func subjectListings(tx *ledger.ReadTx, key string) []entryRef {
	b := tx.Bucket(bucketSubjects)
	if b == nil {
		return nil
	}
	var out []entryRef
	prefix := append([]byte(key), 0)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if o, i, ok := splitEntryKey(k[len(prefix):]); ok && len(v) == 1 {
			out = append(out, entryRef{o, i, v[0]})
		}
	}
	return out
}
