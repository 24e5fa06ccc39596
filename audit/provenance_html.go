package audit

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteJSON writes the provenance as indented JSON.
func (p *Provenance) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// WriteText writes the provenance for a terminal.
func (p *Provenance) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Provenance of %s#%d (member %s) — every line below was checked against the trusted keys\n", p.Origin, p.Index, p.Member)
	fmt.Fprintf(&b, "  trust:        %s\n", strings.Join(p.Trust, ", "))
	fmt.Fprintf(&b, "What\n  %s\n  schema %s, created %s, leaf hash %s\n", p.Summary, p.Schema, fmtTime(p.Created), p.LeafHash)
	s := p.Signer
	fmt.Fprintf(&b, "Who\n  signed by key %s of %s (%s)\n", s.KeyID, s.Agency, s.AgencyUSCC)
	if s.Anchor {
		b.WriteString("  the key is a credit-office anchor of the manifest\n")
	} else {
		fmt.Fprintf(&b, "  key registered by governance record %s#%d on %s, signed by anchor %s (%s), roles %v\n",
			p.Origin, s.RegisteredAt, fmtTime(s.RegisteredOn), s.RegisteredBy, s.RegisteredByName, s.RegistrationRoles)
		if s.RevokedAt != 0 {
			fmt.Fprintf(&b, "  key revoked at %s#%d\n", p.Origin, s.RevokedAt)
		}
	}
	fmt.Fprintf(&b, "  valid at index %d: %v\n", p.Index, s.ValidAtIndex)
	c := p.Checkpoint
	fmt.Fprintf(&b, "When and where\n  covered by the checkpoint of %s: size %d, root %s; inclusion proof of %d hashes verified\n",
		c.Holder, c.Size, c.Root, len(p.InclusionProof))
	fmt.Fprintf(&b, "  %s: witnessed %v by %d cosignatures\n", c.Quorum, c.Witnessed, len(c.Cosigners))
	for _, x := range c.Cosigners {
		fmt.Fprintf(&b, "    cosigned by %s at %s\n", x.Witness, fmtTime(x.Time))
	}
	b.WriteString("Mirrors\n")
	if len(p.Mirrors) == 0 {
		b.WriteString("  none in the inputs\n")
	}
	for _, m := range p.Mirrors {
		if m.Covers {
			fmt.Fprintf(&b, "  %s mirrors it at index %d (its tree: %d entries, %d cosignatures), leaf proved\n", m.Holder, m.Index, m.Size, len(m.Cosigners))
			if len(m.Acted) > 0 {
				fmt.Fprintf(&b, "    %s acted on it: %s\n", m.Holder, strings.Join(m.Acted, ", "))
			}
		} else {
			fmt.Fprintf(&b, "  %s: %s\n", m.Holder, m.Problem)
		}
	}
	b.WriteString("What followed\n")
	if len(p.Related) == 0 {
		b.WriteString("  no record in the verified ledgers refers to it\n")
	}
	for _, r := range p.Related {
		ok := "ref hash matches"
		if !r.HashOK {
			ok = "REF HASH DOES NOT MATCH"
		}
		fmt.Fprintf(&b, "  %s %s#%d by %s on %s -> %s: %s (%s)\n", r.Kind, r.Origin, r.Index, r.Agency, fmtTime(r.Created), r.Refers, r.Detail, ok)
	}
	fmt.Fprintf(&b, "State\n  %s\n", p.State)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTMLSection writes the provenance as one <section> for the audit
// HTML report (or any page): no scripts, inline styles of the report.
func (p *Provenance) WriteHTMLSection(w io.Writer) error {
	return provTmpl.Execute(w, p)
}

// WriteHTMLPage writes a self-contained page holding the section.
func (p *Provenance) WriteHTMLPage(w io.Writer) error {
	if _, err := fmt.Fprintf(w, `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>来源 Provenance %s#%d</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;width:100%%;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;font-size:.9em}
th{background:#f3f3f3}.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}code{background:#f6f6f6;padding:0 .2em}</style></head><body>
`, template.HTMLEscapeString(p.Origin), p.Index); err != nil {
		return err
	}
	if err := p.WriteHTMLSection(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body></html>\n")
	return err
}

var provTmpl = template.Must(template.New("prov").Funcs(template.FuncMap{"t": fmtTime}).Parse(`<section class="provenance" id="provenance-{{.Member}}-{{.Index}}">
<h2>条目来源 Provenance of <code>{{.Origin}}#{{.Index}}</code></h2>
<p class="note">每一项均已用独立信任（清单）核验 Every item below was checked against the independent trust: {{range .Trust}}<code>{{.}}</code> {{end}}</p>
<table>
<tr><th>内容 What</th><td>{{.Summary}}<br>schema <code>{{.Schema}}</code>, created {{t .Created}}, leaf <code>{{.LeafHash}}</code></td></tr>
<tr><th>签名 Signed by</th><td>key <code>{{.Signer.KeyID}}</code> of {{.Signer.Agency}} ({{.Signer.AgencyUSCC}})
{{if .Signer.Anchor}}— credit-office anchor of the manifest{{else}}<br>registered by governance record <code>{{.Origin}}#{{.Signer.RegisteredAt}}</code> on {{t .Signer.RegisteredOn}},
signed by anchor <code>{{.Signer.RegisteredBy}}</code> ({{.Signer.RegisteredByName}}){{if .Signer.RevokedAt}}; revoked at #{{.Signer.RevokedAt}}{{end}}{{end}}
<br>valid at this index: {{if .Signer.ValidAtIndex}}<span class="ok">yes 有效</span>{{else}}<span class="bad">NO 无效</span>{{end}}</td></tr>
<tr><th>检查点 Checkpoint</th><td>{{.Checkpoint.Holder}}: size {{.Checkpoint.Size}}, root <code>{{.Checkpoint.Root}}</code>; inclusion proof of {{len .InclusionProof}} hashes <span class="ok">verified</span></td></tr>
<tr><th>见证 Witnessed</th><td>{{.Checkpoint.Quorum}}: {{if .Checkpoint.Witnessed}}<span class="ok">met 已满足</span>{{else}}<span class="bad">NOT met 未满足</span>{{end}}
{{range .Checkpoint.Cosigners}}<br>{{.Witness}} at {{t .Time}}{{end}}</td></tr>
<tr><th>状态 State</th><td>{{.State}}</td></tr>
</table>
<h3>镜像 Mirrors</h3>
<table><tr><th>member</th><th>index</th><th>tree size</th><th>cosignatures</th><th>result</th><th>its records 该成员的记录</th></tr>
{{range .Mirrors}}<tr><td>{{.Holder}}</td><td>{{.Index}}</td><td>{{.Size}}</td><td>{{len .Cosigners}}</td><td>{{if .Covers}}<span class="ok">leaf proved 已证明</span>{{else}}<span class="bad">{{.Problem}}</span>{{end}}</td><td>{{range .Acted}}<code>{{.}}</code> {{end}}</td></tr>
{{else}}<tr><td colspan="6">none in the inputs</td></tr>{{end}}</table>
<h3>后续记录 What followed (notices, feedback, objections, repairs)</h3>
<table><tr><th>record</th><th>kind</th><th>by</th><th>created</th><th>refers to</th><th>detail</th><th>ref hash</th></tr>
{{range .Related}}<tr><td><code>{{.Origin}}#{{.Index}}</code></td><td>{{.Kind}}</td><td>{{.Agency}}</td><td>{{t .Created}}</td><td><code>{{.Refers}}</code></td><td>{{.Detail}}</td><td>{{if .HashOK}}<span class="ok">matches</span>{{else}}<span class="bad">MISMATCH</span>{{end}}</td></tr>
{{else}}<tr><td colspan="7">no record in the verified ledgers refers to it</td></tr>{{end}}</table>
</section>
`))
