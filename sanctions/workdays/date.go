package workdays

import (
	"fmt"
	"time"
)

// Date is a civil calendar date (year, month, day) with no time of day and
// no time zone. Deadlines in the credit rules are counted in whole days of
// the Chinese calendar, so a Date is what every Calendar method takes and
// returns; convert a timestamp with DateOf after moving it into Asia/Shanghai
// (UTC+8) if it is an instant rather than a date.
//
// The zero Date is not a valid date; Calendar methods reject it. Dates are
// comparable with == and usable as map keys.
type Date struct {
	year  int
	month time.Month
	day   int
}

// NewDate returns the date year-month-day, or an error naming the field that
// is out of range (month 1-12, day within the month, year 1-9999). It never
// normalises: 2023-02-29 is an error, not 1 March.
func NewDate(year int, month time.Month, day int) (Date, error) {
	if year < 1 || year > 9999 {
		return Date{}, fmt.Errorf("workdays: year %d out of range 1-9999", year)
	}
	if month < time.January || month > time.December {
		return Date{}, fmt.Errorf("workdays: month %d out of range 1-12", int(month))
	}
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if day < 1 || day > last {
		return Date{}, fmt.Errorf("workdays: day %d out of range 1-%d for %04d-%02d", day, last, year, int(month))
	}
	return Date{year, month, day}, nil
}

// MustDate is NewDate for constants known to be valid; it panics otherwise.
func MustDate(year int, month time.Month, day int) Date {
	d, err := NewDate(year, month, day)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDate parses exactly "YYYY-MM-DD" (ten ASCII characters, zero-padded,
// ISO 8601 calendar date). Anything else — a time part, a zone, "2024-2-4",
// an impossible day — is an error that quotes the input.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("workdays: date %q: want YYYY-MM-DD", s)
	}
	num := func(part string) (int, bool) {
		n := 0
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[0:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("workdays: date %q: want YYYY-MM-DD with digits only", s)
	}
	date, err := NewDate(y, time.Month(m), d)
	if err != nil {
		return Date{}, fmt.Errorf("workdays: date %q: %w", s, err)
	}
	return date, nil
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Year, Month and Day return the parts of d.
func (d Date) Year() int         { return d.year }
func (d Date) Month() time.Month { return d.month }
func (d Date) Day() int          { return d.day }

// IsZero reports whether d is the zero (invalid) Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns d at midnight UTC.
func (d Date) Time() time.Time { return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// AddDays returns the date n calendar days after d (before, if n < 0).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Before reports whether d is earlier than e; After whether it is later.
func (d Date) Before(e Date) bool { return d.compare(e) < 0 }
func (d Date) After(e Date) bool  { return d.compare(e) > 0 }

func (d Date) compare(e Date) int {
	switch {
	case d.year != e.year:
		return d.year - e.year
	case d.month != e.month:
		return int(d.month - e.month)
	default:
		return d.day - e.day
	}
}

// String formats d as YYYY-MM-DD (the zero Date as "0000-00-00").
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.year, int(d.month), d.day) }

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}
