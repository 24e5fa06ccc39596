package workdays

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FormatV1 is the value of the format key this package reads. Changing the
// meaning of any key requires a new version; adding years or regions does not.
const FormatV1 = "creditx-workdays/v1"

// maxDataSize bounds the input Parse accepts; the real file is ~10 KiB.
const maxDataSize = 1 << 20

//go:embed cn_holidays.yaml
var defaultData []byte

// DefaultData returns a copy of the embedded cn_holidays.yaml.
func DefaultData() []byte { return append([]byte(nil), defaultData...) }

// Default returns the calendar of the embedded official data. It parses the
// data on every call; keep the result.
func Default() (*Calendar, error) {
	c, err := Parse(defaultData)
	if err != nil {
		return nil, fmt.Errorf("workdays: embedded cn_holidays.yaml: %w", err)
	}
	return c, nil
}

// DataError reports what is wrong with holiday data and where: the line,
// the path of the offending key (for example "years[2024].holidays[1].to")
// and why.
type DataError struct {
	Line   int    // 1-based line in the input; 0 if unknown
	Path   string // key path; "" for the document as a whole
	Reason string
}

func (e *DataError) Error() string {
	var b strings.Builder
	b.WriteString("workdays data")
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// Parse reads holiday data and builds a Calendar. The input is UTF-8 YAML
// (one document, no anchors or aliases, at most 1 MiB) of this shape, every
// key required unless marked optional, unknown or repeated keys rejected:
//
//	format: creditx-workdays/v1         # exactly FormatV1
//	source: <text>                      # where the data come from
//	years:                              # ascending, consecutive, at least one
//	  - year: 2024                      # the year the notice arranges
//	    notice: 国办发明电〔2023〕7号      # document number
//	    title: <text>                   # document title
//	    published: 2023-10-25           # YYYY-MM-DD
//	    url: <text>                     # optional
//	    amendments:                     # optional: later notices changing this year
//	      - {notice: ..., title: ..., published: YYYY-MM-DD, url: optional, note: optional}
//	    holidays:                       # spans of days off, at least one
//	      - {zh: 春节, en: Spring Festival, from: 2024-02-10, to: 2024-02-17, notice: optional}
//	    workdays:                       # weekend days worked (调休上班); may be empty
//	      - {date: 2024-02-04, for: 春节, notice: optional}
//	regions:                            # optional: regional overrides
//	  - code: "330000"                  # 6-digit division code, unique
//	    off: [{date: YYYY-MM-DD, zh: ..., en: ..., notice: ...}]   # optional
//	    on:  [{date: YYYY-MM-DD, zh: ..., en: ..., notice: ...}]   # optional
//
// Rules checked, each failure a *DataError naming the line and key:
// a holiday span runs from <= to, at most 15 days, inside its year or
// starting in the December before (the 2023 notice starts on 2022-12-31);
// a workday is a Saturday or Sunday of its year and its "for" names a
// holiday of the same year; a notice given on a span or workday is the
// year's notice or one of its amendments; no date is listed twice anywhere;
// a regional off day must be a national working day and a regional on day
// a national day off, within the covered years.
//
// The covered years are those listed; a date in any other year is unknown.
func Parse(data []byte) (*Calendar, error) {
	if len(data) > maxDataSize {
		return nil, &DataError{Reason: fmt.Sprintf("input is %d bytes, limit %d", len(data), maxDataSize)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &DataError{Reason: "not valid YAML: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &DataError{Reason: "empty input: want a YAML mapping with format, source and years"}
	}
	p := &parser{national: map[Date]Day{}, regions: map[string]map[Date]Day{}}
	if err := p.root(doc.Content[0]); err != nil {
		return nil, err
	}
	return &Calendar{first: p.first, last: p.last, national: p.national, regions: p.regions}, nil
}

type parser struct {
	first, last int
	national    map[Date]Day
	lines       map[Date]int // line where a national date was first listed
	regions     map[string]map[Date]Day
}

func errAt(n *yaml.Node, path, format string, args ...any) error {
	return &DataError{Line: n.Line, Path: path, Reason: fmt.Sprintf(format, args...)}
}

// fields checks that n is a mapping with only the allowed keys, each at most
// once, and all required keys (those without a trailing "?") present.
func fields(n *yaml.Node, path string, keys ...string) (map[string]*yaml.Node, error) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return nil, errAt(n, path, "anchors and aliases are not allowed")
	}
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, path, "want a mapping")
	}
	allowed := map[string]bool{}
	for _, k := range keys {
		name, optional := strings.CutSuffix(k, "?")
		allowed[name] = optional
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, errAt(k, path, "keys must be plain strings")
		}
		if _, ok := allowed[k.Value]; !ok {
			return nil, errAt(k, join(path, k.Value), "unknown key (allowed: %s)", strings.ReplaceAll(strings.Join(keys, ", "), "?", ""))
		}
		if _, dup := out[k.Value]; dup {
			return nil, errAt(k, join(path, k.Value), "key given twice")
		}
		if v.Kind == yaml.AliasNode || v.Anchor != "" {
			return nil, errAt(v, join(path, k.Value), "anchors and aliases are not allowed")
		}
		out[k.Value] = v
	}
	for name, optional := range allowed {
		if _, ok := out[name]; !ok && !optional {
			return nil, errAt(n, join(path, name), "required key missing")
		}
	}
	return out, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errAt(n, path, "want a text value")
	}
	if strings.TrimSpace(n.Value) == "" {
		return "", errAt(n, path, "must not be empty")
	}
	return n.Value, nil
}

func optStr(m map[string]*yaml.Node, key, path string) (string, error) {
	n, ok := m[key]
	if !ok {
		return "", nil
	}
	return str(n, join(path, key))
}

func date(n *yaml.Node, path string) (Date, error) {
	s, err := str(n, path)
	if err != nil {
		return Date{}, err
	}
	d, err := ParseDate(s)
	if err != nil {
		return Date{}, errAt(n, path, "%v", err)
	}
	return d, nil
}

func seq(n *yaml.Node, path string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, path, "want a list")
	}
	return n.Content, nil
}

func (p *parser) root(n *yaml.Node) error {
	m, err := fields(n, "", "format", "source", "years", "regions?")
	if err != nil {
		return err
	}
	format, err := str(m["format"], "format")
	if err != nil {
		return err
	}
	if format != FormatV1 {
		return errAt(m["format"], "format", "unsupported format %q, want %q", format, FormatV1)
	}
	if _, err := str(m["source"], "source"); err != nil {
		return err
	}
	years, err := seq(m["years"], "years")
	if err != nil {
		return err
	}
	if len(years) == 0 {
		return errAt(m["years"], "years", "at least one year is required")
	}
	p.lines = map[Date]int{}
	for i, yn := range years {
		if err := p.year(yn, i); err != nil {
			return err
		}
	}
	if rn, ok := m["regions"]; ok {
		regions, err := seq(rn, "regions")
		if err != nil {
			return err
		}
		for i, r := range regions {
			if err := p.region(r, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) year(n *yaml.Node, i int) error {
	path := fmt.Sprintf("years[%d]", i)
	m, err := fields(n, path, "year", "notice", "title", "published", "url?", "amendments?", "holidays", "workdays")
	if err != nil {
		return err
	}
	ys, err := str(m["year"], join(path, "year"))
	if err != nil {
		return err
	}
	year, err := strconv.Atoi(ys)
	if err != nil || year < 1949 || year > 9998 {
		return errAt(m["year"], join(path, "year"), "want a year between 1949 and 9998, got %q", ys)
	}
	if i == 0 {
		p.first = year
	} else if year != p.last+1 {
		return errAt(m["year"], join(path, "year"), "years must be consecutive and ascending: %d follows %d", year, p.last)
	}
	p.last = year
	path = fmt.Sprintf("years[%d]", year)

	notice, err := str(m["notice"], join(path, "notice"))
	if err != nil {
		return err
	}
	notices := map[string]bool{notice: true}
	if _, err := str(m["title"], join(path, "title")); err != nil {
		return err
	}
	if _, err := date(m["published"], join(path, "published")); err != nil {
		return err
	}
	if _, err := optStr(m, "url", path); err != nil {
		return err
	}
	if an, ok := m["amendments"]; ok {
		list, err := seq(an, join(path, "amendments"))
		if err != nil {
			return err
		}
		for j, a := range list {
			apath := fmt.Sprintf("%s.amendments[%d]", path, j)
			am, err := fields(a, apath, "notice", "title", "published", "url?", "note?")
			if err != nil {
				return err
			}
			num, err := str(am["notice"], join(apath, "notice"))
			if err != nil {
				return err
			}
			if notices[num] {
				return errAt(am["notice"], join(apath, "notice"), "notice %s listed twice for %d", num, year)
			}
			notices[num] = true
			if _, err := str(am["title"], join(apath, "title")); err != nil {
				return err
			}
			if _, err := date(am["published"], join(apath, "published")); err != nil {
				return err
			}
			for _, k := range []string{"url", "note"} {
				if _, err := optStr(am, k, apath); err != nil {
					return err
				}
			}
		}
	}
	pickNotice := func(m map[string]*yaml.Node, path string) (string, error) {
		s, err := optStr(m, "notice", path)
		if err != nil || s == "" {
			return notice, err
		}
		if !notices[s] {
			return "", errAt(m["notice"], join(path, "notice"), "notice %s is neither the %d notice nor one of its amendments", s, year)
		}
		return s, nil
	}

	hols, err := seq(m["holidays"], join(path, "holidays"))
	if err != nil {
		return err
	}
	if len(hols) == 0 {
		return errAt(m["holidays"], join(path, "holidays"), "at least one holiday span is required")
	}
	names := map[string]string{} // zh -> en
	for j, h := range hols {
		hpath := fmt.Sprintf("%s.holidays[%d]", path, j)
		hm, err := fields(h, hpath, "zh", "en", "from", "to", "notice?")
		if err != nil {
			return err
		}
		zh, err := str(hm["zh"], join(hpath, "zh"))
		if err != nil {
			return err
		}
		en, err := str(hm["en"], join(hpath, "en"))
		if err != nil {
			return err
		}
		from, err := date(hm["from"], join(hpath, "from"))
		if err != nil {
			return err
		}
		to, err := date(hm["to"], join(hpath, "to"))
		if err != nil {
			return err
		}
		num, err := pickNotice(hm, hpath)
		if err != nil {
			return err
		}
		inYear := func(d Date) bool {
			return d.year == year || (d.year == year-1 && d.month == time.December)
		}
		if !inYear(from) {
			return errAt(hm["from"], join(hpath, "from"), "%s is outside %d (only the December before may start a span)", from, year)
		}
		if !inYear(to) {
			return errAt(hm["to"], join(hpath, "to"), "%s is outside %d", to, year)
		}
		if to.Before(from) {
			return errAt(hm["to"], join(hpath, "to"), "%s is before from %s", to, from)
		}
		if from.AddDays(14).Before(to) {
			return errAt(hm["to"], join(hpath, "to"), "span %s to %s is longer than 15 days; split it or check the dates", from, to)
		}
		names[zh] = en
		for d := from; !d.After(to); d = d.AddDays(1) {
			if err := p.addNational(Day{Date: d, Kind: Holiday, NameZH: zh, NameEN: en, Notice: num}, hm["from"], hpath); err != nil {
				return err
			}
		}
	}

	works, err := seq(m["workdays"], join(path, "workdays"))
	if err != nil {
		return err
	}
	for j, w := range works {
		wpath := fmt.Sprintf("%s.workdays[%d]", path, j)
		wm, err := fields(w, wpath, "date", "for", "notice?")
		if err != nil {
			return err
		}
		d, err := date(wm["date"], join(wpath, "date"))
		if err != nil {
			return err
		}
		if d.year != year {
			return errAt(wm["date"], join(wpath, "date"), "%s is outside %d", d, year)
		}
		if !isWeekend(d) {
			return errAt(wm["date"], join(wpath, "date"), "%s is a %s; an adjusted working day must be a Saturday or Sunday", d, d.Weekday())
		}
		zh, err := str(wm["for"], join(wpath, "for"))
		if err != nil {
			return err
		}
		en, ok := names[zh]
		if !ok {
			return errAt(wm["for"], join(wpath, "for"), "%q is not a holiday listed for %d", zh, year)
		}
		num, err := pickNotice(wm, wpath)
		if err != nil {
			return err
		}
		if err := p.addNational(Day{Date: d, Kind: AdjustedWorkday, NameZH: zh, NameEN: en, Notice: num}, wm["date"], wpath); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) addNational(day Day, n *yaml.Node, path string) error {
	if prev, ok := p.national[day.Date]; ok {
		return errAt(n, path, "%s already listed at line %d (%s %s)", day.Date, p.lines[day.Date], prev.NameZH, prev.Kind)
	}
	p.national[day.Date] = day
	p.lines[day.Date] = n.Line
	return nil
}

func (p *parser) region(n *yaml.Node, i int) error {
	path := fmt.Sprintf("regions[%d]", i)
	m, err := fields(n, path, "code", "off?", "on?")
	if err != nil {
		return err
	}
	code, err := str(m["code"], join(path, "code"))
	if err != nil {
		return err
	}
	if err := checkRegionCode(code); err != nil {
		return errAt(m["code"], join(path, "code"), "%v", err)
	}
	if _, dup := p.regions[code]; dup {
		return errAt(m["code"], join(path, "code"), "region %s listed twice", code)
	}
	path = fmt.Sprintf("regions[%s]", code)
	days := map[Date]Day{}
	for _, kind := range []string{"off", "on"} {
		ln, ok := m[kind]
		if !ok {
			continue
		}
		list, err := seq(ln, join(path, kind))
		if err != nil {
			return err
		}
		for j, e := range list {
			epath := fmt.Sprintf("%s.%s[%d]", path, kind, j)
			em, err := fields(e, epath, "date", "zh", "en", "notice")
			if err != nil {
				return err
			}
			d, err := date(em["date"], join(epath, "date"))
			if err != nil {
				return err
			}
			if d.year < p.first || d.year > p.last {
				return errAt(em["date"], join(epath, "date"), "%s is outside the covered years %d-%d", d, p.first, p.last)
			}
			var vals [3]string
			for k, key := range []string{"zh", "en", "notice"} {
				if vals[k], err = str(em[key], join(epath, key)); err != nil {
					return err
				}
			}
			national := (&Calendar{national: p.national}).describe(d, nil)
			day := Day{Date: d, NameZH: vals[0], NameEN: vals[1], Notice: vals[2], Region: code}
			if kind == "off" {
				if !national.Kind.IsWorkday() {
					return errAt(em["date"], join(epath, "date"), "%s is already a day off nationally (%s)", d, national.Kind)
				}
				day.Kind = Holiday
			} else {
				if national.Kind.IsWorkday() {
					return errAt(em["date"], join(epath, "date"), "%s is already a working day nationally (%s)", d, national.Kind)
				}
				day.Kind = AdjustedWorkday
			}
			if _, dup := days[d]; dup {
				return errAt(em["date"], join(epath, "date"), "%s listed twice for region %s", d, code)
			}
			days[d] = day
		}
	}
	p.regions[code] = days
	return nil
}
