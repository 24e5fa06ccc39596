package exchange

import (
	"fmt"
	"slices"
	"testing"
)

func TestWitnessOrder(t *testing.T) {
	var codes []string
	for i := 0; i < 44; i++ {
		codes = append(codes, fmt.Sprintf("3%05d", i*100))
	}
	a := WitnessOrder("creditx.310000/ledger", codes)
	if len(a) != len(codes) {
		t.Fatalf("%d codes, want %d", len(a), len(codes))
	}
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	if !slices.Equal(sorted, codes) {
		t.Fatal("not a permutation of the candidates")
	}
	// Stable whatever the input order.
	rev := slices.Clone(codes)
	slices.Reverse(rev)
	if b := WitnessOrder("creditx.310000/ledger", rev); !slices.Equal(a, b) {
		t.Errorf("order depends on the input order:\n%v\n%v", a, b)
	}
	// Removing a member that is not among the first four keeps the first four.
	var without []string
	for _, c := range codes {
		if c != a[10] {
			without = append(without, c)
		}
	}
	if b := WitnessOrder("creditx.310000/ledger", without); !slices.Equal(a[:4], b[:4]) {
		t.Errorf("removing %s moved the first witnesses: %v -> %v", a[10], a[:4], b[:4])
	}
	// Origins spread: over 45 origins, the first witnesses are not all the same members.
	first := map[string]int{}
	for i := 0; i < 45; i++ {
		first[WitnessOrder(fmt.Sprintf("creditx.%06d/ledger", i), codes)[0]]++
	}
	if len(first) < 10 {
		t.Errorf("45 origins pick only %d distinct first witnesses: %v", len(first), first)
	}
}

func TestFanOut(t *testing.T) {
	m := &Manifest{WitnessQuorum: 2}
	for _, tc := range []struct{ candidates, spares, want int }{
		{3, 2, 3}, {44, 2, 4}, {44, 0, 2}, {199, 2, 4}, {1, 2, 1}, {44, -1, 2},
	} {
		if got := m.FanOut(tc.candidates, tc.spares); got != tc.want {
			t.Errorf("FanOut(%d, %d) = %d, want %d", tc.candidates, tc.spares, got, tc.want)
		}
	}
	m.policy = &Policy{}
	if got := m.FanOut(44, 2); got != 44 {
		t.Errorf("with a witness_policy FanOut = %d, want every candidate", got)
	}
}
