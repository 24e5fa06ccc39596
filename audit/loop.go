package audit

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Loop is the closed loop (发起-响应-反馈) as the records show it. Times are
// judged in China Standard Time (UTC+8); lags are in seconds, -1 for none.
type Loop struct {
	Listings int `json:"listings"`
	Notices  int `json:"notices"`
	Feedback int `json:"feedback"`
	// Members: for every member, over every listing of every ledger: how
	// many listings reached it (it issued at least one notice), the lag
	// from listing to its first notice, and its notices' feedback.
	Members []MemberLoop `json:"members"`
	// Domains: notice completion per domain and member.
	Domains          []DomainLoop     `json:"domains"`
	Objections       ObjectionStats   `json:"objections"`
	Expired          int              `json:"expired"`
	ExpiredLifted    int              `json:"expired_lifted"`
	ExpiredNotLifted []Finding        `json:"expired_not_lifted"`
	Removed          int              `json:"removed"`
	ReInserted       []Finding        `json:"re_inserted"`
	PersonMeasures   int              `json:"person_measures"`
	PersonNoBasis    []Finding        `json:"person_measures_without_legal_basis"`
	OverdueItems     []Item           `json:"overdue"`
	Bucket           string           `json:"timeline_bucket"` // "day" or "month"
	Timeline         []TimelinePoint  `json:"timeline"`
	Detail           []ListingArrival `json:"listings_detail"`
	DetailTruncated  bool             `json:"listings_detail_truncated"`
	Rules            Rules            `json:"rules"` // rules.go
}

// MemberLoop is one member's part in the closed loop.
type MemberLoop struct {
	Member   string  `json:"member"`
	Listings int     `json:"listings"`
	Reached  int     `json:"reached"`
	LagP50   float64 `json:"lag_p50_s"`
	LagP95   float64 `json:"lag_p95_s"`
	LagMax   float64 `json:"lag_max_s"`
	Notices  int     `json:"notices"`
	Feedback int     `json:"feedback"`
	InTime   int     `json:"feedback_in_time"`
	Late     int     `json:"feedback_late"`
	Overdue  int     `json:"overdue"`
	Pending  int     `json:"pending"`
	Lifted   int     `json:"lifted"` // no feedback owed: the listing was removed first
	// NotApplied: listings this member issued nothing for because no
	// measure of the catalogue can apply to them (audit/conflicts.go).
	NotApplied int `json:"not_applied"`
	// LoopLog is the status of the member's loop log (LoopChecked,
	// LoopNotFetched, ...; loopcheck.go), "" when it has none declared or
	// found: with any status but LoopChecked, the counts above miss or
	// cannot vouch for what the loop log holds.
	LoopLog string `json:"loop_log,omitempty"`
}

// DomainLoop is notice completion of one member in one domain.
type DomainLoop struct {
	Domain  string `json:"domain"`
	Member  string `json:"member"`
	Notices int    `json:"notices"`
	InTime  int    `json:"in_time"`
	Late    int    `json:"late"`
	Overdue int    `json:"overdue"`
	Pending int    `json:"pending"`
	Lifted  int    `json:"lifted"`
}

// ObjectionStats counts objections by how their decision went.
type ObjectionStats struct {
	Filed   int `json:"filed"`
	InTime  int `json:"decided_in_time"`
	Late    int `json:"decided_late"`
	Overdue int `json:"undecided_overdue"`
	Pending int `json:"undecided_pending"`
}

// Item is an overdue obligation.
type Item struct {
	Member string `json:"member"`
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	What   string `json:"what"`
	Due    string `json:"due"`
	Days   int    `json:"days_overdue"`
}

// Finding is a closed-loop rule broken by an entry.
type Finding struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	What   string `json:"what"`
}

// TimelinePoint counts records created in one period.
type TimelinePoint struct {
	Period   string `json:"period"`
	Listings int    `json:"listings"`
	Notices  int    `json:"notices"`
	Feedback int    `json:"feedback"`
	Other    int    `json:"other"`
}

// ListingArrival is one listing and what each member did about it.
type ListingArrival struct {
	Ref       string    `json:"ref"`
	Domain    string    `json:"domain"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	Members   []Arrival `json:"members"`
}

// Arrival is one member's handling of one listing.
type Arrival struct {
	Member  string  `json:"member"`
	Lag     float64 `json:"lag_s"`
	Notices int     `json:"notices"`
	InTime  int     `json:"in_time"`
	Late    int     `json:"late"`
	Overdue int     `json:"overdue"`
	Pending int     `json:"pending"`
	Lifted  int     `json:"lifted"`
}

var cst = time.FixedZone("CST", 8*3600)

// day is the civil date (UTC+8) of t at midnight UTC, for comparisons.
func day(t time.Time) time.Time {
	y, m, d := t.In(cst).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

type key struct {
	origin string
	index  uint64
}

func (k key) String() string { return fmt.Sprintf("%s#%d", k.origin, k.index) }

func refKey(r schemas.Ref) key { return key{r.Origin, r.Index} }

// refUse is a reference from one record to another, for checkRefs.
type refUse struct {
	from    key
	kind    string // the referencing record's kind
	created time.Time
	to      schemas.Ref
}

type listingFact struct {
	key
	created      time.Time
	domain       string
	subject      string // display name (already masked for persons)
	subjectKey   string // USCC or id_hash
	publicityEnd time.Time
}

type noticeFact struct {
	key
	created   time.Time
	listing   key
	due, end  time.Time
	exec      string
	domain    string
	toPersons bool
	basis     string
}

type fbFact struct {
	key
	created time.Time
	notice  key
	agency  string
}

type objFact struct {
	key
	created, filed time.Time
	region         string
	target         key
}

type decFact struct {
	key
	created, decided time.Time
	objection        key
	remove           bool
}

type removal struct {
	key     // the removing record
	listing key
	at      time.Time
}

// factSet collects, from verified entries, what the closed loop needs.
// add is called concurrently by the verifiers of different origins.
type factSet struct {
	mu         sync.Mutex // guards everything below
	listings   map[key]*listingFact
	notices    map[key]*noticeFact
	feedback   []*fbFact
	objections map[key]*objFact
	decisions  []*decFact
	removals   []removal
	refs       []refUse
	created    map[key]time.Time // every record that can be referenced
	other      []time.Time       // created_at of other records, for the timeline
	strs       map[string]string // interned strings
	owners     ownerFacts        // owner.go
	// rules.go (issue 12)
	pubs        []pubFact
	revokes     []revFact
	calendars   []calFact
	catalogues  []catFact // catalogue.go
	provisional int
	slim        map[key]*schemas.Listing // conflicts.go
	provDue     map[key]provFact         // rules.go
	members     membershipFacts          // membership.go
}

func newFactSet() *factSet {
	return &factSet{listings: map[key]*listingFact{}, notices: map[key]*noticeFact{},
		objections: map[key]*objFact{}, created: map[key]time.Time{}, strs: map[string]string{}}
}

// intern returns a copy of x shared by every equal string: decoded records
// slice their strings out of one allocation per record, which a kept
// substring would keep alive whole. Callers hold fs.mu.
func (fs *factSet) intern(x string) string {
	if y, ok := fs.strs[x]; ok {
		return y
	}
	y := strings.Clone(x)
	fs.strs[y] = y
	return y
}

func (fs *factSet) ref(r schemas.Ref) schemas.Ref {
	return schemas.Ref{Origin: fs.intern(r.Origin), Index: r.Index, Hash: strings.Clone(r.Hash)}
}

func (fs *factSet) add(origin string, index uint64, r schemas.Record) {
	h := schemas.HeaderOf(r)
	created := h.CreatedAt.Time
	fs.mu.Lock()
	defer fs.mu.Unlock()
	k := key{fs.intern(origin), index}
	if _, seen := fs.created[k]; seen {
		return // already added from another copy of the ledger
	}
	fs.created[k] = created
	fs.ownerAdd(k, r) // owner.go
	use := func(to schemas.Ref) { fs.refs = append(fs.refs, refUse{k, r.Kind(), created, fs.ref(to)}) }
	fs.addRuleFacts(k, r) // rules.go
	switch r := r.(type) {
	case *schemas.Listing:
		sk := r.Subject.USCC
		if r.Subject.Person != nil {
			sk = r.Subject.Person.IDHash
		}
		fs.listings[k] = &listingFact{k, created, fs.intern(r.Domain), strings.Clone(r.Subject.Name), strings.Clone(sk), r.PublicityEnd.Time}
	case *schemas.SanctionNotice:
		use(r.Listing)
		persons := r.Target.Kind == "responsible_person" || slices.Contains(r.Measure.AppliesTo, "responsible_persons")
		fs.notices[k] = &noticeFact{k, created, refKey(fs.ref(r.Listing)), r.FeedbackDue.Time, r.End.Time,
			fs.intern(r.ExecutingAgency.USCC), "", persons, fs.intern(r.Measure.LegalBasis)}
	case *schemas.Feedback:
		use(r.Notice)
		fs.feedback = append(fs.feedback, &fbFact{k, created, refKey(fs.ref(r.Notice)), fs.intern(r.Agency.USCC)})
	case *schemas.Objection:
		use(r.Target)
		fs.objections[k] = &objFact{k, created, r.FiledAt.Time, fs.intern(r.Region), refKey(fs.ref(r.Target))}
	case *schemas.ObjectionDecision:
		use(r.Objection)
		fs.decisions = append(fs.decisions, &decFact{k, created, r.DecidedAt.Time, refKey(fs.ref(r.Objection)),
			r.Decision != "rejected" && slices.Contains(r.Actions, "remove")})
	case *schemas.Repair:
		use(r.Listing)
		if slices.Contains(r.Effects, "remove") {
			fs.removals = append(fs.removals, removal{k, refKey(fs.ref(r.Listing)), created})
		}
		fs.other = append(fs.other, created)
	case *schemas.Correction:
		use(r.Target)
		if r.Action == "withdraw" {
			fs.removals = append(fs.removals, removal{k, refKey(fs.ref(r.Target)), created})
		}
		fs.other = append(fs.other, created)
	default:
		fs.other = append(fs.other, created)
	}
}

// checkRefs checks every reference whose target lies in an audited ledger:
// the target's leaf hash must be the one named, and the referencing record
// must not be dated before its target.
func (fs *factSet) checkRefs(leaves map[string][]tlog.Hash, primaries map[string]*copyState) []Failure {
	var out []Failure
	for _, u := range fs.refs {
		holder := ""
		if p := primaries[u.from.origin]; p != nil {
			holder = p.Holder
		}
		f := Failure{Origin: u.from.origin, Holder: holder, Index: int64(u.from.index)}
		if ls, ok := leaves[u.to.Origin]; ok && u.to.Index < uint64(len(ls)) {
			if h := ls[u.to.Index]; hex.EncodeToString(h[:]) != u.to.Hash {
				f.Check = CheckReference
				f.Reason = fmt.Sprintf("%s refers to %s#%d with hash %.16s..., but that entry's leaf hash is %.16x...", u.kind, u.to.Origin, u.to.Index, u.to.Hash, h[:8])
				out = append(out, f)
				continue
			}
		}
		if u.to.Origin == u.from.origin && u.to.Index >= u.from.index {
			f.Check = CheckReference
			f.Reason = fmt.Sprintf("%s refers to entry %d, which is not earlier in the same ledger", u.kind, u.to.Index)
			out = append(out, f)
			continue
		}
		if t, ok := fs.created[refKey(u.to)]; ok && u.created.Before(t) {
			f.Check = CheckCausality
			f.Reason = fmt.Sprintf("%s created_at %s is before the record it answers (%s#%d, created %s): backdated",
				u.kind, u.created.UTC().Format(time.RFC3339), u.to.Origin, u.to.Index, t.UTC().Format(time.RFC3339))
			out = append(out, f)
		}
	}
	return out
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

// loop computes the closed-loop report over every collected record.
func (fs *factSet) loop(opts Options, origins []string) Loop {
	at := opts.At
	today := day(at)
	var members []string
	for _, o := range origins {
		if c := codeOf(o); !slices.Contains(members, c) && o == schemas.LedgerOrigin(c) {
			members = append(members, c)
		}
	}
	l := Loop{Listings: len(fs.listings), Notices: len(fs.notices), Feedback: len(fs.feedback),
		ExpiredNotLifted: []Finding{}, ReInserted: []Finding{}, PersonNoBasis: []Finding{}, OverdueItems: []Item{}}

	// rules.go: the calendar with the years adopted on the ledgers, built
	// once; provisional deadlines are recomputed under it.
	cal, adopted := fs.calendar(opts.Calendar)
	fs.recomputeProvisional(opts.Calendar, cal)

	// Feedback per notice: the earliest by the executing agency, up to at.
	first := map[key]*fbFact{}
	for _, f := range fs.feedback {
		n := fs.notices[f.notice]
		if n == nil || f.created.After(at) || f.agency != n.exec || fs.owners.unbound[f.key] {
			continue
		}
		if g := first[f.notice]; g == nil || f.created.Before(g.created) {
			first[f.notice] = f
		}
	}
	byListing := map[key][]*noticeFact{}
	for _, n := range fs.notices {
		if lf := fs.listings[n.listing]; lf != nil {
			n.domain = lf.domain
		}
		byListing[n.listing] = append(byListing[n.listing], n)
	}
	type acc struct {
		MemberLoop
		lags []float64
	}
	ms := map[string]*acc{}
	for _, m := range members {
		ms[m] = &acc{MemberLoop: MemberLoop{Member: m}}
	}
	doms := map[[2]string]*DomainLoop{}
	fs.objectionLoop(&l, opts, today) // adds removals by upheld objections
	removedAt := fs.removedAt()
	// status of one notice: 0 in time, 1 late, 2 overdue, 3 pending,
	// 4 lifted: no feedback, and the listing was removed before it was due
	status := func(n *noticeFact) int {
		f := first[n.key]
		r, removed := removedAt[n.listing]
		switch {
		case f != nil && !day(f.created).After(n.due):
			return 0
		case f != nil:
			return 1
		case removed && !day(r.at).After(n.due) && !r.at.After(at):
			return 4
		case today.After(n.due):
			return 2
		}
		return 3
	}
	keys := make([]key, 0, len(fs.listings))
	for k := range fs.listings {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index)) })
	for _, k := range keys {
		lf := fs.listings[k]
		var row *ListingArrival
		if opts.MaxListingDetail > 0 && len(l.Detail) < opts.MaxListingDetail {
			row = &ListingArrival{Ref: k.String(), Domain: lf.domain, Subject: lf.subject, CreatedAt: lf.created.UTC()}
		} else if opts.MaxListingDetail > 0 {
			l.DetailTruncated = true
		}
		perMember := map[string]*Arrival{}
		for _, m := range members {
			perMember[m] = &Arrival{Member: m, Lag: -1}
			ms[m].Listings++
		}
		for _, n := range byListing[k] {
			m := codeOf(n.origin)
			a := perMember[m]
			if a == nil {
				continue
			}
			a.Notices++
			if lag := n.created.Sub(lf.created).Seconds(); a.Lag < 0 || lag < a.Lag {
				a.Lag = lag
			}
			dk := [2]string{lf.domain, m}
			d := doms[dk]
			if d == nil {
				d = &DomainLoop{Domain: lf.domain, Member: m}
				doms[dk] = d
			}
			d.Notices++
			switch status(n) {
			case 0:
				a.InTime++
				d.InTime++
			case 1:
				a.Late++
				d.Late++
			case 2:
				a.Overdue++
				d.Overdue++
				l.OverdueItems = append(l.OverdueItems, Item{Member: m, Origin: n.origin, Index: n.index,
					What: fmt.Sprintf("feedback on notice for listing %s (%s)", k, lf.subject),
					Due:  n.due.Format("2006-01-02"), Days: int(today.Sub(n.due).Hours() / 24)})
			case 4:
				a.Lifted++
				d.Lifted++
			default:
				a.Pending++
				d.Pending++
			}
		}
		for _, m := range members {
			a, mm := perMember[m], ms[m]
			if a.Notices > 0 {
				mm.Reached++
				mm.lags = append(mm.lags, a.Lag)
			}
			mm.Notices += a.Notices
			mm.InTime += a.InTime
			mm.Late += a.Late
			mm.Overdue += a.Overdue
			mm.Pending += a.Pending
			mm.Lifted += a.Lifted
			mm.Feedback += a.InTime + a.Late
			if row != nil {
				row.Members = append(row.Members, *a)
			}
		}
		if row != nil {
			l.Detail = append(l.Detail, *row)
		}
	}
	for _, m := range members {
		a := ms[m]
		slices.Sort(a.lags)
		a.LagP50, a.LagP95, a.LagMax = percentile(a.lags, 0.5), percentile(a.lags, 0.95), percentile(a.lags, 1)
		l.Members = append(l.Members, a.MemberLoop)
	}
	for _, d := range doms {
		l.Domains = append(l.Domains, *d)
	}
	slices.SortFunc(l.Domains, func(a, b DomainLoop) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Member, b.Member))
	})

	fs.lifecycleLoop(&l, byListing, removedAt, today)
	slices.SortFunc(l.OverdueItems, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.Days, a.Days), cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Index, b.Index))
	})
	fs.timeline(&l)
	eng, _ := auditEngine(cal) // conflicts.go; nil (nothing judged) only if the embedded catalogue is broken
	l.Rules = fs.rules(cal, adopted, eng, opts.At, today)
	fs.notAppliedLoop(&l, eng)
	return l
}

func (fs *factSet) objectionLoop(l *Loop, opts Options, today time.Time) {
	decided := map[key]*decFact{}
	for _, d := range fs.decisions {
		if g := decided[d.objection]; g == nil || d.decided.Before(g.decided) {
			decided[d.objection] = d
		}
		if d.remove {
			if o := fs.objections[d.objection]; o != nil {
				if _, isListing := fs.listings[o.target]; isListing {
					fs.removals = append(fs.removals, removal{d.key, o.target, d.created})
				}
			}
		}
	}
	for _, o := range fs.objections {
		if fs.owners.unbound[o.key] {
			continue // filed for a subject the listing does not name (owner.go): no effect, no deadline
		}
		l.Objections.Filed++
		fd := day(o.filed)
		wd, err := workdays.NewDate(fd.Year(), fd.Month(), fd.Day())
		var due time.Time
		if err == nil {
			var d workdays.Date
			if d, err = opts.Calendar.AddWorkdays(wd, opts.ObjectionWorkdays, o.region); err == nil {
				due = d.Time()
			}
		}
		if err != nil {
			due = fd.AddDate(0, 0, opts.ObjectionWorkdays*7/5) // calendar has no data: calendar-day estimate
		}
		switch d := decided[o.key]; {
		case d != nil && !day(d.decided).After(due):
			l.Objections.InTime++
		case d != nil:
			l.Objections.Late++
		case today.After(due):
			l.Objections.Overdue++
			l.OverdueItems = append(l.OverdueItems, Item{Member: codeOf(o.origin), Origin: o.origin, Index: o.index,
				What: fmt.Sprintf("decision on objection to %s", o.target), Due: due.Format("2006-01-02"), Days: int(today.Sub(due).Hours() / 24)})
		default:
			l.Objections.Pending++
		}
	}
}

// removedAt is the first removal (repair with effect remove, withdrawal,
// objection upheld with action remove) of each removed listing.
func (fs *factSet) removedAt() map[key]removal {
	out := map[key]removal{}
	for _, r := range fs.removals {
		if g, ok := out[r.listing]; !ok || r.at.Before(g.at) {
			out[r.listing] = r
		}
	}
	return out
}

// lifecycleLoop: expired listings lifted, removed listings not re-inserted
// nor sanctioned afterwards, measures on persons only with a legal basis.
func (fs *factSet) lifecycleLoop(l *Loop, byListing map[key][]*noticeFact, removedAt map[key]removal, today time.Time) {
	l.Removed = len(removedAt)
	bySubject := map[[2]string][]*listingFact{}
	for _, lf := range fs.listings {
		sk := [2]string{lf.subjectKey, lf.domain}
		bySubject[sk] = append(bySubject[sk], lf)
		if lf.publicityEnd.IsZero() || !today.After(lf.publicityEnd) {
			continue
		}
		l.Expired++
		if _, ok := removedAt[lf.key]; ok {
			l.ExpiredLifted++
			continue
		}
		var late *noticeFact
		for _, n := range byListing[lf.key] {
			if n.end.After(lf.publicityEnd) && (late == nil || n.end.After(late.end)) {
				late = n
			}
		}
		if late == nil {
			l.ExpiredLifted++
			continue
		}
		l.ExpiredNotLifted = append(l.ExpiredNotLifted, Finding{late.origin, late.index,
			fmt.Sprintf("listing %s expired %s but this notice runs to %s", lf.key, lf.publicityEnd.Format("2006-01-02"), late.end.Format("2006-01-02"))})
	}
	for lk, r := range removedAt {
		lf := fs.listings[lk]
		if lf == nil {
			continue
		}
		for _, other := range bySubject[[2]string{lf.subjectKey, lf.domain}] {
			if other.key != lk && other.created.After(r.at) {
				l.ReInserted = append(l.ReInserted, Finding{other.origin, other.index,
					fmt.Sprintf("re-lists %s in %s after %s removed listing %s", lf.subject, lf.domain, r.key, lk)})
			}
		}
		for _, n := range byListing[lk] {
			if n.created.After(r.at) {
				l.ReInserted = append(l.ReInserted, Finding{n.origin, n.index,
					fmt.Sprintf("sanction notice issued after %s removed listing %s", r.key, lk)})
			}
		}
	}
	for _, n := range fs.notices {
		if !n.toPersons {
			continue
		}
		l.PersonMeasures++
		if n.basis == "" {
			l.PersonNoBasis = append(l.PersonNoBasis, Finding{n.origin, n.index, "measure against a natural person without a legal basis"})
		}
	}
	for _, s := range [][]Finding{l.ExpiredNotLifted, l.ReInserted, l.PersonNoBasis} {
		slices.SortFunc(s, func(a, b Finding) int { return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Index, b.Index)) })
	}
}

func (fs *factSet) timeline(l *Loop) {
	var lo, hi time.Time
	all := func(yield func(time.Time, int) bool) {
		for _, x := range fs.listings {
			if !yield(x.created, 0) {
				return
			}
		}
		for _, x := range fs.notices {
			if !yield(x.created, 1) {
				return
			}
		}
		for _, x := range fs.feedback {
			if !yield(x.created, 2) {
				return
			}
		}
		for _, t := range fs.other {
			if !yield(t, 3) {
				return
			}
		}
	}
	for t := range all {
		if d := day(t); lo.IsZero() || d.Before(lo) {
			lo = d
		}
		if d := day(t); d.After(hi) {
			hi = d
		}
	}
	if lo.IsZero() {
		l.Bucket, l.Timeline = "day", []TimelinePoint{}
		return
	}
	l.Bucket = "day"
	format := "2006-01-02"
	step := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	if hi.Sub(lo) > 120*24*time.Hour {
		l.Bucket, format = "month", "2006-01"
		lo = time.Date(lo.Year(), lo.Month(), 1, 0, 0, 0, 0, time.UTC)
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	}
	idx := map[string]int{}
	for t := lo; !t.After(hi); t = step(t) {
		idx[t.Format(format)] = len(l.Timeline)
		l.Timeline = append(l.Timeline, TimelinePoint{Period: t.Format(format)})
	}
	for t, kind := range all {
		p := &l.Timeline[idx[day(t).Format(format)]]
		switch kind {
		case 0:
			p.Listings++
		case 1:
			p.Notices++
		case 2:
			p.Feedback++
		default:
			p.Other++
		}
	}
}
