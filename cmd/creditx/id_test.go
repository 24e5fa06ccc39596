package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runSchemaCmd runs cmd with args and returns its output and exit code: 0 when
// it returns nil, the exitError code, or -1 for any other error.
func runSchemaCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return out.String(), ec.ExitCode()
	}
	return out.String(), -1
}

func TestIDCheck(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		lines []string
		exit  int
	}{
		{"valid uscc", []string{"check", "91350100M000100Y43"}, []string{"91350100M000100Y43 valid (unified social credit code)"}, 0},
		{"valid citizen", []string{"check", "11010519491231002X"}, []string{"11010519491231002X valid (citizen ID)"}, 0},
		{"allow-listed", []string{"check", "91350100M0001TGQXM"}, []string{"91350100M0001TGQXM valid (unified social credit code, allow-listed: "}, 0},
		{"invalid uscc", []string{"check", "91110000600037341N", "91350100M000100Y43"},
			[]string{"91110000600037341N invalid: as a unified social credit code: check character is N, expected L; as a citizen ID: ", "91350100M000100Y43 valid"}, 1},
		{"invalid citizen", []string{"check", "110105194912310021"}, []string{"110105194912310021 invalid: as a citizen ID: check character is 1, expected X; as a unified social credit code: "}, 1},
		{"lowercase uscc", []string{"check", "91350100m000100y43"}, []string{"91350100m000100y43 invalid: as a unified social credit code its letters must be upper case (91350100M000100Y43 is valid)"}, 1},
		{"citizen before 1900", []string{"check", "11010518991231002X"}, []string{"11010518991231002X invalid: as a unified social credit code: organisation code check character (position 17) is 2, expected 1; as a citizen ID: birth date 18991231 is before 1900"}, 1},
		{"forced kind", []string{"check", "--kind", "uscc", "11010519491231002X"}, []string{"11010519491231002X invalid: "}, 1},
		{"unknown shape", []string{"check", "hello"}, []string{"hello invalid: neither a USCC nor a citizen ID"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runSchemaCmd(t, newIDCmd(), tt.args...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(tt.lines) {
				t.Fatalf("output %q, want %d lines", out, len(tt.lines))
			}
			for i, want := range tt.lines {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
				}
			}
			if code != tt.exit {
				t.Errorf("exit %d, want %d", code, tt.exit)
			}
		})
	}
	if _, code := runSchemaCmd(t, newIDCmd(), "check", "--kind", "passport", "X"); code != -1 {
		t.Errorf("bad --kind: exit %d, want a usage error", code)
	}
}
