package schemas

import (
	"encoding/json"
	"fmt"
	"time"
)

// Time is an instant in records, encoded as an RFC 3339 UTC string with
// second precision and a Z suffix: "2026-03-01T08:00:00Z" (exactly 20
// bytes). Decoding rejects every other form (offsets, fractions, lower-case
// t/z) so that each instant has one encoding. The zero Time is omitted.
type Time struct{ time.Time }

// Date is a calendar date in records, encoded as "2006-01-02". Decoding
// rejects every other form. The zero Date is omitted.
type Date struct{ time.Time }

const (
	timeLayout = "2006-01-02T15:04:05Z"
	dateLayout = "2006-01-02"
)

// NewTime returns t in UTC truncated to the second.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Second)} }

// NewDate returns the date y-m-d.
func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// formatError reports a time or date string in the wrong form.
type formatError struct {
	value string
	msg   string
}

func (e *formatError) Error() string { return e.msg }

// ParseTime parses the record form of a Time.
func ParseTime(s string) (Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil || t.Format(timeLayout) != s {
		return Time{}, &formatError{s, fmt.Sprintf("time %q: want RFC 3339 UTC with seconds and Z, like 2026-03-01T08:00:00Z", s)}
	}
	return Time{t}, nil
}

// ParseDate parses the record form of a Date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return Date{}, &formatError{s, fmt.Sprintf("date %q: want a calendar date like 2026-03-01", s)}
	}
	return Date{t}, nil
}

// String returns the record form, or "" for the zero Time.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// String returns the record form, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(dateLayout)
}

// Date returns the UTC calendar date of t.
func (t Time) Date() Date {
	u := t.UTC()
	return NewDate(u.Year(), u.Month(), u.Day())
}

func (t Time) MarshalJSON() ([]byte, error) {
	if t.Nanosecond() != 0 {
		return nil, fmt.Errorf("time %s has sub-second precision", t.Time)
	}
	return json.Marshal(t.String())
}

func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time must be a string like 2026-03-01T08:00:00Z")
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (d Date) MarshalJSON() ([]byte, error) {
	if h, m, s := d.Clock(); h != 0 || m != 0 || s != 0 || d.Nanosecond() != 0 {
		return nil, fmt.Errorf("date %s has a time of day", d.Time)
	}
	return json.Marshal(d.String())
}

func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string like 2026-03-01")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
