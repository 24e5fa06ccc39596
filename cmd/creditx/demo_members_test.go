package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/internal/delta"
)

// TestDemoMembersFlag: --members picks the first N members of the Delta
// table (provinces first), refuses what the table cannot give, and a
// --join city that is already a member.
func TestDemoMembersFlag(t *testing.T) {
	specs := demoSpecs(16)
	if len(specs) != 16 || specs[0].Region != "310000" || specs[3].Region != "340000" || specs[4].Region != "320100" {
		t.Fatalf("demoSpecs(16) = %+v", specs)
	}
	if len(demoMembers) != 4 || demoMembers[2].Name != "Zhejiang" {
		t.Errorf("the default demo members changed: %+v", demoMembers)
	}
	for _, tc := range []struct {
		o    demoOptions
		want string
	}{
		{demoOptions{members: delta.Max + 1}, "--members 46"},
		{demoOptions{members: 1}, "--members 1"},
		{demoOptions{members: 6, join: "320200"}, "--join 320200: already one of the 6 members"},
	} {
		tc.o.dir = filepath.Join(t.TempDir(), "data")
		err := runDemo(context.Background(), &strings.Builder{}, slog.New(slog.DiscardHandler), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}
