package notices

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeCursor: DecodeCursor never panics, accepts only what
// EncodeCursor makes, and round-trips it.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "AQ", EncodeCursor('n', 0), EncodeCursor('n', 1<<63), EncodeCursor('c', 42, 20260506, 7), EncodeCursor('c', 1), "AW4AAAAAAAAAAA==", "%%%", strings.Repeat("A", 14)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, feed := range []byte{'n', 'c'} {
			pos, err := DecodeCursor(feed, s)
			if err != nil {
				if !errors.Is(err, ErrBadCursor) {
					t.Fatalf("%q: error %v does not wrap ErrBadCursor", s, err)
				}
				continue
			}
			want := map[byte]int{'n': 1, 'c': 3}[feed]
			if len(pos) != want {
				t.Fatalf("%q decoded to %d positions for feed %c, want %d", s, len(pos), feed, want)
			}
			if s == "" {
				for _, p := range pos {
					if p != 0 {
						t.Fatalf("empty cursor at %d", pos)
					}
				}
				continue
			}
			if again := EncodeCursor(feed, pos...); again != s {
				t.Fatalf("%q decoded to %d, which encodes as %q", s, pos, again)
			}
		}
	})
}

// TestParseFeedParams: every bad parameter is a 400 naming it; the
// defaults are the start of the feed, 100 and no wait.
func TestParseFeedParams(t *testing.T) {
	p, perr := ParseFeedParams(url.Values{}, FeedNotices, time.Minute)
	if perr != nil || len(p.From) != 1 || p.From[0] != 0 || p.Limit != DefaultFeedLimit || p.Wait != 0 {
		t.Fatalf("defaults: %+v %v", p, perr)
	}
	p, perr = ParseFeedParams(url.Values{"since": {EncodeCursor(FeedChanges, 1, 2, 3)}, "limit": {"7"}, "wait": {"30s"}}, FeedChanges, time.Minute)
	if perr != nil || p.From[2] != 3 || p.Limit != 7 || p.Wait != 30*time.Second {
		t.Fatalf("given: %+v %v", p, perr)
	}
	for field, q := range map[string]url.Values{
		"since": {"since": {EncodeCursor(FeedChanges, 1, 2, 3)}}, // the other feed's cursor
		"limit": {"limit": {"0"}},
		"wait":  {"wait": {"2m"}},
	} {
		_, perr := ParseFeedParams(q, FeedNotices, time.Minute)
		if perr == nil || perr.Status != 400 || len(perr.Errors) != 1 || perr.Errors[0].Field != field || perr.Errors[0].Record != -1 {
			t.Errorf("%v: %+v, want a 400 naming %s", q, perr, field)
		}
	}
	if _, perr := ParseFeedParams(url.Values{"limit": {"1001"}}, FeedNotices, time.Minute); perr == nil || !strings.Contains(perr.Error, "from 0 to 1000") {
		t.Errorf("limit 1001: %+v", perr)
	}
}

// TestParseStates: known states pass, anything else is a 400 listing them.
func TestParseStates(t *testing.T) {
	if st, perr := ParseStates("pending,overdue"); perr != nil || len(st) != 2 {
		t.Fatalf("pending,overdue: %v %+v", st, perr)
	}
	if st, perr := ParseStates(""); perr != nil || st != nil {
		t.Fatalf("empty: %v %+v", st, perr)
	}
	if _, perr := ParseStates("pending,bogus"); perr == nil || perr.Status != 400 || !strings.Contains(perr.Error, `"bogus"`) {
		t.Fatalf("bogus: %+v", perr)
	}
	if _, err := DecodeCursor(FeedNotices, "%%%"); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("garbage cursor: %v", err)
	}
}
