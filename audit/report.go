package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Check names, as they appear in Failure.Check and the reports.
const (
	CheckCheckpoint  = "checkpoint"  // signature by the log key, origin, form
	CheckCosignature = "cosignature" // a cosignature that does not verify, or quorum not met
	CheckTree        = "tree"        // entries, hash tiles and root against the checkpoint
	CheckRecord      = "record"      // envelope, schema, agency signature, key valid at the index
	CheckConsistency = "consistency" // two checkpoints of one origin that do not extend each other
	CheckMirror      = "mirror"      // a mirror entry that differs from the origin's
	CheckReference   = "reference"   // a record referencing an entry that is not what it says
	CheckCausality   = "causality"   // a record dated before the record it answers
	CheckAnchor      = "anchor"      // an anchor on the Fabric channel that the audited ledger contradicts
)

// Failure is one integrity failure: the copy it was found in, the entry
// (Index -1 when it is not about one entry) and why.
type Failure struct {
	Check  string `json:"check"`
	Origin string `json:"origin"`
	Holder string `json:"holder,omitempty"`
	Index  int64  `json:"index"`
	Reason string `json:"reason"`
}

func (f Failure) String() string {
	where := f.Origin
	if f.Holder != "" {
		where += " (copy held by " + f.Holder + ")"
	}
	if f.Index >= 0 {
		return fmt.Sprintf("%s: entry %d: %s: %s", where, f.Index, f.Check, f.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", where, f.Check, f.Reason)
}

// IntegrityError is returned by Run when any integrity check failed. First
// is the first failing entry in report order; the Report has them all.
type IntegrityError struct {
	First Failure
	Count int
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("audit: %d integrity failure(s); first: %s", e.Count, e.First)
}

// CopyResult is what the audit found for one ledger copy.
type CopyResult struct {
	Origin    string   `json:"origin"`
	Holder    string   `json:"holder,omitempty"`
	Size      uint64   `json:"size"`
	Root      string   `json:"root,omitempty"` // hex
	KeySource string   `json:"key_source"`     // "trust" or "tree vkey (not independent)"
	Cosigners []string `json:"cosigners"`
	Quorum    int      `json:"quorum"`
	Witnessed bool     `json:"witnessed"`
	Full      bool     `json:"full_check"` // records checked here (else Merkle + compared with the full copy)
	OK        bool     `json:"ok"`
	Seconds   float64  `json:"seconds"`
}

// Report is the result of an audit. Its JSON form is the --json output.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	At          time.Time `json:"at"` // the instant deadlines are judged against
	// Verdict is PASSED, FAILED or UNVERIFIED (verdict.go): PASSED only
	// when every check in Checked ran against independent trust and
	// NotChecked is empty.
	Verdict    string   `json:"verdict"`
	Checked    []string `json:"checked"`
	NotChecked []string `json:"not_checked"`
	// TrustSource names the independent trust (Inputs.Trust);
	// OwnTrustSource what the audited data carried (Inputs.Own).
	TrustSource    []string     `json:"trust_source"`
	OwnTrustSource []string     `json:"own_trust_source,omitempty"`
	OK             bool         `json:"ok"` // no integrity failure (says nothing about checks not run)
	Copies         []CopyResult `json:"copies"`
	First          *Failure     `json:"first_failure,omitempty"` // Failures[0]
	Failures       []Failure    `json:"failures"`
	Warnings       []string     `json:"warnings"`
	Entries        uint64       `json:"entries_verified"`
	Seconds        float64      `json:"seconds"`
	Loop           Loop         `json:"closed_loop"`
	// Anchors is the cross-check with the anchors on a Fabric channel, per
	// member (only when Options.Anchors was given).
	Anchors []AnchorResult `json:"anchors,omitempty"`
	// Membership is the membership history replayed on the genesis
	// manifest (only when the trust came with a manifest; membership.go).
	Membership *Membership `json:"membership,omitempty"`
	// LoopLogs: each member's loop log (creditx.<code>/loop, issue 20)
	// declared by the trust or found, what was found of it and whether its
	// notices and feedback were checked (loopcheck.go). A declared loop log
	// of an audited member with no copy is named, and keeps the verdict
	// from PASSED.
	LoopLogs []LoopLogResult `json:"loop_logs"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the terminal summary: verdict, each ledger copy, the
// failures, then the closed loop per member.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "creditx audit at %s: %s\n", r.At.UTC().Format(time.RFC3339), r.VerdictLine())
	fmt.Fprintf(&b, "%d entries verified in %.1fs; independent trust: %s\n", r.Entries, r.Seconds, strings.Join(r.TrustSource, ", "))
	if len(r.OwnTrustSource) > 0 {
		fmt.Fprintf(&b, "the audited data's own trust (compared, not relied on): %s\n", strings.Join(r.OwnTrustSource, ", "))
	}
	for _, c := range r.Checked {
		fmt.Fprintf(&b, "Checked: %s\n", c)
	}
	for _, c := range r.NotChecked {
		fmt.Fprintf(&b, "Not checked: %s\n", c)
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "Ledgers:\n")
	for _, c := range r.Copies {
		st := "OK"
		if !c.OK {
			st = "FAILED"
		}
		holder := c.Holder
		if holder == "" {
			holder = "-"
		}
		wit := "witnessed"
		if !c.Witnessed {
			wit = "NOT witnessed"
		}
		fmt.Fprintf(&b, "  %-6s %-24s held by %-8s size %-8d %s (%d cosignatures, quorum %d)\n", st, c.Origin, holder, c.Size, wit, len(c.Cosigners), c.Quorum)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\nIntegrity failures (first one first):\n")
		for i, f := range r.Failures {
			if i == 20 {
				fmt.Fprintf(&b, "  ... and %d more (see --json)\n", len(r.Failures)-20)
				break
			}
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	if len(r.Anchors) > 0 {
		fmt.Fprintf(&b, "\nAnchors (Fabric):\n")
		for _, a := range r.Anchors {
			switch {
			case a.OK:
				fmt.Fprintf(&b, "  OK     %s anchored at size %d agrees with the ledger (size %d)\n", a.Member, a.AnchoredSize, a.LedgerSize)
			case a.AnchoredSize == 0 && !strings.HasPrefix(a.Note, "reading"):
				fmt.Fprintf(&b, "  -      %s %s\n", a.Member, a.Note)
			default:
				fmt.Fprintf(&b, "  FAILED %s %s\n", a.Member, a.Note)
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	if len(r.LoopLogs) > 0 {
		fmt.Fprintf(&b, "\nLoop logs (sanction notices and feedback):\n")
		for _, l := range r.LoopLogs {
			fmt.Fprintf(&b, "  %-13s %-24s %d copies, size %d, %d notices, %d feedback: %s\n", l.Status, l.Origin, l.Copies, l.Size, l.Notices, l.Feedback, l.Note)
		}
	}
	r.Membership.writeText(&b) // membership.go
	l := r.Loop
	fmt.Fprintf(&b, "\nClosed loop: %d listings, %d notices, %d feedback\n", l.Listings, l.Notices, l.Feedback)
	fmt.Fprintf(&b, "  %-8s %9s %9s %9s %9s %8s %8s %8s %8s %8s %11s\n", "member", "listings", "reached", "lag p50", "lag max", "notices", "in time", "late", "overdue", "pending", "not_applied")
	for _, m := range l.Members {
		fmt.Fprintf(&b, "  %-8s %9d %9d %9s %9s %8d %8d %8d %8d %8d %11d\n", m.Member, m.Listings, m.Reached,
			fmtDur(m.LagP50), fmtDur(m.LagMax), m.Notices, m.InTime, m.Late, m.Overdue, m.Pending, m.NotApplied)
	}
	fmt.Fprintf(&b, "  objections: %d filed, %d decided in time, %d decided late, %d undecided past due\n",
		l.Objections.Filed, l.Objections.InTime, l.Objections.Late, l.Objections.Overdue)
	fmt.Fprintf(&b, "  expired listings: %d, lifted %d; removed listings: %d, re-inserted %d; measures on persons: %d, without legal basis %d\n",
		l.Expired, l.ExpiredLifted, l.Removed, len(l.ReInserted), l.PersonMeasures, len(l.PersonNoBasis))
	if n := len(l.OverdueItems); n > 0 {
		fmt.Fprintf(&b, "  %d overdue item(s), oldest first:\n", n)
		for i, o := range l.OverdueItems {
			if i == 10 {
				fmt.Fprintf(&b, "    ... (see --html or --json)\n")
				break
			}
			fmt.Fprintf(&b, "    %s %s#%d %s, due %s\n", o.Member, o.Origin, o.Index, o.What, o.Due)
		}
	}
	l.Rules.writeText(&b) // rules.go
	_, err := io.WriteString(w, b.String())
	return err
}

// VerdictLine is the one-line verdict: "PASSED: every named check ran and
// held", "FAILED: N integrity failure(s)" or "UNVERIFIED: <first check not
// run>".
func (r *Report) VerdictLine() string {
	switch r.Verdict {
	case VerdictPassed:
		return "PASSED: every ledger verified, every named check ran against independent trust"
	case VerdictUnverified:
		first := "nothing was checked"
		if len(r.NotChecked) > 0 {
			first = r.NotChecked[0]
		}
		if n := len(r.NotChecked); n > 1 {
			first += fmt.Sprintf(" (and %d more not checked)", n-1)
		}
		return "UNVERIFIED: no failure found, but not checked: " + first
	}
	return fmt.Sprintf("FAILED: %d integrity failure(s)", len(r.Failures))
}

func fmtDur(s float64) string {
	if s < 0 {
		return "-"
	}
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0fm", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	}
	return fmt.Sprintf("%.1fd", d.Hours()/24)
}
