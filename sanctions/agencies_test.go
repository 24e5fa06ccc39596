package sanctions

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

func TestLoadAgenciesSample(t *testing.T) {
	ag := loadAgencies(t)
	if ag.Region() != "330000" || len(ag.All()) != 15 || ag.Source() == "" {
		t.Fatalf("region %s, %d agencies, source %q", ag.Region(), len(ag.All()), ag.Source())
	}
	var got []string
	for _, a := range ag.ForDept("procurement") {
		got = append(got, a.USCC+"@"+a.Region)
	}
	want := []string{usccZJFinance + "@330000", usccHZFinance + "@330100"}
	if !slices.Equal(got, want) {
		t.Errorf("ForDept(procurement) = %v, want %v", got, want)
	}
	if n := len(ag.ForDept("no_such_type")); n != 0 {
		t.Errorf("ForDept(unknown) returned %d agencies", n)
	}
	// Every executor the catalogue uses has at least one agency, so the
	// sample directory produces notices for every measure.
	cat, _ := catalogue.Default()
	for _, m := range cat.Measures() {
		if len(ag.ForDept(m.Executor)) == 0 {
			t.Errorf("no agency for executor %s (measure %s)", m.Executor, m.Code)
		}
	}
}

const miniAgencies = `format: creditx-agencies/v1
region: "330000"
source: test
agencies:
  - {name: 浙江省财政厅, uscc: 11330000020261021G, dept_type: procurement, region: "330000"}
`

func TestLoadAgenciesErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		index          int
		field, reason  string
	}{
		{"format", "creditx-agencies/v1", "creditx-agencies/v2", 0, "format", `is not "creditx-agencies/v1"`},
		{"region", `region: "330000"`, `region: "33"`, 0, "region", "not a 6-digit division code"},
		{"source", "source: test", `source: " "`, 0, "source", "required"},
		{"empty list", "  - {name", "#  - {name", 0, "agencies", "at least one agency"},
		{"name", "name: 浙江省财政厅", `name: ""`, 1, "name", "required"},
		{"uscc check", "11330000020261021G", "11330000020261021H", 1, "uscc", "check"},
		{"dept type", "dept_type: procurement", "dept_type: police", 1, "dept_type", `"police" is not one of`},
		{"agency region outside", `procurement, region: "330000"`, `procurement, region: "320000"`, 1, "region", "not inside the directory's region 330000"},
		{"agency region malformed", `procurement, region: "330000"`, `procurement, region: "3300"`, 1, "region", "not a 6-digit"},
		{"unknown key", "source: test", "source: test\nowner: x", 0, "file", "field owner not found"},
		{"two documents", "source: test\n", "source: test\n---\nformat: x\n", 0, "file", "more than one YAML document"},
		{"not yaml", "agencies:", "agencies: [", 0, "file", "not a valid agencies document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(miniAgencies, tt.old, tt.new, 1)
			if src == miniAgencies {
				t.Fatalf("replacement %q not found", tt.old)
			}
			ag, err := LoadAgencies(strings.NewReader(src))
			if ag != nil || err == nil {
				t.Fatalf("accepted: %v", ag)
			}
			var ae *AgencyError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *AgencyError", err)
			}
			if ae.Index != tt.index || ae.Field != tt.field || !strings.Contains(ae.Reason, tt.reason) {
				t.Errorf("got #%d %s: %s; want #%d %s: ...%s...", ae.Index, ae.Field, ae.Reason, tt.index, tt.field, tt.reason)
			}
		})
	}
}

func TestLoadAgenciesDuplicateAndCity(t *testing.T) {
	dup := miniAgencies + `  - {name: 杭州市财政局, uscc: 11330100020261136U, dept_type: procurement, region: "330100"}
  - {name: 浙江省财政厅, uscc: 11330000020261021G, dept_type: procurement, region: "330000"}
`
	_, err := LoadAgencies(strings.NewReader(dup))
	var ae *AgencyError
	if !errors.As(err, &ae) || ae.Index != 3 || !strings.Contains(ae.Reason, "already listed for procurement at #1") {
		t.Errorf("duplicate: %v", err)
	}
	// A city directory accepts its own city and refuses another city.
	city := strings.Replace(strings.Replace(miniAgencies, `region: "330000"`, `region: "330100"`, 1), `procurement, region: "330000"`, `procurement, region: "330200"`, 1)
	if _, err := LoadAgencies(strings.NewReader(city)); err == nil || !strings.Contains(err.Error(), "330200 is not inside the directory's region 330100") {
		t.Errorf("city directory: %v", err)
	}
	if _, err := LoadAgencies(bytes.NewReader(bytes.Repeat([]byte("#"), maxAgenciesFile+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

func FuzzLoadAgencies(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "agencies-330000.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(miniAgencies))
	f.Add([]byte("format: creditx-agencies/v1\nregion: \"330100\"\nsource: s\nagencies: [{name: a, uscc: 11330100020261136U, dept_type: land, region: \"330100\"}]\n"))
	f.Add([]byte("agencies: [&a {name: x}, *a]"))
	f.Add([]byte("\xff\xfe"))
	executors := catalogue.Executors()
	f.Fuzz(func(t *testing.T, data []byte) {
		ag, err := LoadAgencies(bytes.NewReader(data))
		if err != nil {
			var ae *AgencyError
			if ag != nil || !errors.As(err, &ae) {
				t.Fatalf("error %v (directory %v) is not an *AgencyError", err, ag)
			}
			return
		}
		if schemas.CheckDivision(ag.Region()) != nil || len(ag.All()) == 0 {
			t.Fatalf("accepted region %q with %d agencies", ag.Region(), len(ag.All()))
		}
		seen := map[[2]string]bool{}
		for _, a := range ag.All() {
			if schemas.CheckUSCCAllowing(a.USCC, schemas.DefaultUSCCAllowList()) != nil || !slices.Contains(executors, a.DeptType) ||
				!within(a.Region, ag.Region()) || seen[[2]string{a.USCC, a.DeptType}] {
				t.Fatalf("accepted bad agency %+v", a)
			}
			seen[[2]string{a.USCC, a.DeptType}] = true
		}
	})
}

func TestNoAgencies(t *testing.T) {
	a := NoAgencies("330000")
	if a.Region() != "330000" || len(a.All()) != 0 || len(a.ForDept("procurement")) != 0 {
		t.Fatalf("NoAgencies: %+v", a)
	}
}
