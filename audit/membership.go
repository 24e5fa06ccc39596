package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/schemas"
)

// The membership check (issue 16): the manifest in force is agreed on the
// ledgers. The audit replays every manifest_propose and manifest_approve
// record of the verified ledgers (with member_approve and member_remove, the
// Effective rule) on the genesis manifest (Trust.Manifest: the manifest.yaml
// the auditor was given), as every node does (exchange.Reconstruct), and
// re-checks each decided change independently: it names the manifest it
// changes (the hash chain), its hash is the manifest's, and more than half
// of the members effective under the previous manifest recorded it. A
// manifest the auditor was told is in force (Trust.InForce) that no chain of
// approved changes reaches is an integrity failure: someone runs a
// membership the consortium did not agree.

// Membership is the membership section of the report.
type Membership struct {
	Genesis  string              `json:"genesis"` // ManifestHash of the genesis manifest
	Versions []MembershipVersion `json:"versions"`
	Pending  []MembershipPending `json:"pending"`
	Refused  []Finding           `json:"refused"` // records that have no effect, and why
	OK       bool                `json:"ok"`
}

// MembershipVersion is one manifest of the history, after genesis.
type MembershipVersion struct {
	Version    int      `json:"version"`
	Hash       string   `json:"sha256"`
	From       uint64   `json:"from"`     // in force from this merged index on
	Proposal   Finding  `json:"proposal"` // the manifest_propose record, What: the change
	Approvers  []string `json:"approvers"`
	Electorate []string `json:"electorate"`
}

// MembershipPending is a proposal without a majority yet.
type MembershipPending struct {
	Proposal Finding  `json:"proposal"`
	Votes    []string `json:"votes"`
	Needed   int      `json:"needed"`
}

// membershipFacts are the membership records of the ledgers (caller holds fs.mu).
type membershipFacts struct {
	records   []exchange.GovRecord
	approvals []exchange.Approval
}

// addMembershipFact records g found at k if it is a membership decision of
// a member's credit ledger.
func (fs *factSet) addMembershipFact(k key, g *schemas.Governance) {
	code, err := schemas.ParseLedgerOrigin(k.origin)
	if err != nil {
		return
	}
	mf := &fs.members
	switch {
	case g.ManifestPropose != nil:
		mf.records = append(mf.records, exchange.GovRecord{By: code, Index: k.index, Propose: g.ManifestPropose})
	case g.ManifestApprove != nil:
		mf.records = append(mf.records, exchange.GovRecord{By: code, Index: k.index, Approve: g.ManifestApprove})
	case g.MemberApprove != nil:
		a := g.MemberApprove
		mf.approvals = append(mf.approvals, exchange.Approval{By: code, Code: a.Code, Endpoint: a.Endpoint, LogVKey: a.LogVKey, WitnessVKey: a.WitnessVKey})
	case g.MemberRemove != nil:
		mf.approvals = append(mf.approvals, exchange.Approval{By: code, Code: g.MemberRemove.Code, Remove: true})
	}
}

// CheckMembership replays records on genesis and checks the history; inForce,
// if not nil, must be one of its versions. Failures are CheckMembership
// failures naming the record (or the manifest) at fault.
func CheckMembership(genesis *exchange.Manifest, approvals []exchange.Approval, records []exchange.GovRecord, inForce *exchange.Manifest) (*Membership, []Failure) {
	h := exchange.Reconstruct(genesis, approvals, records)
	return checkHistory(h, inForce)
}

// CheckMembershipName is the Failure.Check of the membership check.
const CheckMembershipName = "membership"

func checkHistory(h *exchange.History, inForce *exchange.Manifest) (*Membership, []Failure) {
	m := &Membership{Genesis: h.Versions[0].Hash, Versions: []MembershipVersion{}, Pending: []MembershipPending{}, Refused: []Finding{}}
	var fails []Failure
	for i := 1; i < len(h.Versions); i++ {
		v, prev := &h.Versions[i], &h.Versions[i-1]
		p := v.Proposal
		origin := schemas.LedgerOrigin(p.By)
		fail := func(format string, args ...any) {
			fails = append(fails, Failure{Check: CheckMembershipName, Origin: origin, Index: int64(p.Index), Reason: fmt.Sprintf(format, args...)})
		}
		mv := MembershipVersion{Version: v.Manifest.Version, Hash: v.Hash, From: v.From, Approvers: v.Approvers, Electorate: v.Electorate,
			Proposal: Finding{Origin: origin, Index: p.Index, What: describeProposal(p.Propose)}}
		m.Versions = append(m.Versions, mv)
		if p.Propose.Base != prev.Hash {
			fail("version %d changes manifest %s, not the one in force %s", mv.Version, short(p.Propose.Base), short(prev.Hash))
		}
		if got := exchange.ManifestHash(v.Manifest); got != v.Hash {
			fail("version %d: manifest hash %s, recorded %s", mv.Version, short(got), short(v.Hash))
		}
		n := 0
		for _, a := range v.Approvers {
			if slices.Contains(v.Electorate, a) {
				n++
			}
		}
		if 2*n <= len(v.Electorate) {
			fail("version %d: %d of %d effective members approved; more than half are needed", mv.Version, n, len(v.Electorate))
		}
	}
	for _, p := range h.Pending {
		m.Pending = append(m.Pending, MembershipPending{Proposal: Finding{Origin: schemas.LedgerOrigin(p.Proposal.By), Index: p.Proposal.Index,
			What: describeProposal(p.Proposal.Propose)}, Votes: p.Votes, Needed: p.Needed})
	}
	for _, r := range h.Refused {
		m.Refused = append(m.Refused, Finding{Origin: schemas.LedgerOrigin(r.Record.By), Index: r.Record.Index, What: r.Reason})
	}
	if inForce != nil {
		hash := exchange.ManifestHash(inForce)
		if !slices.ContainsFunc(h.Versions, func(v exchange.Version) bool { return v.Hash == hash }) {
			fails = append(fails, Failure{Check: CheckMembershipName, Index: -1,
				Reason: fmt.Sprintf("the manifest in force (version %d, %s) is not reached by any change approved on the ledgers", inForce.Version, short(hash))})
		} else if cur := h.Current(); cur.Hash != hash {
			fails = append(fails, Failure{Check: CheckMembershipName, Index: -1,
				Reason: fmt.Sprintf("the manifest in force is version %d, but the ledgers approved version %d (%s) since", inForce.Version, cur.Manifest.Version, short(cur.Hash))})
		}
	}
	m.OK = len(fails) == 0
	return m, fails
}

func describeProposal(p *schemas.ManifestPropose) string {
	if p.Change == nil {
		return "replace the manifest (" + short(p.SHA256) + ")"
	}
	return p.Change.Op + " " + p.Change.Code
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// writeText writes the membership section.
func (m *Membership) writeText(b *strings.Builder) {
	if m == nil {
		return
	}
	fmt.Fprintf(b, "\nMembership (genesis %s): %d approved change(s), %d pending, %d refused\n", short(m.Genesis), len(m.Versions), len(m.Pending), len(m.Refused))
	for _, v := range m.Versions {
		fmt.Fprintf(b, "  version %d from index %d: %s (%s#%d), approved by %s of %d\n", v.Version, v.From, v.Proposal.What,
			v.Proposal.Origin, v.Proposal.Index, strings.Join(v.Approvers, " "), len(v.Electorate))
	}
	for _, p := range m.Pending {
		fmt.Fprintf(b, "  pending: %s (%s#%d), votes %s, %d needed\n", p.Proposal.What, p.Proposal.Origin, p.Proposal.Index, strings.Join(p.Votes, " "), p.Needed)
	}
	for _, r := range m.Refused {
		fmt.Fprintf(b, "  no effect: %s#%d %s\n", r.Origin, r.Index, r.What)
	}
}
