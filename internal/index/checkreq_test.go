package index

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/sanctions"
)

func TestParseBatchCheck(t *testing.T) {
	key := func(s string) (string, bool, error) {
		switch {
		case s == "bad":
			return "", false, errors.New("not a subject")
		case strings.HasPrefix(s, "p"):
			return "h1:" + s, true, nil
		}
		return s, false, nil
	}
	b, aerr := ParseBatchCheck(strings.NewReader(`{"subjects":["org","p1"],"action":"a","at":"2026-01-02T00:00:00Z","purpose":"x"}`), key)
	if aerr != nil || fmt.Sprint(b.Keys) != "[org h1:p1]" || fmt.Sprint(b.Personal) != "[h1:p1]" || b.Time.Year() != 2026 || b.Action != "a" {
		t.Fatalf("%+v %v", b, aerr)
	}
	for body, want := range map[string]string{
		`{"subjects":["org"],"x":1}`:        "malformed",
		`{"subjects":[]}`:                   "subjects: give 1 to 1000",
		`{"subjects":["org"],"at":"today"}`: "RFC 3339",
		`{"subjects":["org","bad"]}`:        "invalid subject",
	} {
		if _, aerr := ParseBatchCheck(strings.NewReader(body), key); aerr == nil || aerr.Status != 400 || !strings.Contains(aerr.Error, want) {
			t.Errorf("%s: %v", body, aerr)
		}
	}
	if e := CheckErrorBody(&sanctions.CheckInputError{Index: 2, Field: "action", Reason: "no"}); e.Status != 400 || e.Errors[0].Record != 1 {
		t.Errorf("input error: %+v", e)
	}
	if e := CheckErrorBody(errors.New("disk")); e.Status != 500 {
		t.Errorf("other error: %+v", e)
	}
}
