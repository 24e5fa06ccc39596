package audit

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and inline SVG charts (charts.go), no scripts, no external resources, so
// it opens offline in any browser and prints. It is written for a Chinese
// auditor first, with the English beside, and explains itself to one who
// has never seen creditx. The verdict banner is green only for PASSED,
// amber for UNVERIFIED, red for FAILED. Tables over PageRows rows show the
// first page and fold the others (<details>, no script).
func (r *Report) WriteHTML(w io.Writer) error {
	const maxRows = 2000
	d := struct {
		*Report
		Verdict, VerdictZH            string
		LagChart, DomChart, TimeChart template.HTML
		FeedbackChart, DeadlineChart  template.HTML
		CopyPages                     []page[CopyResult]
		FailurePages                  []page[Failure]
		OverduePages                  []page[Item]
		OverdueMore, FailuresMore     int
	}{Report: r, Verdict: r.Verdict, LagChart: lagChart(r.Loop.Members), DomChart: domainChart(r.Loop.Domains),
		TimeChart: timelineChart(r.Loop.Timeline, r.Loop.Bucket), FeedbackChart: feedbackChart(r.Loop.Members),
		DeadlineChart: deadlineChart(r.Loop.OverdueItems)}
	if d.Verdict == "" {
		d.Verdict = VerdictFailed // a report never run is no pass
	}
	d.VerdictZH = map[string]string{VerdictPassed: "通过", VerdictFailed: "未通过", VerdictUnverified: "未验证"}[d.Verdict]
	overdue, more := capRows(r.Loop.OverdueItems, maxRows)
	d.OverduePages, d.OverdueMore = paginate(overdue, PageRows), more
	failures, more := capRows(r.Failures, maxRows)
	d.FailurePages, d.FailuresMore = paginate(failures, PageRows), more
	d.CopyPages = paginate(r.Copies, PageRows)
	return pageTmpl.Execute(w, d)
}

// PageRows is how many rows of a table the HTML report shows before
// folding the rest into pages.
const PageRows = 50

// page is one page of a table: rows First..Last (1-based, inclusive).
type page[T any] struct {
	First, Last int
	Rows        []T
}

// paginate cuts s into pages of n rows; an empty s gives no page.
func paginate[T any](s []T, n int) []page[T] {
	var out []page[T]
	for i := 0; i < len(s); i += n {
		j := min(i+n, len(s))
		out = append(out, page[T]{First: i + 1, Last: j, Rows: s[i:j]})
	}
	return out
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
}).Parse(`{{define "copyhead"}}<tr><th>账本 ledger (origin)</th><th>持有方 held by</th><th>条目 entries</th><th>根哈希 root</th><th>见证方 cosigned by</th><th>已见证 witnessed</th><th>检查 checks</th><th>结果 result</th></tr>{{end}}
{{define "copyrows"}}{{range .}}<tr><td>{{.Origin}}</td><td>{{if .Holder}}{{.Holder}}{{else}}-{{end}}</td><td>{{.Size}}</td><td><code>{{printf "%.16s" .Root}}…</code></td>
<td>{{range $i, $c := .Cosigners}}{{if $i}}, {{end}}{{$c}}{{end}}</td><td>{{if .Witnessed}}是 yes ({{len .Cosigners}}/{{.Quorum}}){{else}}<span class="bad">否 no ({{len .Cosigners}}/{{.Quorum}})</span>{{end}}</td>
<td>{{if .Full}}全部记录 all records{{else}}树 + 与源账本比对 tree + compared with origin{{end}}; 密钥 key: {{.KeySource}}</td><td>{{if .OK}}<span class="ok">正常 OK</span>{{else}}<span class="bad">失败 FAILED</span>{{end}}</td></tr>{{end}}{{end}}
{{define "failhead"}}<tr><th>账本 ledger</th><th>持有方 held by</th><th>条目 entry</th><th>检查 check</th><th>问题 what is wrong</th></tr>{{end}}
{{define "failrows"}}{{range .}}<tr><td>{{.Origin}}</td><td>{{.Holder}}</td><td>{{if ge .Index 0}}{{.Index}}{{else}}-{{end}}</td><td>{{.Check}}</td><td>{{.Reason}}</td></tr>{{end}}{{end}}
{{define "overduehead"}}<tr><th>成员 member</th><th>条目 entry</th><th>应办事项 what is owed</th><th>期限 due</th><th>超期天数 days overdue</th></tr>{{end}}
{{define "overduerows"}}{{range .}}<tr><td>{{.Member}}</td><td>{{.Origin}} #{{.Index}}</td><td>{{.What}}</td><td>{{.Due}}</td><td>{{.Days}}</td></tr>{{end}}{{end}}
{{define "more"}}<details><summary>第 {{.First}}–{{.Last}} 行 · rows {{.First}}–{{.Last}}</summary>{{end}}
<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>creditx 审计报告 audit report {{time .At}}</title>
<style>
body{font:15px/1.5 "Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Zen Hei",system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}.en{color:#555;font-weight:normal;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;font-size:.9em}
th{background:#f3f3f3}.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}.warn{color:#8a5300;font-weight:600}
.verdict{padding:1em;border-radius:6px;font-size:1.2em}.PASSED{background:#e6f4ea;border:1px solid #1a7f37}.FAILED{background:#fdecea;border:1px solid #c62828}.UNVERIFIED{background:#fff4d6;border:2px solid #b26a00}
.note{color:#555;font-size:.9em}svg text{font:12px "Noto Sans CJK SC","WenQuanYi Zen Hei",system-ui,sans-serif}code{background:#f6f6f6;padding:0 .2em}
details{margin:.3em 0}summary{cursor:pointer;color:#1565c0}ul.checks{margin:.3em 0}
@media print{details{display:block}details>*{display:block}}
</style></head><body>
<h1>creditx 审计报告 <span class="en">audit report</span></h1>
<div class="verdict {{.Verdict}}"><b>{{.VerdictZH}} {{.Verdict}}</b>:
{{if eq .Verdict "PASSED"}}所列各项检查均已依据独立信任执行并通过。<span class="en">Every check listed below ran against independent trust and held: Merkle trees, signed checkpoints, witness cosignature quorum, agency signatures and key validity, mirrors identical to their origins.</span>
{{else if eq .Verdict "UNVERIFIED"}}未发现错误，但以下检查未能执行，因此不能判定通过。<span class="en">No failure found, but the checks below could not run, so this is no pass:</span>
<ul class="checks">{{range .NotChecked}}<li class="warn">{{.}}</li>{{end}}</ul>
{{else if .Failures}}发现 {{len .Report.Failures}} 项完整性错误。<span class="en">{{len .Report.Failures}} integrity failure(s). The first failing entry:</span> <b>{{(index .Report.Failures 0).String}}</b>{{end}}</div>
<p>期限判定时点 <span class="en">Deadlines judged at</span> <b>{{time .At}}</b>（日期按北京时间 UTC+8 <span class="en">dates in China Standard Time</span>）。报告生成 <span class="en">generated</span> {{time .GeneratedAt}}。
已验证 {{.Entries}} 条 <span class="en">entries verified in</span> {{printf "%.1f" .Seconds}} s。
独立信任来源 <span class="en">independent trust from</span>: {{range $i, $s := .TrustSource}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}{{if .OwnTrustSource}}；被审数据自带（仅比对，不采信）<span class="en">the audited data's own (compared, not relied on)</span>: {{range $i, $s := .OwnTrustSource}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}{{end}}。</p>
<p>已执行的检查 <span class="en">checks that ran</span>:</p><ul class="checks">{{range .Checked}}<li class="ok">{{.}}</li>{{else}}<li>无 none</li>{{end}}</ul>
{{if .NotChecked}}<p>未执行的检查 <span class="en">not checked</span>:</p><ul class="checks">{{range .NotChecked}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}
<p class="note">阅读说明：联盟每个成员保存自己的只追加账本，并保存其他每个成员账本的镜像副本。每个账本是一棵 Merkle 树，其树头（检查点）由该成员签名，并由其他成员的见证者联署。
审计从条目重新计算每棵树、核验每个签名、将每个镜像与源账本逐条比对，因此任何篡改、删除或分叉都会在下文显示。闭环部分读取记录本身：失信名单、各成员为之发出的惩戒通知以及执行机构的反馈。
<br><span class="en">How to read this: every member keeps its own append-only ledger and a mirror of every other member's. Each ledger is a Merkle tree whose head (the <i>checkpoint</i>) is signed by its member and cosigned by other members' witnesses.
The audit recomputed every tree, checked every signature and compared every mirror with its origin, so nothing can have been altered, dropped or forked without showing below. The closed loop then reads the records: listings, the sanction notices each member issued for them, and the executing agencies' feedback.</span></p>
{{range .Warnings}}<p class="warn">警告 Warning: {{.}}</p>{{end}}

<h2>1. 账本 <span class="en">Ledgers</span></h2>
{{with .CopyPages}}<table>{{template "copyhead"}}{{template "copyrows" (index . 0).Rows}}</table>
{{range $i, $p := .}}{{if $i}}{{template "more" $p}}<table>{{template "copyhead"}}{{template "copyrows" $p.Rows}}</table></details>{{end}}{{end}}{{else}}<p>无账本 No ledger.</p>{{end}}
{{with .LoopLogs}}<h3>闭环日志 <span class="en">Loop logs (each member's sanction notices and their feedback, creditx.&lt;code&gt;/loop)</span></h3>
<table><tr><th>成员 member</th><th>日志 log</th><th>副本 copies</th><th>条目 size</th><th>见证 witnessed</th><th>通知 notices</th><th>反馈 feedback</th><th>状态 status</th></tr>
{{range .}}<tr><td>{{.Member}}</td><td>{{.Origin}}</td><td>{{.Copies}}</td><td>{{.Size}}</td><td>{{if .Witnessed}}是 yes{{else}}<span class="bad">否 no</span>{{end}}</td><td>{{.Notices}}</td><td>{{.Feedback}}</td><td>{{if eq .Status "checked"}}<span class="ok">{{.Status}}</span>{{else}}<span class="bad">{{.Status}}</span>{{end}}: {{.Note}}</td></tr>{{end}}
</table>{{end}}

<h2>2. 完整性错误 <span class="en">Integrity failures</span></h2>
{{with .FailurePages}}<table>{{template "failhead"}}{{template "failrows" (index . 0).Rows}}</table>
{{range $i, $p := .}}{{if $i}}{{template "more" $p}}<table>{{template "failhead"}}{{template "failrows" $p.Rows}}</table></details>{{end}}{{end}}
{{if $.FailuresMore}}<p>另有 {{$.FailuresMore}} 项见 JSON 报告。<span class="en">… and {{$.FailuresMore}} more in the JSON report.</span></p>{{end}}
<p class="note">检查项 <span class="en">Checks</span>: <b>checkpoint</b> 树头未被成员密钥有效签名 <span class="en">the ledger head is not validly signed by its member's key</span>;
<b>cosignature</b> 见证联署伪造或被改，或联署数未达法定数 <span class="en">a witness cosignature is forged or altered, or too few members cosigned</span>;
<b>tree</b> 条目在签入树头后被修改、删除或增加 <span class="en">an entry was changed, dropped or added after it was signed into the head</span>;
<b>record</b> 条目格式错误、无效，或由当时未登记（或已吊销）的密钥签名 <span class="en">an entry is malformed, invalid, or signed by a key not registered (or revoked) at that point</span>;
<b>consistency</b> 同一账本的两个树头历史不一致（分叉）<span class="en">two heads of one ledger disagree about its history (a fork)</span>;
<b>mirror</b> 成员副本与源账本不同 <span class="en">a member's copy differs from the origin's ledger</span>;
<b>reference</b> 记录引用的条目与其所称不符 <span class="en">a record points at an entry that is not the one it names</span>;
<b>causality</b> 记录日期早于其所回应的记录（倒签）<span class="en">a record is dated before the record it answers (backdating)</span>;
<b>manifest</b> 被审数据自带的联盟清单与独立清单不同 <span class="en">the audited data's manifest differs from the independent one</span>.</p>
{{else}}<p class="ok">无 None.</p>{{end}}

<h2>3. 传播：各成员对失信名单的响应速度 <span class="en">Propagation: how fast each member acted on listings</span></h2>
<p class="note">时延 = 名单创建至该成员发出首个惩戒通知的时间；“已送达”统计该成员至少发出一个通知的名单数。<span class="en">Lag = time from a listing's creation to the first sanction notice the member issued for it. "Reached" counts listings for which the member issued at least one notice.</span></p>
<table><tr><th>成员 member</th><th>名单 listings</th><th>已送达 reached</th><th>不适用 not applied</th><th>时延中位数 lag median</th><th>时延 95% lag 95%</th><th>最大时延 lag max</th></tr>
{{range .Loop.Members}}<tr><td>{{.Member}}</td><td>{{.Listings}}</td><td>{{.Reached}} ({{pct .Reached .Listings}})</td><td>{{.NotApplied}}</td><td>{{dur .LagP50}}</td><td>{{dur .LagP95}}</td><td>{{dur .LagMax}}</td></tr>{{end}}
</table>
{{if .Loop.Rules.NotApplied}}<p class="note">按惩戒措施目录无成员可执行的名单（not_applied）<span class="en">Listings no member can apply under the measures catalogue</span>:{{range .Loop.Rules.NotApplied}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</p>{{end}}
{{.LagChart}}

<h2>4. 闭环：惩戒通知的反馈（按成员、按领域）<span class="en">Closed loop: feedback on sanction notices, per member and domain</span></h2>
<p class="note">绿：按期反馈；黄：逾期反馈；红：超期未反馈；灰：未到期；浅蓝：名单在期限前已撤销，无需反馈。<span class="en">Green: feedback by the deadline. Amber: after it. Red: no feedback, deadline passed. Grey: not yet due. Light blue: no feedback owed, the listing was removed before the deadline.</span></p>
<table><tr><th>成员 member</th><th>通知 notices</th><th>按时反馈 in time</th><th>逾期 late</th><th>超期 overdue</th><th>未到期 pending</th><th>已撤销 lifted</th><th>闭环日志 loop log</th></tr>
{{range .Loop.Members}}<tr><td>{{.Member}}</td><td>{{.Notices}}</td><td>{{.InTime}} ({{pct .InTime .Notices}})</td><td>{{.Late}}</td><td>{{.Overdue}}</td><td>{{.Pending}}</td><td>{{.Lifted}}</td><td>{{with .LoopLog}}{{if eq . "checked"}}{{.}}{{else}}<span class="bad">{{.}}</span>{{end}}{{else}}-{{end}}</td></tr>{{end}}
</table>
<p>按成员 <span class="en">per member</span></p>
{{.FeedbackChart}}
<p>按领域与成员 <span class="en">per domain and member</span></p>
{{.DomChart}}

<h2>5. 超期事项 <span class="en">Overdue items</span></h2>
{{.DeadlineChart}}
{{with .OverduePages}}<table>{{template "overduehead"}}{{template "overduerows" (index . 0).Rows}}</table>
{{range $i, $p := .}}{{if $i}}{{template "more" $p}}<table>{{template "overduehead"}}{{template "overduerows" $p.Rows}}</table></details>{{end}}{{end}}
{{if $.OverdueMore}}<p>另有 {{$.OverdueMore}} 项见 JSON 报告。<span class="en">… and {{$.OverdueMore}} more in the JSON report.</span></p>{{end}}{{end}}

<h2>6. 其他规则 <span class="en">Other rules</span></h2>
<table><tr><th>规则 rule</th><th>结果 result</th></tr>
<tr><td>异议在期限内（工作日，法定节假日安排）作出决定 <span class="en">Objections decided within the deadline (working days, official holiday calendar)</span></td><td>{{.Loop.Objections.Filed}} filed: {{.Loop.Objections.InTime}} in time, {{.Loop.Objections.Late}} late, {{.Loop.Objections.Overdue}} overdue, {{.Loop.Objections.Pending}} pending</td></tr>
<tr><td>公示期满的名单已移出（措施不超过公示期）<span class="en">Expired listings lifted (no measure runs past the publicity end)</span></td><td>{{.Loop.Expired}} expired, {{.Loop.ExpiredLifted}} lifted{{range .Loop.ExpiredNotLifted}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>已移出的名单未被重新列入或再次惩戒 <span class="en">Removed listings not re-inserted nor sanctioned afterwards</span></td><td>{{.Loop.Removed}} removed{{range .Loop.ReInserted}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>决定作出后 {{.Loop.Rules.PublicationWorkdays}} 个工作日内公示（双公示）<span class="en">Listings published within {{.Loop.Rules.PublicationWorkdays}} working days of the decision</span></td><td>{{.Loop.Rules.Published}} listings: {{.Loop.Rules.PublishedInTime}} in time, {{len .Loop.Rules.PublishedLate}} late{{if .Loop.Rules.PublishedProvisional}}, {{.Loop.Rules.PublishedProvisional}} counted provisionally{{end}}{{range .Loop.Rules.PublishedLate}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>决定撤销后 {{.Loop.Rules.WithdrawalWorkdays}} 个工作日内撤下名单 <span class="en">Listings withdrawn within {{.Loop.Rules.WithdrawalWorkdays}} working days of the decision's revocation</span></td><td>{{.Loop.Rules.Revoked}} revoked: {{.Loop.Rules.WithdrawnInTime}} in time, {{len .Loop.Rules.WithdrawnLate}} late, {{len .Loop.Rules.WithdrawalOverdue}} overdue, {{.Loop.Rules.WithdrawalPending}} pending{{range .Loop.Rules.WithdrawnLate}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}{{range .Loop.Rules.WithdrawalOverdue}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>生效中的冲突名单（同一行为重复列入；红黑名单并存）<span class="en">Conflicting listings in force (same act listed twice; red and black list at once)</span></td><td>{{len .Loop.Rules.Conflicts}} conflict(s){{range .Loop.Rules.Conflicts}}<br><span class="bad">{{.Kind}} subject {{.Subject}}: {{range .Listings}}{{.}} {{end}}({{range .Docs}}{{.}} {{end}})</span>{{end}}</td></tr>
<tr><td>反馈与通知接收方绑定（归属表）<span class="en">Feedback bound to its notice's addressee (owner table)</span></td><td>{{.Loop.Rules.FeedbackChecked}} checked, {{len .Loop.Rules.FeedbackUnbound}} unbound (not counted){{range .Loop.Rules.FeedbackUnbound}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
<tr><td>账本上采用的工作日历；期限为暂定的通知 <span class="en">Working-day calendar adopted on the ledgers; notices with a provisional deadline</span></td><td>{{.Loop.Rules.ProvisionalNotices}} provisional{{range .Loop.Rules.Calendar}}<br>{{.Origin}} #{{.Index}}: {{.What}}{{end}}</td></tr>
<tr><td>采用的惩戒措施清单版本及生效版本 <span class="en">Measures catalogue adopted on the ledgers (catalogue_adopt) and in force</span></td><td>{{len .Loop.Rules.CatalogueAdopted}} record(s){{range .Loop.Rules.CatalogueAdopted}}<br>{{.Origin}} #{{.Index}}: {{.What}}{{end}}{{range .Loop.Rules.CatalogueInForce}}<br><b>{{.Origin}} #{{.Index}}: {{.What}}</b>{{else}}<br>every member's initial catalogue in force{{end}}</td></tr>
<tr><td>对自然人的措施须有明确法律依据 <span class="en">Measures against natural persons only with an explicit legal basis</span></td><td>{{.Loop.PersonMeasures}} such measures{{range .Loop.PersonNoBasis}}<br><span class="bad">{{.Origin}} #{{.Index}}: {{.What}}</span>{{end}}</td></tr>
</table>

<h2>7. 时间线 <span class="en">Timeline</span></h2>
<p class="note">每{{.Loop.Bucket}}创建的记录：失信名单（蓝）、惩戒通知（紫）、反馈（绿）、其他（灰）。<span class="en">Records created per {{.Loop.Bucket}}: listings (blue), sanction notices (purple), feedback (green), other records (grey).</span></p>
{{.TimeChart}}
<p class="note">由 <code>creditx audit</code> 生成。JSON 报告（<code>--json</code>）含相同数据及逐条名单表。<span class="en">Produced by <code>creditx audit</code>. The JSON report (<code>--json</code>) holds the same data and a per-listing table.</span></p>
</body></html>
`))
