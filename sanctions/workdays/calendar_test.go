package workdays

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func defaultCal(t testing.TB) *Calendar {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return c
}

func d(s string) Date {
	x, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

// TestOfficialFacts checks well-known days against the notices' wording
// (quoted in the comments), independently of how the data file spells them.
func TestOfficialFacts(t *testing.T) {
	c := defaultCal(t)
	tests := []struct {
		date   string
		kind   Kind
		nameZH string // "" = do not check
		notice string // "" = do not check
	}{
		// 2020: "1月19日（星期日）、2月1日（星期六）上班", then 国办发明电〔2020〕1号
		// extended the Spring Festival to 2 February, so 1 February was off.
		{"2020-01-19", AdjustedWorkday, "春节", "国办发明电〔2019〕16号"},
		{"2020-01-24", Holiday, "春节", "国办发明电〔2019〕16号"},
		{"2020-01-31", Holiday, "春节（延长）", "国办发明电〔2020〕1号"},
		{"2020-02-01", Holiday, "春节（延长）", "国办发明电〔2020〕1号"},
		{"2020-02-02", Holiday, "春节（延长）", "国办发明电〔2020〕1号"},
		{"2020-02-03", Workday, "", ""},
		{"2020-10-08", Holiday, "国庆节、中秋节", ""},
		{"2020-10-10", AdjustedWorkday, "国庆节、中秋节", ""},
		// 2021: "9月18日（星期六）上班" for the Mid-Autumn Festival.
		{"2021-09-18", AdjustedWorkday, "中秋节", "国办发明电〔2020〕27号"},
		{"2021-02-17", Holiday, "春节", ""},
		// 2022: "4月2日（星期六）上班"; "10月8日（星期六）、10月9日（星期日）上班".
		{"2022-04-02", AdjustedWorkday, "清明节", "国办发明电〔2021〕11号"},
		{"2022-10-09", AdjustedWorkday, "国庆节", ""},
		{"2022-01-31", Holiday, "春节", ""},
		// 2023: "2022年12月31日至2023年1月2日放假调休"; "清明节：4月5日放假，共1天".
		{"2022-12-31", Holiday, "元旦", "国办发明电〔2022〕16号"},
		{"2023-01-02", Holiday, "元旦", ""},
		{"2023-04-05", Holiday, "清明节", ""},
		{"2023-04-06", Workday, "", ""},
		{"2023-10-08", AdjustedWorkday, "中秋节、国庆节", ""},
		// 2024: "2月10日至17日放假调休…2月4日（星期日）、2月18日（星期日）上班";
		// the eve (2月9日) is only "encouraged" off, so it is a working day.
		{"2024-02-04", AdjustedWorkday, "春节", "国办发明电〔2023〕7号"},
		{"2024-02-09", Workday, "", ""},
		{"2024-02-10", Holiday, "春节", ""},
		{"2024-02-17", Holiday, "春节", ""},
		{"2024-02-18", AdjustedWorkday, "春节", ""},
		{"2024-06-10", Holiday, "端午节", ""},
		{"2024-06-08", Weekend, "", ""},
		{"2024-09-14", AdjustedWorkday, "中秋节", ""},
		// 2025: "1月26日（周日）、2月8日（周六）上班"; 元旦 "放假1天，不调休".
		{"2025-01-26", AdjustedWorkday, "春节", "国办发明电〔2024〕12号"},
		{"2025-02-08", AdjustedWorkday, "春节", ""},
		{"2025-01-28", Holiday, "春节", ""},
		{"2025-02-04", Holiday, "春节", ""},
		{"2025-10-08", Holiday, "国庆节、中秋节", ""},
		// 2026: "2月15日至23日放假调休…2月14日（周六）、2月28日（周六）上班";
		// "9月20日（周日）、10月10日（周六）上班".
		{"2026-01-04", AdjustedWorkday, "元旦", "国办发明电〔2025〕7号"},
		{"2026-02-14", AdjustedWorkday, "春节", ""},
		{"2026-02-23", Holiday, "春节", ""},
		{"2026-02-28", AdjustedWorkday, "春节", ""},
		{"2026-09-20", AdjustedWorkday, "国庆节", ""},
		{"2026-10-07", Holiday, "国庆节", ""},
		{"2026-10-08", Workday, "", ""},
		{"2026-10-10", AdjustedWorkday, "国庆节", ""},
		{"2026-11-21", Weekend, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			day, err := c.Describe(d(tt.date), "")
			if err != nil {
				t.Fatal(err)
			}
			if day.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v", day.Kind, tt.kind)
			}
			if tt.nameZH != "" && day.NameZH != tt.nameZH {
				t.Errorf("name = %q, want %q", day.NameZH, tt.nameZH)
			}
			if tt.notice != "" && day.Notice != tt.notice {
				t.Errorf("notice = %q, want %q", day.Notice, tt.notice)
			}
			ok, err := c.IsWorkday(d(tt.date), "")
			if err != nil || ok != tt.kind.IsWorkday() {
				t.Errorf("IsWorkday = %v, %v; want %v", ok, err, tt.kind.IsWorkday())
			}
		})
	}
}

// TestYearTotals compares, per notice year, the days off and the weekend
// days worked with the totals of an independent reading of the notices
// (days off summed over the spans, changes applied; 2020 includes the
// extension and drops Saturday 1 February from the days worked).
func TestYearTotals(t *testing.T) {
	c := defaultCal(t)
	want := map[int][2]int{ // year -> {days off, days worked}
		2020: {30, 6}, 2021: {31, 7}, 2022: {31, 7}, 2023: {27, 7},
		2024: {28, 8}, 2025: {28, 5}, 2026: {33, 6},
	}
	noticeYear := map[string]int{
		"国办发明电〔2019〕16号": 2020, "国办发明电〔2020〕1号": 2020, "国办发明电〔2020〕27号": 2021,
		"国办发明电〔2021〕11号": 2022, "国办发明电〔2022〕16号": 2023, "国办发明电〔2023〕7号": 2024,
		"国办发明电〔2024〕12号": 2025, "国办发明电〔2025〕7号": 2026,
	}
	_, err := c.Days(d("2019-12-31"), d("2026-12-31"), "")
	if err == nil {
		t.Fatal("Days from 2019-12-31 should fail: 2019 is not covered")
	}
	days, err := c.Days(d("2020-01-01"), d("2026-12-31"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Days excludes its start; add 2020-01-01 by hand.
	first, _ := c.Describe(d("2020-01-01"), "")
	days = append([]Day{first}, days...)
	got := map[int][2]int{}
	for _, day := range days {
		y, ok := noticeYear[day.Notice]
		if !ok {
			t.Fatalf("%s cites unexpected notice %q", day.Date, day.Notice)
		}
		v := got[y]
		if day.Kind == Holiday {
			v[0]++
		} else {
			v[1]++
			if !isWeekend(day.Date) {
				t.Errorf("%s worked but is a %s", day.Date, day.Date.Weekday())
			}
		}
		got[y] = v
	}
	for y, w := range want {
		if got[y] != w {
			t.Errorf("%d: {off, worked} = %v, want %v", y, got[y], w)
		}
	}
	if c.Covered() != [2]int{2020, 2026} {
		t.Errorf("Covered = %v", c.Covered())
	}
}

func TestAddWorkdays(t *testing.T) {
	c := defaultCal(t)
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2024-02-08", 1, "2024-02-09"},  // eve of Spring Festival is worked
		{"2024-02-09", 1, "2024-02-18"},  // skips the 8 days off, lands on the worked Sunday
		{"2024-02-09", 2, "2024-02-19"},  //
		{"2024-02-03", 0, "2024-02-04"},  // Saturday -> next working day, a worked Sunday
		{"2024-02-04", 0, "2024-02-04"},  // a worked Sunday is itself a working day
		{"2024-02-12", 0, "2024-02-18"},  // inside the holiday
		{"2025-01-24", 1, "2025-01-26"},  // Friday -> worked Sunday
		{"2025-01-26", 2, "2025-02-05"},  // Monday 27th, then after the break
		{"2020-01-23", 1, "2020-02-03"},  // the 2020 extension: 1 February is off
		{"2023-12-29", 1, "2024-01-02"},  // across the year end and New Year's Day
		{"2026-09-18", 10, "2026-10-09"}, // default feedback deadline across two breaks
		{"2026-06-17", 5, "2026-06-25"},  // 18th, 22nd..25th: Dragon Boat 19-21 skipped
		{"2021-09-17", 1, "2021-09-18"},  // worked Saturday before Mid-Autumn
	}
	for _, tt := range tests {
		got, err := c.AddWorkdays(d(tt.from), tt.n, "")
		if err != nil {
			t.Errorf("AddWorkdays(%s, %d): %v", tt.from, tt.n, err)
			continue
		}
		if got != d(tt.want) {
			t.Errorf("AddWorkdays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
		if tt.n > 0 {
			back, err := c.WorkdaysBetween(d(tt.from), got, "")
			if err != nil || back != tt.n {
				t.Errorf("WorkdaysBetween(%s, %s) = %d, %v; want %d", tt.from, got, back, err, tt.n)
			}
		}
	}
}

// TestAddWorkdaysInverse checks, for every start day and several n, that the
// result is a working day, that exactly n working days lie in (d, result],
// and that WorkdaysBetween is antisymmetric.
func TestAddWorkdaysInverse(t *testing.T) {
	c := defaultCal(t)
	for start := d("2020-01-01"); start.Year() < 2026 || start.Month() < time.November; start = start.AddDays(1) {
		for _, n := range []int{1, 2, 5, 10, 20} {
			got, err := c.AddWorkdays(start, n, "")
			if err != nil {
				t.Fatalf("AddWorkdays(%s, %d): %v", start, n, err)
			}
			if ok, _ := c.IsWorkday(got, ""); !ok {
				t.Fatalf("AddWorkdays(%s, %d) = %s, not a working day", start, n, got)
			}
			between, _ := c.WorkdaysBetween(start, got, "")
			rev, _ := c.WorkdaysBetween(got, start, "")
			if between != n || rev != -n {
				t.Fatalf("WorkdaysBetween(%s, %s) = %d / reverse %d, want %d", start, got, between, rev, n)
			}
		}
	}
}

func TestUnknownYear(t *testing.T) {
	c := defaultCal(t)
	tests := []struct {
		name string
		call func() error
		year int
	}{
		{"IsWorkday 2019", func() error { _, err := c.IsWorkday(d("2019-12-31"), ""); return err }, 2019},
		{"IsWorkday 2027", func() error { _, err := c.IsWorkday(d("2027-01-04"), ""); return err }, 2027},
		{"AddWorkdays runs past 2026", func() error { _, err := c.AddWorkdays(d("2026-12-28"), 5, ""); return err }, 2027},
		{"WorkdaysBetween end 2027", func() error { _, err := c.WorkdaysBetween(d("2026-01-01"), d("2027-01-01"), ""); return err }, 2027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var uy *UnknownYearError
			if !errors.As(err, &uy) {
				t.Fatalf("err = %v, want *UnknownYearError", err)
			}
			if uy.Year != tt.year || uy.Covered != [2]int{2020, 2026} {
				t.Errorf("got %+v", uy)
			}
			if !strings.Contains(err.Error(), "covers 2020 through 2026") {
				t.Errorf("message %q does not say which years are covered", err)
			}
		})
	}
	// The last days of 2026 are still answerable.
	if got, err := c.AddWorkdays(d("2026-12-28"), 3, ""); err != nil || got != d("2026-12-31") {
		t.Errorf("AddWorkdays(2026-12-28, 3) = %s, %v", got, err)
	}
}

func TestBadArguments(t *testing.T) {
	c := defaultCal(t)
	if _, err := c.AddWorkdays(d("2024-01-02"), -1, ""); err == nil || !strings.Contains(err.Error(), "n must be >= 0") {
		t.Errorf("negative n: %v", err)
	}
	if _, err := c.IsWorkday(Date{}, ""); err == nil {
		t.Error("zero Date accepted")
	}
	for _, region := range []string{"33", "3300001", "33000a", "000000"} {
		if _, err := c.IsWorkday(d("2024-01-02"), region); err == nil || !strings.Contains(err.Error(), region) {
			t.Errorf("region %q: err = %v", region, err)
		}
	}
}

const regionalData = `format: creditx-workdays/v1
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
      - {date: 2024-02-18, for: 春节}
regions:
  - code: "330000"
    off:
      - {date: 2024-03-05, zh: 省级停工日, en: Provincial day off, notice: P-1}
      - {date: 2024-03-06, zh: 省级停工日, en: Provincial day off, notice: P-1}
  - code: "330100"
    on:
      - {date: 2024-02-12, zh: 市级补班, en: City working day, notice: C-1}
    off:
      - {date: 2024-02-18, zh: 市级取消补班, en: City cancels worked Sunday, notice: C-2}
  - code: "330106"
    on:
      - {date: 2024-03-09, zh: 区级补班, en: District working day, notice: D-1}
`

func TestRegionalOverrides(t *testing.T) {
	c, err := Parse([]byte(regionalData))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date, region string
		work         bool
		from         string // region that decided, "" national
	}{
		{"2024-03-05", "", true, ""},
		{"2024-03-05", "320000", true, ""},
		{"2024-03-05", "330000", false, "330000"},
		{"2024-03-05", "330200", false, "330000"}, // another city inherits the province
		{"2024-03-05", "330106", false, "330000"}, // county inherits the province
		{"2024-02-12", "330000", false, ""},       // city override does not reach up
		{"2024-02-12", "330100", true, "330100"},
		{"2024-02-12", "330106", true, "330100"},
		{"2024-02-18", "", true, ""},
		{"2024-02-18", "330106", false, "330100"},
		{"2024-03-09", "330106", true, "330106"},
		{"2024-03-09", "330100", false, ""},
	}
	for _, tt := range tests {
		day, err := c.Describe(d(tt.date), tt.region)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.date, tt.region, err)
		}
		if day.Kind.IsWorkday() != tt.work || day.Region != tt.from {
			t.Errorf("%s in %q = %+v, want workday=%v from %q", tt.date, tt.region, day, tt.work, tt.from)
		}
	}
	// Deadlines follow the region: 2024-03-04 + 1 is the 5th nationally, the 7th in Zhejiang.
	for region, want := range map[string]string{"": "2024-03-05", "330000": "2024-03-07"} {
		got, err := c.AddWorkdays(d("2024-03-04"), 1, region)
		if err != nil || got != d(want) {
			t.Errorf("AddWorkdays in %q = %s, %v; want %s", region, got, err, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	c := defaultCal(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.AddWorkdays(d("2024-02-09"), 1, "330000")
			if err == nil && got != d("2024-02-18") {
				err = errors.New("wrong result " + got.String())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want Date
	}{
		{"2024-02-29", true, MustDate(2024, time.February, 29)},
		{"2023-02-29", false, Date{}},
		{"2024-2-04", false, Date{}},
		{"2024-02-04T00:00:00Z", false, Date{}},
		{"2024-13-01", false, Date{}},
		{"0000-01-01", false, Date{}},
		{"2024/02/04", false, Date{}},
		{"2024-0a-04", false, Date{}},
		{"", false, Date{}},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want ok=%v %v", tt.in, got, err, tt.ok, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.in) {
			t.Errorf("error %q does not quote the input", err)
		}
	}
	if got := d("2024-12-31").AddDays(1); got.String() != "2025-01-01" {
		t.Errorf("AddDays across year = %s", got)
	}
	loc := time.FixedZone("CST", 8*3600)
	if got := DateOf(time.Date(2024, 2, 17, 23, 30, 0, 0, loc)); got != d("2024-02-17") {
		t.Errorf("DateOf = %s", got)
	}
}

func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddWorkdays10(b *testing.B) {
	c := defaultCal(b)
	from := d("2026-09-18")
	for b.Loop() {
		if _, err := c.AddWorkdays(from, 10, "330106"); err != nil {
			b.Fatal(err)
		}
	}
}
