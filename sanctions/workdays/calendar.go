// Package workdays counts working days (工作日) under the official PRC holiday
// calendar, for the feedback, objection and deletion deadlines of the credit
// rules ("within 5 working days").
//
// Guarantees:
//   - A day's status comes only from data: the embedded cn_holidays.yaml,
//     which transcribes, year by year, each State Council notice on the
//     holiday arrangements (国务院办公厅关于XXXX年部分节假日安排的通知, cited
//     per year with its document number), including the weekend days worked
//     in exchange (调休上班) and later amendments such as the 2020 Spring
//     Festival extension (国办发明电〔2020〕1号). Every other Monday-Friday is a
//     working day and every other Saturday and Sunday is not.
//   - Nothing is guessed here: a date whose year has no notice in the data
//     gives an *UnknownYearError that names the years covered. A new year
//     arrives as data adopted on the ledger (calendar_adopt, "creditx
//     workdays adopt FILE", Calendar.Extend) once its notice is published
//     (normally in November); provisional.go counts past the last year on
//     weekdays only, marked provisional. Even the last days of the last
//     covered year are provisional until the next notice, because a
//     notice may reach back into late December (the 2023 notice starts on
//     2022-12-31; the 2012 notice made Saturday 2011-12-31 a working day).
//   - Regional overrides (extra days off or on decided by a province, city
//     or county) are data too, keyed by GB/T 2260 division code. A query for
//     a region applies the overrides of its province, then its city, then the
//     region itself; the most specific one wins. The default data has none.
//   - A Calendar never changes after construction and is safe for
//     concurrent use.
//
// Deadline convention: "within N working days of D" means the deadline is
// AddWorkdays(D, N): the N-th working day strictly after D, so the day of
// the event itself never counts, whether or not it is a working day.
// AddWorkdays(D, 0) is D itself if D is a working day, otherwise the next
// working day. WorkdaysBetween(A, B) counts the working days in (A, B], so
// WorkdaysBetween(D, AddWorkdays(D, N)) == N for every N >= 1.
//
// The data are cross-checked in TestOfficialFacts and TestYearTotals against
// the notices' texts and against independent public transcriptions.
package workdays

import "fmt"

// Kind classifies a day.
type Kind int

const (
	// Workday is an ordinary Monday to Friday.
	Workday Kind = iota + 1
	// Weekend is an ordinary Saturday or Sunday.
	Weekend
	// Holiday is a day off under a notice (放假 or 放假调休), whatever its
	// weekday, or a regional extra day off.
	Holiday
	// AdjustedWorkday is a Saturday or Sunday worked under a notice
	// (调休上班), or a regional extra working day.
	AdjustedWorkday
)

// IsWorkday reports whether days of kind k count as working days.
func (k Kind) IsWorkday() bool { return k == Workday || k == AdjustedWorkday }

func (k Kind) String() string {
	switch k {
	case Workday:
		return "workday"
	case Weekend:
		return "weekend"
	case Holiday:
		return "holiday"
	case AdjustedWorkday:
		return "adjusted working day"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Day is the status of one date and the reason for it.
type Day struct {
	Date Date
	Kind Kind
	// NameZH and NameEN name the holiday (for Holiday) or the holiday the
	// day is worked for (for AdjustedWorkday); empty for Workday and Weekend.
	NameZH, NameEN string
	// Notice is the document number that decided the day; empty for
	// Workday and Weekend.
	Notice string
	// Region is the division code whose override decided the day, or ""
	// when the national arrangement (or the plain weekday rule) did.
	Region string
}

// UnknownYearError reports a date outside the years the calendar has
// official data for. The caller must not fall back to weekdays: a deadline
// in such a year cannot be computed until the data are updated.
type UnknownYearError struct {
	Year    int
	Covered [2]int // first and last year with data, inclusive
}

func (e *UnknownYearError) Error() string {
	return fmt.Sprintf("workdays: no official holiday arrangement loaded for %d; the calendar covers %d through %d only (once the State Council publishes that year's notice, adopt it on the ledger with `creditx workdays adopt FILE`; deadlines past the last year are provisional until then)",
		e.Year, e.Covered[0], e.Covered[1])
}

// Calendar answers working-day questions from official data. Build one with
// Default or Parse; it is immutable afterwards.
type Calendar struct {
	first, last int                     // covered years, inclusive
	national    map[Date]Day            // days that differ from the weekday rule
	regions     map[string]map[Date]Day // division code -> its overrides
}

// Covered returns the first and last year the calendar has data for.
func (c *Calendar) Covered() [2]int { return [2]int{c.first, c.last} }

// Describe returns the status of d in region ("" for the national
// calendar; otherwise a 6-digit division code such as "330000" or "330106").
func (c *Calendar) Describe(d Date, region string) (Day, error) {
	chain, err := regionChain(region)
	if err != nil {
		return Day{}, err
	}
	if err := c.checkDate(d); err != nil {
		return Day{}, err
	}
	return c.describe(d, chain), nil
}

// IsWorkday reports whether d is a working day in region (see Describe).
func (c *Calendar) IsWorkday(d Date, region string) (bool, error) {
	day, err := c.Describe(d, region)
	if err != nil {
		return false, err
	}
	return day.Kind.IsWorkday(), nil
}

// AddWorkdays returns the n-th working day after d in region (n >= 0); see
// the package doc for the convention. It fails with *UnknownYearError if d
// or the result would fall outside the covered years.
func (c *Calendar) AddWorkdays(d Date, n int, region string) (Date, error) {
	if n < 0 {
		return Date{}, fmt.Errorf("workdays: AddWorkdays: n must be >= 0, got %d", n)
	}
	chain, err := regionChain(region)
	if err != nil {
		return Date{}, err
	}
	if err := c.checkDate(d); err != nil {
		return Date{}, err
	}
	if n == 0 && c.describe(d, chain).Kind.IsWorkday() {
		return d, nil
	}
	want := max(n, 1)
	cur := d
	for count := 0; ; {
		cur = cur.AddDays(1)
		if err := c.checkDate(cur); err != nil {
			return Date{}, fmt.Errorf("workdays: %d working days after %s: %w", n, d, err)
		}
		if c.describe(cur, chain).Kind.IsWorkday() {
			count++
			if count == want {
				return cur, nil
			}
		}
	}
}

// WorkdaysBetween returns the number of working days in region in the
// half-open interval (a, b]; negative, the count for (b, a], if b is before a.
func (c *Calendar) WorkdaysBetween(a, b Date, region string) (int, error) {
	chain, err := regionChain(region)
	if err != nil {
		return 0, err
	}
	if err := c.checkDate(a); err != nil {
		return 0, err
	}
	if err := c.checkDate(b); err != nil {
		return 0, err
	}
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	n := 0
	for cur := a.AddDays(1); !cur.After(b); cur = cur.AddDays(1) {
		if c.describe(cur, chain).Kind.IsWorkday() {
			n++
		}
	}
	return sign * n, nil
}

// Days returns the status of every date in (a, b] whose Kind is Holiday or
// AdjustedWorkday, in date order: what a clerk needs to see why a deadline
// lies where it does. It fails like WorkdaysBetween.
func (c *Calendar) Days(a, b Date, region string) ([]Day, error) {
	chain, err := regionChain(region)
	if err != nil {
		return nil, err
	}
	if err := c.checkDate(a); err != nil {
		return nil, err
	}
	if err := c.checkDate(b); err != nil {
		return nil, err
	}
	var out []Day
	for cur := a.AddDays(1); !cur.After(b); cur = cur.AddDays(1) {
		if day := c.describe(cur, chain); day.Kind == Holiday || day.Kind == AdjustedWorkday {
			out = append(out, day)
		}
	}
	return out, nil
}

func (c *Calendar) checkDate(d Date) error {
	if d.IsZero() {
		return fmt.Errorf("workdays: zero Date is not a date")
	}
	if d.year < c.first || d.year > c.last {
		return &UnknownYearError{Year: d.year, Covered: [2]int{c.first, c.last}}
	}
	return nil
}

// describe assumes d is covered and chain valid; chain is most specific first.
func (c *Calendar) describe(d Date, chain []string) Day {
	for _, code := range chain {
		if day, ok := c.regions[code][d]; ok {
			return day
		}
	}
	if day, ok := c.national[d]; ok {
		return day
	}
	if isWeekend(d) {
		return Day{Date: d, Kind: Weekend}
	}
	return Day{Date: d, Kind: Workday}
}

// regionChain validates a division code and returns the codes whose
// overrides apply, most specific first: "330106" -> 330106, 330100, 330000.
func regionChain(region string) ([]string, error) {
	if region == "" {
		return nil, nil
	}
	if err := checkRegionCode(region); err != nil {
		return nil, err
	}
	chain := []string{region}
	if city := region[:4] + "00"; city != region {
		chain = append(chain, city)
	}
	if prov := region[:2] + "0000"; prov != chain[len(chain)-1] {
		chain = append(chain, prov)
	}
	return chain, nil
}

func checkRegionCode(code string) error {
	if len(code) != 6 {
		return fmt.Errorf("workdays: region %q: want a 6-digit GB/T 2260 division code or \"\" for national", code)
	}
	for i := 0; i < 6; i++ {
		if code[i] < '0' || code[i] > '9' {
			return fmt.Errorf("workdays: region %q: want a 6-digit GB/T 2260 division code or \"\" for national", code)
		}
	}
	if code[:2] == "00" {
		return fmt.Errorf("workdays: region %q: province digits 00 do not name a province", code)
	}
	return nil
}
