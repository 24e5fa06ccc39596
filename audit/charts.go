package audit

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
)

// Charts of the HTML report: inline SVG drawn here, no script and no
// external resource, so the page opens offline and prints. Labels are
// Chinese first, English beside; every bar carries a <title> with its
// numbers (a tooltip, and what a screen reader says).

// loopLabels name the closed-loop states in the colours loopColours.
var loopLabels = []string{"按时反馈 in time", "逾期反馈 late", "超期未反馈 overdue", "未到期 pending", "已撤销 lifted"}

var loopColours = []string{colGreen, colAmber, colRed, colGrey, "#b3e5fc"}

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
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="各成员传播时延 propagation lag per member">`, left+width+120, h)
	for i, m := range ms {
		y := 10 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+14, html.EscapeString(m.Member))
		for j, v := range []float64{m.LagP50, m.LagMax} {
			if v < 0 {
				if j == 0 {
					fmt.Fprintf(&b, `<text x="%d" y="%d">无惩戒通知 no notices</text>`, left, y+14)
				}
				continue
			}
			col := []string{"#1565c0", "#90caf9"}[j]
			wd := max(1, int(v/maxLag*width))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="12" fill="%s"><title>%s %s</title></rect>`,
				left, y+j*13, wd, col, []string{"中位数 median", "最大 max"}[j], fmtDur(v))
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s %s</text>`, left+wd+4, y+j*13+10, []string{"中位数 median", "最大 max"}[j], fmtDur(v))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// domainChart draws one stacked bar per domain and member: in time, late,
// overdue, pending.
func domainChart(ds []DomainLoop) template.HTML {
	if len(ds) == 0 {
		return template.HTML(`<p>无惩戒通知。No sanction notices.</p>`)
	}
	const left, width, rowH = 200, 600, 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="各领域各成员闭环完成情况 closed-loop completion per domain and member">`, left+width+60, len(ds)*rowH+10)
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
				x, y, wd, loopColours[j], loopLabels[j], n, d.Notices)
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
		return template.HTML(`<p>无记录。No records.</p>`)
	}
	const height, chartW = 200, 1000
	maxN := 1
	for _, p := range ps {
		maxN = max(maxN, p.Listings+p.Notices+p.Feedback+p.Other)
	}
	colW := max(1.0, float64(chartW)/float64(len(ps)))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="每%s记录数 records per %s">`, chartW+60, height+40, html.EscapeString(bucket), html.EscapeString(bucket))
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
				[]string{"失信名单 listings", "惩戒通知 notices", "反馈 feedback", "其他 other"}[j])
		}
		if len(ps) <= 31 || i%(len(ps)/12+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x, height+16+(i%2)*12, html.EscapeString(p.Period))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// feedbackChart draws one stacked bar per member: feedback in time, late,
// overdue, pending and lifted, as shares of the notices it issued.
func feedbackChart(ms []MemberLoop) template.HTML {
	if len(ms) == 0 {
		return ""
	}
	const left, width, rowH = 90, 600, 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="各成员反馈情况 feedback per member">`, left+width+80, len(ms)*rowH+10)
	for i, m := range ms {
		y := 5 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+13, html.EscapeString(m.Member))
		if m.Notices == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d">无惩戒通知 no notices</text>`, left, y+13)
			continue
		}
		x := float64(left)
		for j, n := range []int{m.InTime, m.Late, m.Overdue, m.Pending, m.Lifted} {
			if n == 0 {
				continue
			}
			wd := float64(n) / float64(m.Notices) * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s %s: %d / %d</title></rect>`,
				x, y, wd, loopColours[j], html.EscapeString(m.Member), loopLabels[j], n, m.Notices)
			x += wd
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%d</text>`, left+width+6, y+13, m.Notices)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// deadlineBuckets are the ranges of working days overdue deadlineChart
// counts.
var deadlineBuckets = []struct {
	label    string
	from, to int // inclusive
	colour   string
}{
	{"1–5 天 days", 1, 5, colAmber},
	{"6–20 天 days", 6, 20, "#ef6c00"},
	{"> 20 天 days", 21, 1 << 30, colRed},
}

// deadlineChart draws, per member, the overdue items (feedback, objection
// decisions, withdrawals owed) by how many days they are overdue.
func deadlineChart(items []Item) template.HTML {
	if len(items) == 0 {
		return template.HTML(`<p class="ok">无超期事项。Nothing overdue.</p>`)
	}
	counts := map[string][]int{}
	var members []string
	maxN := 1
	for _, it := range items {
		c, ok := counts[it.Member]
		if !ok {
			c = make([]int, len(deadlineBuckets))
			members = append(members, it.Member)
		}
		for k, bk := range deadlineBuckets {
			if it.Days >= bk.from && it.Days <= bk.to {
				c[k]++
			}
		}
		counts[it.Member] = c
	}
	for _, c := range counts {
		n := 0
		for _, x := range c {
			n += x
		}
		maxN = max(maxN, n)
	}
	slices.Sort(members)
	const left, width, rowH = 90, 600, 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="各成员超期事项 overdue items per member">`, left+width+80, len(members)*rowH+30)
	for i, m := range members {
		y := 5 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+13, html.EscapeString(m))
		x, total := float64(left), 0
		for k, n := range counts[m] {
			if n == 0 {
				continue
			}
			wd := float64(n) / float64(maxN) * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s 超期 overdue %s: %d</title></rect>`,
				x, y, wd, deadlineBuckets[k].colour, html.EscapeString(m), deadlineBuckets[k].label, n)
			x += wd
			total += n
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%d</text>`, x+6, y+13, total)
	}
	y := 5 + len(members)*rowH + 12
	for k, bk := range deadlineBuckets {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`, left+k*160, y-10, bk.colour, left+k*160+16, y, bk.label)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
