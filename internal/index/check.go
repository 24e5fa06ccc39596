package index

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Check answers a check of subject key in tx from its listing histories
// hs (CheckHistories) and conflicts cs, with engine eng (the catalogue and
// calendar in force in tx). With an action, the engine decides from the
// measures catalogue; without one, the subject is restricted if any
// listing restricts it at all. Each finding carries an inclusion proof to
// the checkpoint of its ledger held in tx, if that checkpoint covers it
// (none yet, or a mirror's checkpoint ahead of the entries held: answered
// without a proof). The engine's errors (sanctions.CheckInputError for a
// bad action) and storage errors are returned, with no answer.
func Check(tx *ledger.ReadTx, eng *sanctions.Engine, key, action string, at time.Time, hs []sanctions.ListingHistory, cs []api.RecordedConflict) (*api.CheckAnswer, error) {
	ans := &api.CheckAnswer{Subject: key, Action: action, At: at, Result: "allowed", Measures: []api.CheckMeasure{}, Listings: []api.CheckFinding{}, Conflicts: cs}
	var findings []sanctions.Finding
	if action != "" {
		res, err := eng.Check(key, action, hs, at)
		if err != nil {
			return nil, err
		}
		if !res.Allowed {
			ans.Result = "restricted"
		}
		for _, c := range res.Measures {
			ans.Measures = append(ans.Measures, api.CheckMeasure{Listing: c.Listing, Role: c.Role, Measure: c.Measure})
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
		cf := api.CheckFinding{Ref: f.Ref, Member: f.Member, Programme: f.Programme, Domain: f.Domain, Role: f.Role, State: f.State, Restricts: f.Restricts, Reason: f.Reason}
		lr := tx.Log(f.Ref.Origin)
		cp, err := lr.Checkpoint()
		switch {
		case errors.Is(err, ledger.ErrNoCheckpoint): // not yet covered: answered without a proof
		case err != nil:
			return nil, err
		default:
			// A mirror's checkpoint may run ahead of the entries held
			// (still catching up): no proof to it yet.
			if size := CheckpointSize(cp); size > f.Ref.Index && size <= lr.Size() {
				p, err := lr.InclusionProof(f.Ref.Index, size)
				if err != nil {
					return nil, fmt.Errorf("inclusion proof of %s#%d: %w", f.Ref.Origin, f.Ref.Index, err)
				}
				cf.Checkpoint = string(cp)
				cf.InclusionProof = make([]string, len(p))
				for i, h := range p {
					cf.InclusionProof[i] = base64.StdEncoding.EncodeToString(h[:])
				}
			}
		}
		ans.Listings = append(ans.Listings, cf)
	}
	return ans, nil
}

// CheckpointSize reads the size line of a checkpoint a replica stored (and
// so already verified); 0 if it has none.
// It reads the note's first two lines itself: fmt.Sscanf took 3 us of
// every check.
func CheckpointSize(cp []byte) uint64 {
	origin, rest, ok := bytes.Cut(cp, []byte{'\n'})
	if !ok || len(origin) == 0 || bytes.ContainsAny(origin, " \t\r") {
		return 0
	}
	line, _, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return 0
	}
	size, err := strconv.ParseUint(string(line), 10, 64)
	if err != nil {
		return 0
	}
	return size
}
