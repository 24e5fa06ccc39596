package audit

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and inline SVG charts, no scripts, no external resources, so it opens
// offline in any browser and prints. It explains itself to an auditor who
// has never seen creditx.
func (r *Report) WriteHTML(w io.Writer) error {
	const maxRows = 200
	d := struct {
		*Report
		Verdict                       string
		LagChart, DomChart, TimeChart template.HTML
		Overdue                       []Item
		OverdueMore                   int
		Failures                      []Failure
		FailuresMore                  int
	}{Report: r, Verdict: r.Verdict, LagChart: lagChart(r.Loop.Members), DomChart: domainChart(r.Loop.Domains),
		TimeChart: timelineChart(r.Loop.Timeline, r.Loop.Bucket)}
	if d.Verdict == "" {
		d.Verdict = VerdictFailed // a report never run is no pass
	}
	d.Overdue, d.OverdueMore = capRows(r.Loop.OverdueItems, maxRows)
	d.Failures, d.FailuresMore = capRows(r.Failures, maxRows)
	return pageTmpl.Execute(w, d)
}

func capRows[T any](s []T, n int) ([]T, int) {
	if len(s) <= n {
		return s, 0
	}
	return s[:n], len(s) - n
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"dur":  fmtDur,
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"pct": func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>creditx audit report {{time .At}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;font-size:.9em}
th{background:#f3f3f3}.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}
.verdict{padding:1em;border-radius:6px;font-size:1.2em}.PASSED{background:#e6f4ea;border:1px solid #1a7f37}.FAILED{background:#fdecea;border:1px solid #c62828}.UNVERIFIED{background:#fff4d6;border:1px solid #b26a00}
.note{color:#555;font-size:.9em}svg text{font:12px system-ui,sans-serif}code{background:#f6f6f6;padding:0 .2em}
</style></head><body>
<h1>creditx audit report</h1>
<div class="verdict {{.Verdict}}"><b>{{.Verdict}}</b>:
{{if eq .Verdict "PASSED"}}every ledger copy verified: entries, Merkle trees, signed checkpoints, witness cosignatures, agency signatures and key validity, mirrors identical to their origins.
{{else if eq .Verdict "UNVERIFIED"}}no failure found, but not everything could be checked: {{range $i, $c := .NotChecked}}{{if $i}}; {{end}}{{$c}}{{end}}.
{{else if .Failures}}{{len .Report.Failures}} integrity failure(s). The first failing entry: <b>{{(index .Failures 0).String}}</b>.{{end}}</div>
<p>Deadlines judged at <b>{{time .At}}</b> (dates in China Standard Time, UTC+8). Report generated {{time .GeneratedAt}}.
{{.Entries}} entries verified in {{printf "%.1f" .Seconds}} s. Keys trusted from: {{range $i, $s := .TrustSource}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}.</p>
<p class="note">How to read this: every member of the consortium keeps its own append-only ledger and a mirror copy of every other member's.
Each ledger is a Merkle tree whose head (the <i>checkpoint</i>) is signed by its member and countersigned (<i>cosigned</i>) by other members' witnesses.
The audit recomputed every tree from its entries, checked every signature, and compared every mirror with its origin, so nothing can have been
altered, dropped or forked without showing up below. The closed-loop part then reads the records themselves: listings, the sanction notices each
member issued for them, and the feedback of the executing agencies.</p>
{{range .Warnings}}<p class="bad">Warning: {{.}}</p>{{end}}

<h2>1. Ledgers</h2>
<table><tr><th>ledger (origin)</th><th>copy held by</th><th>entries</th><th>root hash</th><th>cosigned by</th><th>witnessed</th><th>checks</th><th>result</th></tr>
{{range .Copies}}<tr><td>{{.Origin}}</td><td>{{if .Holder}}{{.Holder}}{{else}}-{{end}}</td><td>{{.Size}}</td><td><code>{{printf "%.16s" .Root}}…</code></td>
<td>{{range $i, $c := .Cosigners}}{{if $i}}, {{end}}{{$c}}{{end}}</td><td>{{if .Witnessed}}yes ({{len .Cosigners}}/{{.Quorum}}){{else}}<span class="bad">no ({{len .Cosigners}}/{{.Quorum}})</span>{{end}}</td>
<td>{{if .Full}}all records{{else}}tree + compared with origin{{end}}; key: {{.KeySource}}</td><td>{{if .OK}}<span class="ok">OK</span>{{else}}<span class="bad">FAILED</span>{{end}}</td></tr>{{end}}
</table>

<h2>2. Integrity failures</h2>
{{if .Failures}}<table><tr><th>ledger</th><th>copy held by</th><th>entry</th><th>check</th><th>what is wrong</th></tr>
{{range .Failures}}<tr><td>{{.Origin}}</td><td>{{.Holder}}</td><td>{{if ge .Index 0}}{{.Index}}{{else}}-{{end}}</td><td>{{.Check}}</td><td>{{.Reason}}</td></tr>{{end}}
</table>{{if .FailuresMore}}<p>… and {{.FailuresMore}} more in the JSON report.</p>{{end}}
<p class="note">Checks: <b>checkpoint</b> – the ledger head is not validly signed by its member's key;
<b>cosignature</b> – a witness countersignature is forged or altered, or too few members countersigned;
<b>tree</b> – an entry was changed, dropped or added after it was signed into the head;
<b>record</b> – an entry is malformed, invalid, or signed by a key that was not registered (or already revoked) at that point;
<b>consistency</b> – two heads of one ledger disagree about its history (a fork);
<b>mirror</b> – a member's copy differs from the origin's ledger;
<b>reference</b> – a record points at an entry that is not the one it names;
<b>causality</b> – a record is dated before the record it answers (backdating).</p>
{{else}}<p class="ok">None.</p>{{end}}

<h2>3. Propagation: how fast each member acted on listings</h2>
<p class="note">Lag = time from a listing's creation to the first sanction notice the member issued for it. "Reached" counts listings for which the member issued at least one notice.</p>
<table><tr><th>member</th><th>listings</th><th>reached</th><th>not applied</th><th>lag median</th><th>lag 95%</th><th>lag max</th></tr>
{{range .Loop.Members}}<tr><td>{{.Member}}</td><td>{{.Listings}}</td><td>{{.Reached}} ({{pct .Reached .Listings}})</td><td>{{.NotApplied}}</td><td>{{dur .LagP50}}</td><td>{{dur .LagP95}}</td><td>{{dur .LagMax}}</td></tr>{{end}}
</table>
{{if .Loop.Rules.NotApplied}}<p class="note">Listings no member can apply under the measures catalogue (state not_applied):{{range .Loop.Rules.NotApplied}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</p>{{end}}
{{.LagChart}}

<h2>4. Closed loop: feedback on sanction notices, per domain and member</h2>
<p class="note">Green: feedback by the deadline. Amber: feedback after it. Red: no feedback and the deadline has passed. Grey: not yet due. Light blue: no feedback owed, the listing was removed before the deadline.</p>
<table><tr><th>member</th><th>notices</th><th>feedback in time</th><th>late</th><th>overdue</th><th>pending</th><th>lifted</th></tr>
{{range .Loop.Members}}<tr><td>{{.Member}}</td><td>{{.Notices}}</td><td>{{.InTime}} ({{pct .InTime .Notices}})</td><td>{{.Late}}</td><td>{{.Overdue}}</td><td>{{.Pending}}</td><td>{{.Lifted}}</td></tr>{{end}}
</table>
{{.DomChart}}

<h2>5. Overdue items</h2>
{{if .Overdue}}<table><tr><th>member</th><th>entry</th><th>what is owed</th><th>due</th><th>days overdue</th></tr>
{{range .Overdue}}<tr><td>{{.Member}}</td><td>{{.Origin}} #{{.Index}}</td><td>{{.What}}</td><td>{{.Due}}</td><td>{{.Days}}</td></tr>{{end}}
</table>{{if .OverdueMore}}<p>… and {{.OverdueMore}} more in the JSON report.</p>{{end}}{{else}}<p class="ok">None.</p>{{end}}

<h2>6. Other rules</h2>
<table><tr><th>rule</th><th>result</th></tr>
<tr><td>Objections decided within the deadline (working days, official holiday calendar)</td><td>{{.Loop.Objections.Filed}} filed: {{.Loop.Objections.InTime}} in time, {{.Loop.Objections.Late}} late, {{.Loop.Objections.Overdue}} overdue, {{.Loop.Objections.Pending}} pending</td></tr>
<tr><td>Expired listings lifted (no measure runs past the publicity end)</td><td>{{.Loop.Expired}} expired, {{.Loop.ExpiredLifted}} lifted{{range .Loop.ExpiredNotLifted}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>Removed listings not re-inserted nor sanctioned afterwards</td><td>{{.Loop.Removed}} removed{{range .Loop.ReInserted}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>Listings published within {{.Loop.Rules.PublicationWorkdays}} working days of the decision (双公示)</td><td>{{.Loop.Rules.Published}} listings: {{.Loop.Rules.PublishedInTime}} in time, {{len .Loop.Rules.PublishedLate}} late{{if .Loop.Rules.PublishedProvisional}}, {{.Loop.Rules.PublishedProvisional}} counted provisionally{{end}}{{range .Loop.Rules.PublishedLate}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>Listings withdrawn within {{.Loop.Rules.WithdrawalWorkdays}} working days of the decision's revocation</td><td>{{.Loop.Rules.Revoked}} revoked: {{.Loop.Rules.WithdrawnInTime}} in time, {{len .Loop.Rules.WithdrawnLate}} late, {{len .Loop.Rules.WithdrawalOverdue}} overdue, {{.Loop.Rules.WithdrawalPending}} pending{{range .Loop.Rules.WithdrawnLate}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}{{range .Loop.Rules.WithdrawalOverdue}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>Conflicting listings in force (same act listed twice; red and black list at once)</td><td>{{len .Loop.Rules.Conflicts}} conflict(s){{range .Loop.Rules.Conflicts}}<br><span class="bad">{{.Kind}} subject {{.Subject}}: {{range .Listings}}{{.}} {{end}}({{range .Docs}}{{.}} {{end}})</span>{{end}}</td></tr>
<tr><td>Feedback bound to its notice's addressee (owner table)</td><td>{{.Loop.Rules.FeedbackChecked}} checked, {{len .Loop.Rules.FeedbackUnbound}} unbound (not counted){{range .Loop.Rules.FeedbackUnbound}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>Working-day calendar adopted on the ledgers; notices with a provisional deadline</td><td>{{.Loop.Rules.ProvisionalNotices}} provisional{{range .Loop.Rules.Calendar}}<br>{{.Origin}} #{{.Index}}: {{.What}}{{end}}</td></tr>
<tr><td>Measures against natural persons only with an explicit legal basis</td><td>{{.Loop.PersonMeasures}} such measures{{range .Loop.PersonNoBasis}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
</table>

<h2>7. Timeline</h2>
<p class="note">Records created per {{.Loop.Bucket}}: listings (blue), sanction notices (purple), feedback (green), other records (grey).</p>
{{.TimeChart}}
<p class="note">Produced by <code>creditx audit</code>. The JSON report (<code>--json</code>) holds the same data and a per-listing table.</p>
</body></html>
`))

const (
	colGreen, colAmber, colRed, colGrey = "#2e7d32", "#f9a825", "#c62828", "#bdbdbd"
)

// lagChart draws, per member, bars for the median and maximum lag (hours).
func lagChart(ms []MemberLoop) template.HTML {
	if len(ms) == 0 {
		return ""
	}
	maxLag := 1.0
	for _, m := range ms {
		maxLag = max(maxLag, m.LagMax)
	}
	const left, width, rowH = 90, 560, 34
	var b strings.Builder
	h := len(ms)*rowH + 30
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="propagation lag per member">`, left+width+120, h)
	for i, m := range ms {
		y := 10 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+14, html.EscapeString(m.Member))
		for j, v := range []float64{m.LagP50, m.LagMax} {
			if v < 0 {
				if j == 0 {
					fmt.Fprintf(&b, `<text x="%d" y="%d">no notices</text>`, left, y+14)
				}
				continue
			}
			col := []string{"#1565c0", "#90caf9"}[j]
			wd := max(1, int(v/maxLag*width))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="12" fill="%s"><title>%s %s</title></rect>`,
				left, y+j*13, wd, col, []string{"median", "max"}[j], fmtDur(v))
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s %s</text>`, left+wd+4, y+j*13+10, []string{"median", "max"}[j], fmtDur(v))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// domainChart draws one stacked bar per domain and member: in time, late,
// overdue, pending.
func domainChart(ds []DomainLoop) template.HTML {
	if len(ds) == 0 {
		return template.HTML(`<p>No sanction notices.</p>`)
	}
	const left, width, rowH = 200, 600, 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="closed-loop completion per domain and member">`, left+width+60, len(ds)*rowH+10)
	for i, d := range ds {
		y := 5 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d">%s / %s</text>`, y+13, html.EscapeString(d.Domain), html.EscapeString(d.Member))
		x := float64(left)
		for j, n := range []int{d.InTime, d.Late, d.Overdue, d.Pending, d.Lifted} {
			if n == 0 || d.Notices == 0 {
				continue
			}
			wd := float64(n) / float64(d.Notices) * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s: %d of %d</title></rect>`,
				x, y, wd, []string{colGreen, colAmber, colRed, colGrey, "#b3e5fc"}[j], []string{"in time", "late", "overdue", "pending", "lifted"}[j], n, d.Notices)
			x += wd
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%d</text>`, left+width+6, y+13, d.Notices)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timelineChart draws stacked columns of records created per period.
func timelineChart(ps []TimelinePoint, bucket string) template.HTML {
	if len(ps) == 0 {
		return template.HTML(`<p>No records.</p>`)
	}
	const height, chartW = 200, 1000
	maxN := 1
	for _, p := range ps {
		maxN = max(maxN, p.Listings+p.Notices+p.Feedback+p.Other)
	}
	colW := max(1.0, float64(chartW)/float64(len(ps)))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="records per %s">`, chartW+60, height+40, html.EscapeString(bucket))
	fmt.Fprintf(&b, `<line x1="40" y1="%d" x2="%d" y2="%d" stroke="#888"/><text x="0" y="12">%d</text><text x="0" y="%d">0</text>`, height, chartW+40, height, maxN, height)
	for i, p := range ps {
		x := 40 + float64(i)*colW
		y := float64(height)
		for j, n := range []int{p.Listings, p.Notices, p.Feedback, p.Other} {
			if n == 0 {
				continue
			}
			hgt := float64(n) / float64(maxN) * (height - 10)
			y -= hgt
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`,
				x, y, max(colW-1, 0.5), hgt, []string{"#1565c0", "#6a1b9a", colGreen, colGrey}[j], html.EscapeString(p.Period), n,
				[]string{"listings", "notices", "feedback", "other"}[j])
		}
		if len(ps) <= 31 || i%(len(ps)/12+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x, height+16+(i%2)*12, html.EscapeString(p.Period))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
