package schemas

import "testing"

func TestCompleteIDs(t *testing.T) {
	// The DOMAIN.md example codes, rebuilt from their prefixes.
	if got, err := CompleteUSCC("91350100M000100Y"); err != nil || got != "91350100M000100Y43" {
		t.Errorf("CompleteUSCC = %q, %v; want 91350100M000100Y43", got, err)
	}
	if got, err := CompleteCitizenID("11010519491231002"); err != nil || got != "11010519491231002X" {
		t.Errorf("CompleteCitizenID = %q, %v; want 11010519491231002X", got, err)
	}
	for _, bad := range []string{"", "91350100M000100", "9135010OM000100Y"} {
		if _, err := CompleteUSCC(bad); err == nil {
			t.Errorf("CompleteUSCC(%q) succeeded", bad)
		}
	}
	if _, err := CompleteCitizenID("11010519491331002"); err == nil {
		t.Error("CompleteCitizenID accepted month 13")
	}
}

func TestHeaderOf(t *testing.T) {
	l := &Listing{Header: Header{Region: "330000", Submitter: "x"}}
	if h := HeaderOf(l); h.Region != "330000" || h.Submitter != "x" {
		t.Errorf("HeaderOf = %+v", h)
	}
	f := &Feedback{Header: Header{Region: "310000"}}
	if HeaderOf(f).Region != "310000" {
		t.Error("HeaderOf(feedback)")
	}
}
