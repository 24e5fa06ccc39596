package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeLoopLogCost: the README's loop-log paragraph says that loop
// logs are off by default (sanctions.loop_log's zero value; node
// TestLoopLogOffByDefault), what turning them on does, and quotes their
// cost at 45 members; every figure it quotes (a decimal, or a pair like
// 7.7/9.2) stands in the P8 row of BENCHMARKS.md, so a re-measure that
// changes the row and not the README fails here.
func TestReadmeLoopLogCost(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bench, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "Loop logs (issue 20) are **off by default**"
	i := strings.Index(string(readme), start)
	if i < 0 {
		t.Fatalf("README has no paragraph starting %q", start)
	}
	para, _, _ := strings.Cut(string(readme[i:]), "\n\n")
	for _, want := range []string{"`sanctions.loop_log: true`", "witnessed", "followed", "two custodians", "`creditx verify`", "45 members", "stays off"} {
		if !strings.Contains(para, want) {
			t.Errorf("the loop-log paragraph does not say %q:\n%s", want, para)
		}
	}
	var p8 string
	for l := range strings.SplitSeq(string(bench), "\n") {
		if strings.HasPrefix(l, "| P8 |") {
			p8 = l
		}
	}
	if p8 == "" {
		t.Fatal("BENCHMARKS.md has no P8 row")
	}
	figs := regexp.MustCompile(`\d+\.\d+(/\d+\.\d+)?|\d+/\d+`).FindAllString(para, -1)
	if len(figs) < 6 {
		t.Fatalf("the loop-log paragraph quotes %d figures %v, want the 3 with loop logs and the 3 before", len(figs), figs)
	}
	for _, f := range figs {
		if !strings.Contains(p8, f) {
			t.Errorf("README quotes %s for loop logs; BENCHMARKS.md's P8 row does not have it", f)
		}
	}
}
