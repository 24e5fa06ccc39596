package schemas

import (
	"strings"
	"testing"
)

// TestFeedbackOnLoopLog: feedback may cite a notice in a loop log
// (creditx.<code>/loop); no other reference may leave the ledgers, and a
// loop origin with a bad division code is still refused.
func TestFeedbackOnLoopLog(t *testing.T) {
	fb := sampleFeedback()
	fb.Notice.Origin = LoopOrigin("330000")
	if err := Validate(fb, nil); err != nil {
		t.Fatalf("feedback on a loop notice: %v", err)
	}
	for name, r := range map[string]Record{
		"feedback on an access log": func() Record { f := sampleFeedback(); f.Notice.Origin = AccessOrigin("330000"); return f }(),
		"feedback on a bad code":    func() Record { f := sampleFeedback(); f.Notice.Origin = "creditx.000000/loop"; return f }(),
		"notice citing a loop":      func() Record { n := sampleNotice(); n.Listing.Origin = LoopOrigin("330000"); return n }(),
	} {
		err := Validate(r, nil)
		if err == nil || !strings.Contains(err.Error(), "origin") {
			t.Errorf("%s: %v, want an origin error", name, err)
		}
	}
}
