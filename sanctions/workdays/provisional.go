package workdays

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Calendars that never run out (issue 12).
//
// The embedded data end with the last year whose State Council notice was
// transcribed into the build. Later years arrive as data (Extend, fed by
// calendar_adopt governance records on the ledger), never by a rebuild. A
// deadline that reaches past the last covered year is still computed
// (AddWorkdaysProvisional): days after that year count as working days
// Monday to Friday only, and the result says it is provisional, so that
// the caller marks it and recomputes it once the year is covered.

// Year is one year's official arrangement: what a State Council notice
// decides, in the same terms as one entry of cn_holidays.yaml.
type Year struct {
	Year      int
	Notice    string // document number, e.g. 国办发明电〔2026〕7号
	Title     string
	Published Date
	URL       string // optional
	Holidays  []Span
	Workdays  []Adjusted
}

// Span is a run of days off (放假调休), from and to inclusive.
type Span struct {
	ZH, EN   string
	From, To Date
}

// Adjusted is a weekend day worked (调休上班) for holiday For (its ZH name).
type Adjusted struct {
	Date Date
	For  string
}

// Extend returns a new calendar covering y too; c is unchanged. y must be
// the year after the last covered one (years stay consecutive) and pass the
// rules Parse checks for a year entry; otherwise a *DataError names the
// field (holidays[i].from, workdays[j].date, ...) and why.
func (c *Calendar) Extend(y Year) (*Calendar, error) {
	if y.Year != c.last+1 {
		if y.Year >= c.first && y.Year <= c.last {
			return nil, &DataError{Path: "year", Reason: fmt.Sprintf("%d is already covered (calendar covers %d through %d)", y.Year, c.first, c.last)}
		}
		return nil, &DataError{Path: "year", Reason: fmt.Sprintf("%d does not follow the last covered year %d: years must be adopted in order, without gaps", y.Year, c.last)}
	}
	if err := y.check(); err != nil {
		return nil, err
	}
	national := make(map[Date]Day, len(c.national)+32)
	for d, day := range c.national {
		national[d] = day
	}
	names := map[string]string{}
	for i, s := range y.Holidays {
		names[s.ZH] = s.EN
		for d := s.From; !d.After(s.To); d = d.AddDays(1) {
			if prev, ok := national[d]; ok {
				return nil, &DataError{Path: fmt.Sprintf("holidays[%d]", i), Reason: fmt.Sprintf("%s already listed (%s %s, %s)", d, prev.NameZH, prev.Kind, prev.Notice)}
			}
			national[d] = Day{Date: d, Kind: Holiday, NameZH: s.ZH, NameEN: s.EN, Notice: y.Notice}
		}
	}
	for i, w := range y.Workdays {
		if prev, ok := national[w.Date]; ok {
			return nil, &DataError{Path: fmt.Sprintf("workdays[%d].date", i), Reason: fmt.Sprintf("%s already listed (%s %s)", w.Date, prev.NameZH, prev.Kind)}
		}
		national[w.Date] = Day{Date: w.Date, Kind: AdjustedWorkday, NameZH: w.For, NameEN: names[w.For], Notice: y.Notice}
	}
	return &Calendar{first: c.first, last: y.Year, national: national, regions: c.regions}, nil
}

// check applies Parse's per-year rules to y.
func (y *Year) check() error {
	bad := func(path, format string, args ...any) error {
		return &DataError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if y.Year < 1949 || y.Year > 9998 {
		return bad("year", "want a year between 1949 and 9998, got %d", y.Year)
	}
	if y.Notice == "" {
		return bad("notice", "the State Council notice's document number is required")
	}
	if y.Title == "" {
		return bad("title", "the notice's title is required")
	}
	if y.Published.IsZero() {
		return bad("published", "the notice's publication date is required")
	}
	if len(y.Holidays) == 0 {
		return bad("holidays", "at least one holiday span is required")
	}
	inYear := func(d Date) bool {
		return d.year == y.Year || (d.year == y.Year-1 && d.month == time.December)
	}
	seen := map[Date]string{}
	names := map[string]bool{}
	for i, s := range y.Holidays {
		p := fmt.Sprintf("holidays[%d]", i)
		switch {
		case s.ZH == "" || s.EN == "":
			return bad(p, "zh and en names are required")
		case s.From.IsZero() || !inYear(s.From):
			return bad(p+".from", "%s is outside %d (only the December before may start a span)", s.From, y.Year)
		case s.To.IsZero() || !inYear(s.To):
			return bad(p+".to", "%s is outside %d", s.To, y.Year)
		case s.To.Before(s.From):
			return bad(p+".to", "%s is before from %s", s.To, s.From)
		case s.From.AddDays(14).Before(s.To):
			return bad(p+".to", "span %s to %s is longer than 15 days; split it or check the dates", s.From, s.To)
		}
		for d := s.From; !d.After(s.To); d = d.AddDays(1) {
			if prev, dup := seen[d]; dup {
				return bad(p, "%s already listed at %s", d, prev)
			}
			seen[d] = p
		}
		names[s.ZH] = true
	}
	for i, w := range y.Workdays {
		p := fmt.Sprintf("workdays[%d]", i)
		switch {
		case w.Date.IsZero() || w.Date.year != y.Year:
			return bad(p+".date", "%s is outside %d", w.Date, y.Year)
		case !isWeekend(w.Date):
			return bad(p+".date", "%s is a %s; an adjusted working day must be a Saturday or Sunday", w.Date, w.Date.Weekday())
		case !names[w.For]:
			return bad(p+".for", "%q is not a holiday listed for %d", w.For, y.Year)
		}
		if prev, dup := seen[w.Date]; dup {
			return bad(p+".date", "%s already listed at %s", w.Date, prev)
		}
		seen[w.Date] = p
	}
	return nil
}

// ParseYear reads a file in the cn_holidays.yaml format (FormatV1) holding
// exactly one year, with every rule of Parse checked, and returns that year
// (amendments and regions are not part of a Year and are refused).
func ParseYear(data []byte) (Year, error) {
	if _, err := Parse(data); err != nil {
		return Year{}, err
	}
	var doc struct {
		Years []struct {
			Year       int    `yaml:"year"`
			Notice     string `yaml:"notice"`
			Title      string `yaml:"title"`
			Published  string `yaml:"published"`
			URL        string `yaml:"url"`
			Amendments []any  `yaml:"amendments"`
			Holidays   []struct {
				ZH, EN   string
				From, To string
			} `yaml:"holidays"`
			Workdays []struct {
				Date string
				For  string `yaml:"for"`
			} `yaml:"workdays"`
		} `yaml:"years"`
		Regions []any `yaml:"regions"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return Year{}, &DataError{Reason: err.Error()}
	}
	if len(doc.Years) != 1 {
		return Year{}, &DataError{Path: "years", Reason: fmt.Sprintf("want exactly one year to adopt, got %d", len(doc.Years))}
	}
	if len(doc.Regions) > 0 {
		return Year{}, &DataError{Path: "regions", Reason: "regional overrides are not adopted with a national calendar year"}
	}
	src := doc.Years[0]
	if len(src.Amendments) > 0 {
		return Year{}, &DataError{Path: "years[0].amendments", Reason: "amendments are adopted as a corrected year, not listed"}
	}
	must := func(s string) Date { d, _ := ParseDate(s); return d } // Parse validated every date
	y := Year{Year: src.Year, Notice: src.Notice, Title: src.Title, Published: must(src.Published), URL: src.URL}
	for _, h := range src.Holidays {
		y.Holidays = append(y.Holidays, Span{ZH: h.ZH, EN: h.EN, From: must(h.From), To: must(h.To)})
	}
	for _, w := range src.Workdays {
		y.Workdays = append(y.Workdays, Adjusted{Date: must(w.Date), For: w.For})
	}
	return y, y.check()
}

// AddWorkdaysProvisional is AddWorkdays that never fails for lack of data
// after the last covered year: such days count as working days Monday to
// Friday and as days off on Saturday and Sunday, and provisional is true
// when the result (or d itself) lies after the last covered year. Regional
// overrides apply only within covered years. A date before the first
// covered year is still an *UnknownYearError: the past is never guessed.
func (c *Calendar) AddWorkdaysProvisional(d Date, n int, region string) (due Date, provisional bool, err error) {
	if n < 0 {
		return Date{}, false, fmt.Errorf("workdays: AddWorkdays: n must be >= 0, got %d", n)
	}
	chain, err := regionChain(region)
	if err != nil {
		return Date{}, false, err
	}
	if d.IsZero() {
		return Date{}, false, fmt.Errorf("workdays: zero Date is not a date")
	}
	if d.year < c.first {
		return Date{}, false, &UnknownYearError{Year: d.year, Covered: [2]int{c.first, c.last}}
	}
	if n == 0 && c.kindProvisional(d, chain).IsWorkday() {
		return d, d.year > c.last, nil
	}
	want := max(n, 1)
	cur := d
	for count := 0; ; {
		cur = cur.AddDays(1)
		if c.kindProvisional(cur, chain).IsWorkday() {
			count++
			if count == want {
				return cur, cur.year > c.last, nil
			}
		}
	}
}

// WorkdaysBetweenProvisional is WorkdaysBetween counting days after the
// last covered year by the weekday rule; provisional reports whether any
// day of (a, b] lies after it.
func (c *Calendar) WorkdaysBetweenProvisional(a, b Date, region string) (n int, provisional bool, err error) {
	chain, err := regionChain(region)
	if err != nil {
		return 0, false, err
	}
	for _, d := range []Date{a, b} {
		if d.IsZero() {
			return 0, false, fmt.Errorf("workdays: zero Date is not a date")
		}
		if d.year < c.first {
			return 0, false, &UnknownYearError{Year: d.year, Covered: [2]int{c.first, c.last}}
		}
	}
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	for cur := a.AddDays(1); !cur.After(b); cur = cur.AddDays(1) {
		if c.kindProvisional(cur, chain).IsWorkday() {
			n++
		}
	}
	return sign * n, b.year > c.last, nil
}

// Provisional reports whether d lies after the last covered year, so that
// its status comes from the weekday rule only.
func (c *Calendar) Provisional(d Date) bool { return d.year > c.last }

// Years lists the covered years in order.
func (c *Calendar) Years() []int {
	out := make([]int, 0, c.last-c.first+1)
	for y := c.first; y <= c.last; y++ {
		out = append(out, y)
	}
	return slices.Clip(out)
}

func (c *Calendar) kindProvisional(d Date, chain []string) Kind {
	if d.year > c.last {
		if isWeekend(d) {
			return Weekend
		}
		return Workday
	}
	return c.describe(d, chain).Kind
}
