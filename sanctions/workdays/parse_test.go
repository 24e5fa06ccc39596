package workdays

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const miniData = `format: creditx-workdays/v1
source: test
years:
  - year: 2024
    notice: N-2024
    title: T
    published: 2023-10-25
    holidays:
      - {zh: 春节, en: Spring Festival, from: 2024-02-10, to: 2024-02-17}
    workdays:
      - {date: 2024-02-04, for: 春节}
`

func TestParseMini(t *testing.T) {
	c, err := Parse([]byte(miniData))
	if err != nil {
		t.Fatal(err)
	}
	if c.Covered() != [2]int{2024, 2024} {
		t.Errorf("Covered = %v", c.Covered())
	}
	day, _ := c.Describe(d("2024-02-04"), "")
	if day.Kind != AdjustedWorkday || day.NameEN != "Spring Festival" || day.Notice != "N-2024" {
		t.Errorf("2024-02-04 = %+v", day)
	}
}

// TestParseErrors changes one thing in miniData and checks that Parse
// rejects it with a *DataError naming the line and the key.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		line           int
		want           string // substring of the message
	}{
		{"format", "creditx-workdays/v1", "creditx-workdays/v2", 1, `format: unsupported format "creditx-workdays/v2"`},
		{"unknown top key", "source: test", "source: test\nextra: 1", 3, "extra: unknown key"},
		{"missing source", "source: test\n", "", 1, "source: required key missing"},
		{"year not number", "year: 2024", "year: twenty", 4, `want a year between 1949 and 9998, got "twenty"`},
		{"empty notice", "notice: N-2024", "notice: ''", 5, "years[2024].notice: must not be empty"},
		{"bad published", "published: 2023-10-25", "published: 2023-10-32", 7, `years[2024].published: workdays: date "2023-10-32"`},
		{"unknown holiday key", "from: 2024-02-10,", "from: 2024-02-10, days: 8,", 9, "years[2024].holidays[0].days: unknown key"},
		{"to before from", "to: 2024-02-17", "to: 2024-02-09", 9, "years[2024].holidays[0].to: 2024-02-09 is before from 2024-02-10"},
		{"span too long", "to: 2024-02-17", "to: 2024-03-17", 9, "longer than 15 days"},
		{"span outside year", "from: 2024-02-10, to: 2024-02-17", "from: 2025-02-10, to: 2025-02-17", 9, "years[2024].holidays[0].from: 2025-02-10 is outside 2024"},
		{"workday on weekday", "date: 2024-02-04", "date: 2024-02-05", 11, "2024-02-05 is a Monday; an adjusted working day must be a Saturday or Sunday"},
		{"workday for unknown holiday", "for: 春节", "for: 国庆节", 11, `years[2024].workdays[0].for: "国庆节" is not a holiday listed for 2024`},
		{"workday inside holiday", "date: 2024-02-04", "date: 2024-02-11", 11, "2024-02-11 already listed at line 9"},
		{"foreign notice", "for: 春节}", "for: 春节, notice: X-1}", 11, "notice X-1 is neither the 2024 notice nor one of its amendments"},
		{"no holidays", "holidays:\n      - {zh: 春节, en: Spring Festival, from: 2024-02-10, to: 2024-02-17}\n    workdays:\n      - {date: 2024-02-04, for: 春节}\n", "holidays: []\n    workdays: []\n", 8, "at least one holiday span is required"},
		{"duplicate key", "title: T", "title: T\n    title: U", 7, "years[0].title: key given twice"},
		{"alias", "title: T", "title: &a T", 6, "anchors and aliases are not allowed"},
		{"years not list", miniData, "format: creditx-workdays/v1\nsource: s\nyears: 2024\n", 3, "years: want a list"},
		{"gap between years", "    workdays:\n      - {date: 2024-02-04, for: 春节}\n", "    workdays:\n      - {date: 2024-02-04, for: 春节}\n  - year: 2026\n    notice: N\n    title: T\n    published: 2025-11-04\n    holidays: [{zh: a, en: b, from: 2026-01-01, to: 2026-01-01}]\n    workdays: []\n", 12, "years must be consecutive and ascending: 2026 follows 2024"},
		{"region bad code", "", "regions:\n  - code: \"33\"\n", 13, `regions[0].code: workdays: region "33"`},
		{"region off on a holiday", "", "regions:\n  - code: \"330000\"\n    off: [{date: 2024-02-12, zh: a, en: b, notice: c}]\n", 14, "2024-02-12 is already a day off nationally"},
		{"region on a workday", "", "regions:\n  - code: \"330000\"\n    on: [{date: 2024-02-05, zh: a, en: b, notice: c}]\n", 14, "2024-02-05 is already a working day nationally"},
		{"region outside years", "", "regions:\n  - code: \"330000\"\n    on: [{date: 2025-02-01, zh: a, en: b, notice: c}]\n", 14, "outside the covered years 2024-2024"},
		{"region twice", "", "regions:\n  - code: \"330000\"\n  - code: \"330000\"\n", 14, "region 330000 listed twice"},
		{"region missing notice", "", "regions:\n  - code: \"330000\"\n    on: [{date: 2024-02-03, zh: a, en: b}]\n", 14, "notice: required key missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in string
			if tt.old == "" {
				in = miniData + tt.new
			} else {
				if !strings.Contains(miniData, tt.old) {
					t.Fatalf("test bug: %q not in miniData", tt.old)
				}
				in = strings.Replace(miniData, tt.old, tt.new, 1)
			}
			_, err := Parse([]byte(in))
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DataError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if de.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", de.Line, tt.line, err)
			}
		})
	}
}

func TestParseWholeDocumentErrors(t *testing.T) {
	for _, in := range []string{"", "[1, 2]", "format: [", strings.Repeat("#", maxDataSize+1)} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%.20q) succeeded", in)
		}
	}
}

func TestDefaultDataIsCopy(t *testing.T) {
	a := DefaultData()
	a[0] = 'X'
	if bytes.Equal(a, DefaultData()) {
		t.Error("DefaultData returns the embedded slice itself")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultData())
	f.Add([]byte(miniData))
	f.Add([]byte(regionalData))
	f.Add([]byte("format: creditx-workdays/v1\nsource: s\nyears: []\n"))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a *DataError: %v", err)
			}
			return
		}
		cov := c.Covered()
		if cov[0] > cov[1] {
			t.Fatalf("Covered = %v", cov)
		}
		// Every covered year answers; the years around it do not.
		start := MustDate(cov[0], 1, 1)
		if _, err := c.AddWorkdays(start, 0, ""); err != nil {
			var uy *UnknownYearError
			if !errors.As(err, &uy) || uy.Year != cov[1]+1 {
				t.Fatalf("AddWorkdays(%s, 0): %v", start, err)
			}
		}
		if _, err := c.IsWorkday(start.AddDays(-1), ""); err == nil {
			t.Fatalf("year before coverage answered")
		}
		for code, days := range c.regions {
			for date, day := range days {
				if day.Region != code || day.Date != date {
					t.Fatalf("region entry %s %s = %+v", code, date, day)
				}
			}
		}
	})
}
