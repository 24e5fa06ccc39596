package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/sanctions/workdays"
)

func runWorkdays(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newWorkdaysCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestWorkdaysCmd(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"add", "2024-02-09", "2"},
			"2024-02-19\ncrossed: 2024-02-10..2024-02-17 holiday 春节 Spring Festival (国办发明电〔2023〕7号); 2024-02-18 adjusted working day 春节 Spring Festival (国办发明电〔2023〕7号)\n"},
		{[]string{"add", "2024-03-04", "5", "--region", "330000"},
			"2024-03-11\ncrossed: no holidays or adjusted working days\n"},
		{[]string{"add", "2020-01-23", "1"},
			"2020-02-03\ncrossed: 2020-01-24..2020-01-30 holiday 春节 Spring Festival (国办发明电〔2019〕16号); 2020-01-31..2020-02-02 holiday 春节（延长） Spring Festival (extended) (国办发明电〔2020〕1号)\n"},
		{[]string{"add", "2025-10-05", "0"},
			"2025-10-09\ncrossed: 2025-10-05..2025-10-08 holiday 国庆节、中秋节 National Day and Mid-Autumn Festival (国办发明电〔2024〕12号)\n"},
		{[]string{"check", "2024-02-04"}, "2024-02-04 Sunday: adjusted working day 春节 Spring Festival (国办发明电〔2023〕7号)\n"},
		{[]string{"check", "2026-02-16"}, "2026-02-16 Monday: holiday 春节 Spring Festival (国办发明电〔2025〕7号)\n"},
		{[]string{"check", "2026-11-23"}, "2026-11-23 Monday: workday\n"},
		{[]string{"check", "2026-11-22", "--region", "310000"}, "2026-11-22 Sunday: weekend\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := runWorkdays(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestWorkdaysCmdErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"add", "2019-12-30", "5"}, "covers 2020 through 2026"},
		{[]string{"add", "2026-12-28", "10", "--year", "../../sanctions/workdays/testdata/nope.yaml"}, "nope.yaml"},
		{[]string{"check", "2019-06-03"}, "no official holiday arrangement loaded for 2019"},
		{[]string{"add", "2024-02-30", "1"}, `date "2024-02-30"`},
		{[]string{"add", "--", "2024-02-09", "-1"}, `N must be a whole number >= 0, got "-1"`},
		{[]string{"add", "2024-02-09", "two"}, `got "two"`},
		{[]string{"check", "2024-02-09", "--region", "33"}, `region "33"`},
		{[]string{"add", "2024-02-09"}, "accepts 2 arg(s)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runWorkdays(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q despite the error", out)
			}
		})
	}
	_, err := runWorkdays(t, "check", "2030-01-02")
	var uy *workdays.UnknownYearError
	if !errors.As(err, &uy) || uy.Year != 2030 {
		t.Errorf("err = %v, want *UnknownYearError for 2030", err)
	}
}
