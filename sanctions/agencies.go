package sanctions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// AgenciesFormat is the only format line LoadAgencies accepts. A file with
// another value is refused; a new format gets a new value
// ("creditx-agencies/v2") and a new release of this package.
const AgenciesFormat = "creditx-agencies/v1"

// maxAgenciesFile bounds what LoadAgencies reads.
const maxAgenciesFile = 1 << 20

// Agency is one executing agency (实施单位) of a region and the department
// type it acts for. One organisation acting for several department types
// appears once per type.
type Agency struct {
	Name     string `yaml:"name"`
	USCC     string `yaml:"uscc"`
	DeptType string `yaml:"dept_type"` // one of catalogue.Executors()
	Region   string `yaml:"region"`    // its division code, inside the directory's region
}

// Agencies is the immutable directory of a region's executing agencies.
// Build it with LoadAgencies; it is safe for concurrent use.
type Agencies struct {
	region string
	source string
	list   []Agency
}

// AgencyError is one problem in an agencies file. Index is the agency's
// position (1-based) in the agencies list, or 0 for a problem with the file
// or its header.
type AgencyError struct {
	Index  int
	Field  string
	Reason string
}

func (e *AgencyError) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("agencies: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("agencies: agency #%d: %s: %s", e.Index, e.Field, e.Reason)
}

type agenciesFile struct {
	Format   string   `yaml:"format"`
	Region   string   `yaml:"region"`
	Source   string   `yaml:"source"`
	Agencies []Agency `yaml:"agencies"`
}

// LoadAgencies reads and validates an agencies directory: UTF-8 YAML, at
// most 1 MiB, one document, unknown keys rejected:
//
//	format: creditx-agencies/v1      # exactly this (AgenciesFormat)
//	region: "330000"                 # division code of the member
//	source: <text>                   # provenance, required
//	agencies:                        # at least one
//	  - {name: 浙江省财政厅,             # required, at most 200 characters
//	     uscc: 1133...,               # GB 32100-2015 (DefaultUSCCAllowList applies)
//	     dept_type: procurement,      # one of catalogue.Executors()
//	     region: "330000"}            # inside region (same province; same city if region is a city)
//
// The pair (uscc, dept_type) is unique. Versioning: a new key or a changed
// meaning needs a new format value; files of the old format stay readable.
//
// Every problem found is reported, joined, as *AgencyError values naming
// the agency's position and field; a file with any problem yields no
// directory.
func LoadAgencies(r io.Reader) (*Agencies, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAgenciesFile+1))
	if err != nil {
		return nil, fmt.Errorf("agencies: read: %w", err)
	}
	if len(data) > maxAgenciesFile {
		return nil, &AgencyError{Field: "file", Reason: fmt.Sprintf("larger than %d bytes", maxAgenciesFile)}
	}
	if !utf8.Valid(data) {
		return nil, &AgencyError{Field: "file", Reason: "not valid UTF-8"}
	}
	var f agenciesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, &AgencyError{Field: "file", Reason: "not a valid agencies document: " + err.Error()}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, &AgencyError{Field: "file", Reason: "more than one YAML document"}
	}
	if errs := validateAgencies(&f); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Agencies{region: f.Region, source: f.Source, list: f.Agencies}, nil
}

func validateAgencies(f *agenciesFile) []error {
	var errs []error
	add := func(i int, field, format string, args ...any) {
		errs = append(errs, &AgencyError{Index: i, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if f.Format != AgenciesFormat {
		add(0, "format", "%q is not %q", f.Format, AgenciesFormat)
	}
	regionOK := schemas.CheckDivision(f.Region) == nil
	if !regionOK {
		add(0, "region", "%q is not a 6-digit division code", f.Region)
	}
	if strings.TrimSpace(f.Source) == "" {
		add(0, "source", "required")
	}
	if len(f.Agencies) == 0 {
		add(0, "agencies", "at least one agency is required")
	}
	executors := catalogue.Executors()
	allow := schemas.DefaultUSCCAllowList()
	seen := map[[2]string]int{}
	for i, a := range f.Agencies {
		n := i + 1
		switch {
		case strings.TrimSpace(a.Name) == "":
			add(n, "name", "required")
		case utf8.RuneCountInString(a.Name) > 200:
			add(n, "name", "longer than 200 characters")
		}
		if err := schemas.CheckUSCCAllowing(a.USCC, allow); err != nil {
			add(n, "uscc", "%v", err)
		}
		if !slices.Contains(executors, a.DeptType) {
			add(n, "dept_type", "%q is not one of %s", a.DeptType, strings.Join(executors, ", "))
		}
		switch {
		case schemas.CheckDivision(a.Region) != nil:
			add(n, "region", "%q is not a 6-digit division code", a.Region)
		case regionOK && !within(a.Region, f.Region):
			add(n, "region", "%s is not inside the directory's region %s", a.Region, f.Region)
		}
		k := [2]string{a.USCC, a.DeptType}
		if first, dup := seen[k]; dup && a.USCC != "" && a.DeptType != "" {
			add(n, "dept_type", "agency %s is already listed for %s at #%d", a.USCC, a.DeptType, first)
		} else {
			seen[k] = n
		}
	}
	return errs
}

// within reports whether division code sub lies inside region: the same
// province for a province-level region, the same city for a city-level one,
// the same code for a county.
func within(sub, region string) bool {
	switch {
	case region[2:] == "0000":
		return sub[:2] == region[:2]
	case region[4:] == "00":
		return sub[:4] == region[:4]
	default:
		return sub == region
	}
}

// Region returns the division code of the directory's member.
func (a *Agencies) Region() string { return a.region }

// Source returns the directory's provenance note.
func (a *Agencies) Source() string { return a.source }

// All returns every agency in file order.
func (a *Agencies) All() []Agency { return slices.Clone(a.list) }

// ForDept returns, in file order, the agencies that act for deptType (an
// executing department type of the catalogue, e.g. "procurement"). An
// unknown type gives an empty result.
func (a *Agencies) ForDept(deptType string) []Agency {
	var out []Agency
	for _, x := range a.list {
		if x.DeptType == deptType {
			out = append(out, x)
		}
	}
	return out
}

// NoAgencies is an empty directory for region: a member that checks
// subjects and tracks listings but has no executing agencies configured, so
// NoticesFor issues nothing.
func NoAgencies(region string) *Agencies {
	return &Agencies{region: region, source: "none configured"}
}
