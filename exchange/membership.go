package exchange

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/schemas"
)

// Membership governed on the ledger (issue 16).
//
// A change of membership is a manifest_propose governance record naming the
// manifest it changes (base, by ManifestHash) and the manifest that results
// (by ManifestHash), carrying either a delta (Change) or the whole new
// manifest; manifest_approve records approve it by the resulting hash. The
// proposer's record counts as its approval. A proposal is decided when more
// than half of the members effective under its base manifest
// (base.Effective(approvals): the rule member_approve already follows) have
// recorded it, and from then on the resulting manifest is in force.
//
// Proposals form a hash chain from the genesis manifest, so which manifest a
// change applies to never depends on how the members' ledgers interleave.
// When it takes effect does: records of different ledgers are merged in the
// order (ledger index, member code), the consortium's governance clock, and
// a version is in force from the merged position of the record that
// completed its majority. Every member and every auditor computes the same
// history from the same records (Reconstruct is deterministic), which is
// what TestReconstruct checks.

// Change is a delta to a manifest: a member joins, leaves, moves its
// endpoint, or rotates its region CA or keys. Its JSON form is the change
// object of a manifest_propose record (schemas.MembershipChange).
type Change = schemas.MembershipChange

// ChangeError says which field of a change is wrong and why. Field is
// "change.<field>" (e.g. "change.code", "change.endpoint").
type ChangeError struct {
	Field  string
	Reason string
}

func (e *ChangeError) Error() string { return "membership " + e.Field + ": " + e.Reason }

func cerr(field, format string, args ...any) error {
	return &ChangeError{Field: "change." + field, Reason: fmt.Sprintf(format, args...)}
}

// MaxChangeSize bounds a change's JSON form.
const MaxChangeSize = 64 << 10

// ParseChange parses the JSON form of a change (unknown fields are errors)
// and checks its form; ApplyChange checks it against a manifest. Every error
// is a *ChangeError.
func ParseChange(b []byte) (*Change, error) {
	if len(b) > MaxChangeSize {
		return nil, cerr("", "%d bytes, the limit is %d", len(b), MaxChangeSize)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var c Change
	if err := d.Decode(&c); err != nil {
		return nil, &ChangeError{Field: "change", Reason: fmt.Sprintf("not a JSON change: %v", err)}
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, &ChangeError{Field: "change", Reason: "trailing data after the change"}
	}
	// The record's own rules (required and excluded fields per op, formats).
	g := &schemas.Governance{Action: schemas.ActionManifestPropose, ManifestPropose: &schemas.ManifestPropose{
		Base: strings.Repeat("0", 64), SHA256: strings.Repeat("1", 64), Change: &c}}
	var ve schemas.ValidationErrors
	if err := schemas.Validate(g, nil); errors.As(err, &ve) {
		for _, fe := range ve {
			if f, ok := strings.CutPrefix(fe.Field, "manifest_propose."); ok {
				return nil, &ChangeError{Field: f, Reason: fe.Message}
			}
		}
	}
	return &c, nil
}

// ApplyChange returns the manifest that results from applying c to m: a copy
// with version m.Version+1; m is not modified. A member that joins a
// manifest listing founders is added to founders (its admission is the
// change's approval). Errors are *ChangeError naming the change field, also
// when the resulting manifest would be invalid.
func ApplyChange(m *Manifest, c *Change) (*Manifest, error) {
	if c == nil {
		return nil, cerr("", "no change")
	}
	b, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("membership: encoding the base manifest: %w", err)
	}
	next, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("membership: base manifest does not parse again: %w", err)
	}
	next.Version = m.Version + 1
	mb, exists := next.Member(c.Code)
	if c.Op != schemas.ChangeJoin && !exists {
		return nil, cerr("code", "%s is not a member", c.Code)
	}
	anchors := func() []Anchor {
		out := make([]Anchor, len(c.Anchors))
		for i, a := range c.Anchors {
			out[i] = Anchor{Name: a.Name, USCC: a.USCC, PublicKey: a.PublicKey}
		}
		return out
	}
	switch c.Op {
	case schemas.ChangeJoin:
		if exists {
			return nil, cerr("code", "%s is already a member (status %s)", c.Code, mb.Status)
		}
		next.Members = append(next.Members, Member{Code: c.Code, Name: c.Name, Endpoint: c.Endpoint, LogVKey: c.LogVKey,
			WitnessVKey: c.WitnessVKey, CA: c.CA, Anchors: anchors(), Status: StatusActive})
		if len(next.Founders) > 0 {
			next.Founders = append(next.Founders, c.Code)
		}
	case schemas.ChangeLeave:
		if mb.Status != StatusActive {
			return nil, cerr("code", "%s has already left", c.Code)
		}
		mb.Status = StatusRemoved
		next.Founders = slices.DeleteFunc(next.Founders, func(f string) bool { return f == c.Code })
		if len(m.Founders) > 0 && len(next.Founders) == 0 {
			return nil, cerr("code", "%s is the last founder", c.Code)
		}
	case schemas.ChangeEndpoint:
		if strings.TrimSuffix(c.Endpoint, "/") == mb.Endpoint {
			return nil, cerr("endpoint", "is already %s's endpoint", c.Code)
		}
		mb.Endpoint = c.Endpoint
	case schemas.ChangeRotateCA:
		if strings.TrimSpace(c.CA) == strings.TrimSpace(mb.CA) {
			return nil, cerr("ca", "is already %s's CA", c.Code)
		}
		mb.CA = c.CA
	case schemas.ChangeRotateKeys:
		if c.LogVKey == "" && c.WitnessVKey == "" && len(c.Anchors) == 0 {
			return nil, cerr("", "rotate_keys needs at least one of log_vkey, witness_vkey, anchors")
		}
		if c.LogVKey != "" {
			if strings.TrimSpace(c.LogVKey) == strings.TrimSpace(mb.LogVKey) {
				return nil, cerr("log_vkey", "is already %s's ledger key", c.Code)
			}
			mb.LogVKey = c.LogVKey
		}
		if c.WitnessVKey != "" {
			if cosig.Same(c.WitnessVKey, mb.WitnessVKey) {
				return nil, cerr("witness_vkey", "is already %s's witness key", c.Code)
			}
			mb.WitnessVKey = c.WitnessVKey
		}
		if len(c.Anchors) > 0 {
			mb.Anchors = anchors()
		}
	default:
		return nil, cerr("op", "%q is not one of join, leave, endpoint, rotate_ca, rotate_keys", c.Op)
	}
	out, err := next.Encode()
	if err != nil {
		return nil, fmt.Errorf("membership: encoding the new manifest: %w", err)
	}
	res, err := ParseManifest(out)
	if err != nil {
		var me *ManifestError
		if errors.As(err, &me) {
			// members[i].x of the changed member is the change's field x.
			i := slices.IndexFunc(next.Members, func(mb Member) bool { return mb.Code == c.Code })
			if f, ok := strings.CutPrefix(me.Field, "members["+strconv.Itoa(i)+"]."); ok {
				return nil, cerr(f, "%s", me.Reason)
			}
			return nil, &ChangeError{Field: "change", Reason: "the resulting manifest is invalid: " + me.Error()}
		}
		return nil, err
	}
	return res, nil
}

// manifestHashDomain separates manifest hashes from every other SHA-256 input.
const manifestHashDomain = "creditx manifest v1\x00"

// ManifestHash is the hash by which governance names a manifest: lower-case
// hex SHA-256("creditx manifest v1\x00" || m.Encode()). Encode is
// deterministic for a parsed manifest, so every member computes the same
// hash for the same manifest.
func ManifestHash(m *Manifest) string {
	b, err := m.Encode()
	if err != nil {
		panic(fmt.Sprintf("creditx: encoding a parsed manifest: %v", err)) // invariant: a parsed manifest encodes
	}
	h := sha256.New()
	h.Write([]byte(manifestHashDomain))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// GovRecord is a membership governance record as found in member By's
// ledger at Index: exactly one of Propose and Approve is set. Only records
// signed by the member's credit-office anchor reach a ledger's governance
// index, so By is the member that decided.
type GovRecord struct {
	By      string
	Index   uint64
	Propose *schemas.ManifestPropose
	Approve *schemas.ManifestApprove
}

// hash is the resulting-manifest hash the record votes for.
func (r *GovRecord) hash() string {
	if r.Propose != nil {
		return r.Propose.SHA256
	}
	if r.Approve != nil {
		return r.Approve.SHA256
	}
	return ""
}

// Version is one manifest of the membership history.
type Version struct {
	Manifest *Manifest
	Hash     string     // ManifestHash(Manifest)
	From     uint64     // in force from this merged index on (0: genesis)
	Decided  *GovRecord // the record that completed the majority; nil for genesis
	Proposal *GovRecord // the proposal; nil for genesis
	// Electorate are the members effective under the previous version;
	// Approvers those of them who recorded the proposal (sorted).
	Electorate []string
	Approvers  []string
}

// Pending is a proposal on the manifest in force that has no majority yet.
type Pending struct {
	Proposal GovRecord
	Result   *Manifest
	Votes    []string // effective members that recorded it, sorted
	Needed   int      // votes needed: more than half of the electorate
}

// RefusedError is a membership record that has no effect, and why.
type RefusedError struct {
	Record GovRecord
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("membership record of %s at index %d: %s", e.Record.By, e.Record.Index, e.Reason)
}

// History is the membership history reconstructed from the ledgers.
type History struct {
	Versions []Version       // genesis first; each decided by the previous one's electorate
	Pending  []Pending       // proposals on the last version without a majority, in record order
	Refused  []*RefusedError // proposals that do not apply (stale base, wrong hash, not effective)
}

// Current is the manifest in force after every record.
func (h *History) Current() *Version { return &h.Versions[len(h.Versions)-1] }

// At returns the version in force at merged index: the last one whose From
// is at most index.
func (h *History) At(index uint64) *Version {
	i := sort.Search(len(h.Versions), func(i int) bool { return h.Versions[i].From > index })
	return &h.Versions[max(i-1, 0)]
}

// Reconstruct replays the membership records (any order: they are merged
// by (Index, By)) on genesis and returns the history. approvals are the
// member_approve and member_remove decisions (Manifest.Effective), applied
// to every version. A proposal counts only on the manifest in force when it
// is recorded (its base must be that manifest's hash) and only if its
// resulting hash is what applying it yields; approvals may come before or
// after their proposal in the merged order. Votes by members not effective
// under the base are not counted. Records that do not apply are listed in
// History.Refused.
func Reconstruct(genesis *Manifest, approvals []Approval, records []GovRecord) *History {
	recs := slices.Clone(records)
	slices.SortStableFunc(recs, func(a, b GovRecord) int {
		if a.Index != b.Index {
			return cmpU64(a.Index, b.Index)
		}
		return strings.Compare(a.By, b.By)
	})
	cur := Version{Manifest: genesis, Hash: ManifestHash(genesis)}
	h := &History{Versions: []Version{cur}}
	eff := genesis.Effective(approvals)
	votes := map[string]map[string]bool{} // result hash -> voters, over all records so far
	type cand struct {
		rec    GovRecord
		result *Manifest
	}
	var cands []cand // proposals on cur
	for _, r := range recs {
		hash := r.hash()
		if hash == "" {
			continue
		}
		if votes[hash] == nil {
			votes[hash] = map[string]bool{}
		}
		votes[hash][r.By] = true
		if p := r.Propose; p != nil {
			if slices.ContainsFunc(h.Versions, func(v Version) bool { return v.Hash == p.SHA256 }) {
				// Already in force or superseded: a member whose configured
				// manifest is a later version (a city that joined, a node
				// restarted with the manifest in force) reads the proposals
				// that led to it. Nothing to apply, nothing wrong.
				continue
			}
			res, reason := proposalResult(cur, p)
			switch {
			case reason != "":
				h.Refused = append(h.Refused, &RefusedError{Record: r, Reason: reason})
				continue
			case !eff[r.By]:
				h.Refused = append(h.Refused, &RefusedError{Record: r, Reason: r.By + " is not an effective member of the manifest in force"})
				continue
			}
			cands = append(cands, cand{r, res})
		}
		for _, c := range cands {
			n := countVotes(votes[c.rec.Propose.SHA256], eff)
			if 2*len(n) <= len(eff) {
				continue
			}
			prop := c.rec
			cur = Version{Manifest: c.result, Hash: c.rec.Propose.SHA256, From: r.Index, Decided: &r, Proposal: &prop,
				Electorate: sortedKeys(eff), Approvers: n}
			eff = c.result.Effective(approvals)
			cands = nil
			h.Versions = append(h.Versions, cur)
			break
		}
	}
	for _, c := range cands {
		h.Pending = append(h.Pending, Pending{Proposal: c.rec, Result: c.result, Votes: countVotes(votes[c.rec.Propose.SHA256], eff), Needed: len(eff)/2 + 1})
	}
	return h
}

// proposalResult is the manifest proposal p yields on cur, or why none.
func proposalResult(cur Version, p *schemas.ManifestPropose) (*Manifest, string) {
	if p.Base != cur.Hash {
		return nil, "base " + short(p.Base) + " is not the manifest in force (" + short(cur.Hash) + ")"
	}
	var res *Manifest
	var err error
	if p.Change != nil {
		res, err = ApplyChange(cur.Manifest, p.Change)
	} else {
		res, err = ParseManifest([]byte(p.Manifest))
		if err == nil && res.Version <= cur.Manifest.Version {
			err = merr("version", "%d is not larger than the version in force %d", res.Version, cur.Manifest.Version)
		}
	}
	if err != nil {
		return nil, err.Error()
	}
	if got := ManifestHash(res); got != p.SHA256 {
		return nil, "sha256 " + short(p.SHA256) + " is not the hash of the resulting manifest (" + short(got) + ")"
	}
	return res, ""
}

func countVotes(by map[string]bool, eff map[string]bool) []string {
	var out []string
	for code := range by {
		if eff[code] {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
