// Package console renders the node's web pages (the public register, the
// member status, the auditor's view, a subject's own records, a record):
// server-side templates, no JavaScript, no CDN, no build step. It owns the
// templates (web/*.html), their functions and the Chinese labels of the
// codes they show (issue 18: clerks read Chinese), and the public
// register's paging (ScanRegister over a RegisterSource the node provides:
// filter, cursor, scan budget); the node's handlers gather the data and
// call Render.
//
// Guarantees: html/template escapes every value; each page is sent with a
// Content-Security-Policy that allows no script, no remote resource and
// forms posting only to the node itself. A page whose template fails is
// answered 500 with nothing of the page sent. A code without a label is
// shown as the code itself, so a new domain or state added to the schemas
// still renders.
package console

import (
	"bytes"
	"cmp"
	"embed"
	"html/template"
	"net/http"

	"github.com/creditx/creditx/schemas"
)

//go:embed web/*.html
var webFS embed.FS

// names are the pages, each web/<name>.html inside web/layout.html.
var names = []string{"register", "status", "audit", "subject", "record"}

// Pages are the parsed page templates. Immutable after New; safe for
// concurrent use.
type Pages struct {
	t map[string]*template.Template
}

// New parses the pages; grounds are the objection grounds the subject page
// offers (as codes; Zh labels them). A template that does not parse panics:
// the templates are compiled in.
func New(grounds []string) *Pages {
	funcs := template.FuncMap{
		"zh":      Zh,
		"domain":  func(code string) string { return cmp.Or(domainLabels[code], code) },
		"add":     func(a, b int) int { return a + b },
		"grounds": func() []string { return grounds },
		"code":    MemberCode,
	}
	p := &Pages{t: map[string]*template.Template{}}
	for _, n := range names {
		p.t[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/"+n+".html"))
	}
	return p
}

// Base is what the layout shows on every page; page data embeds it.
type Base struct {
	Title, Region, Name, Replica, Now string
}

// Render writes page with data (which embeds Base) and the given status.
func (p *Pages) Render(w http.ResponseWriter, status int, page string, data any) {
	var b bytes.Buffer
	if err := p.t[page].ExecuteTemplate(&b, "layout", data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// MemberCode is the member code of a ledger origin ("creditx.330000/ledger"
// -> "330000"), as in /records/{code}/{index}; another string is itself.
func MemberCode(origin string) string {
	if code, err := schemas.ParseLedgerOrigin(origin); err == nil {
		return code
	}
	return origin
}

// BarChart is a simple horizontal bar chart as inline SVG (no script: the
// pages' CSP allows none), for /audit (web/audit.html draws it).
type BarChart struct {
	Width, Height int
	Bars          []Bar
}

type Bar struct {
	Label, Class string
	Value        int
	Y, W         int // geometry, filled by NewBarChart
}

// NewBarChart lays bars out: rows of 26 px, the longest bar 300 px wide
// (every bar at least 0; all zero: all empty).
func NewBarChart(bars []Bar) BarChart {
	maxV := 1
	for _, b := range bars {
		maxV = max(maxV, b.Value)
	}
	const labelW, barW, rowH = 110, 300, 26
	for i := range bars {
		bars[i].Y = i * rowH
		bars[i].W = bars[i].Value * barW / maxV
	}
	return BarChart{Width: labelW + barW + 60, Height: len(bars) * rowH, Bars: bars}
}

// AuditLoginPage is what a browser without a client certificate sees on /audit.
const AuditLoginPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>creditx: auditor's view needs a certificate</title></head>
<body style="font-family:sans-serif;max-width:46em;margin:2em auto">
<h1>The auditor's view needs the auditor's client certificate</h1>
<p>This page shows sanction notices and the access log, so the node asks the browser for a client
certificate issued by this region's CA to an auditor (or the credit office's admin), and got none.</p>
<p>On a development node (<code>creditx serve</code>) the auditor's certificate and key are in
<code>creditx-data/agencies/auditor/</code>. Make a file the browser can import, then import it
(Firefox: Settings, Privacy &amp; Security, Certificates, View Certificates, Your Certificates, Import;
Chrome: Settings, Privacy and security, Security, Manage certificates) and reload this page:</p>
<pre>openssl pkcs12 -export -in creditx-data/agencies/auditor/tls.crt \
    -inkey creditx-data/agencies/auditor/tls.key -name "creditx auditor" \
    -out auditor.p12 -passout pass:creditx          # import password: creditx</pre>
<p>Import <code>creditx-data/ca/ca.crt</code> as an authority too, so the browser trusts this node.
Without a browser: <code>curl --cacert creditx-data/ca/ca.crt --cert creditx-data/agencies/auditor/tls.crt
--key creditx-data/agencies/auditor/tls.key https://HOST/audit</code>.</p>
<p>The public register is at <a href="/">/</a>, the member status at <a href="/status">/status</a>.</p>
</body></html>
`
