package notices

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
)

// Cursor feeds: the byte after the version says which feed a cursor belongs
// to, so that a cursor of one feed is refused by the other instead of
// silently skipping.
const (
	cursorVersion = 1
	FeedNotices   = 'n' // GET /v1/notices: one position
	FeedChanges   = 'c' // GET /v1/changes: three positions
)

// Page sizes of the cursor feeds.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 1000
)

// ErrBadCursor is wrapped by every error of DecodeCursor: the caller sent a
// cursor this node did not make (answer 400 and start again without since).
var ErrBadCursor = errors.New("not a cursor of this feed")

// feedPositions is how many positions a cursor of each feed holds.
var feedPositions = map[byte]int{FeedNotices: 1, FeedChanges: 3}

// EncodeCursor returns the opaque cursor at positions pos of feed
// (FeedNotices: one position, FeedChanges: three). Byte by byte, before
// base64url (RFC 4648 section 5, no padding):
//
//	byte 0      version, 1
//	byte 1      feed: 'n' notices, 'c' changes
//	then        one uint64 big-endian per position: the first feed position
//	            not yet returned (notices: an index of the log this region
//	            writes its notices to; changes: a sequence number of the
//	            changes index, then the date and sequence number of the
//	            expiry index, internal/changes)
//
// A later version may append bytes or change the meaning of a position; it
// bumps byte 0, and a node refuses versions it does not know (400), so a
// client restarts from the beginning rather than misreading a position.
func EncodeCursor(feed byte, pos ...uint64) string {
	b := make([]byte, 0, 2+8*len(pos))
	b = append(b, cursorVersion, feed)
	for _, p := range pos {
		b = binary.BigEndian.AppendUint64(b, p)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor of feed made by EncodeCursor and returns its
// positions. The empty string is the start of the feed (every position 0).
func DecodeCursor(feed byte, s string) ([]uint64, error) {
	n, ok := feedPositions[feed]
	if !ok {
		panic(fmt.Sprintf("DecodeCursor: unknown feed %q", feed)) // invariant: callers pass a constant
	}
	if s == "" {
		return make([]uint64, n), nil
	}
	want := 2 + 8*n
	if len(s) > 64 {
		return nil, fmt.Errorf("%w: %d characters, a cursor of this feed has %d", ErrBadCursor, len(s), base64.RawURLEncoding.EncodedLen(want))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", ErrBadCursor, err)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, a cursor of this feed has %d", ErrBadCursor, len(b), want)
	}
	if b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: version %d, this node knows %d", ErrBadCursor, b[0], cursorVersion)
	}
	if b[1] != feed {
		return nil, fmt.Errorf("%w: it belongs to the %s feed, not to the %s feed", ErrBadCursor, feedName(b[1]), feedName(feed))
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes, a cursor of this feed has %d", ErrBadCursor, len(b), want)
	}
	pos := make([]uint64, n)
	for i := range pos {
		pos[i] = binary.BigEndian.Uint64(b[2+8*i:])
	}
	if EncodeCursor(feed, pos...) != s {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadCursor) // line breaks, stray bits
	}
	return pos, nil
}

func feedName(f byte) string {
	switch f {
	case FeedNotices:
		return "notices (GET /v1/notices)"
	case FeedChanges:
		return "changes (GET /v1/changes)"
	}
	return fmt.Sprintf("unknown (%#x)", f)
}

// FeedParams are the paging parameters common to the cursor feeds.
type FeedParams struct {
	From  []uint64 // the cursor's positions
	Limit int
	Wait  time.Duration
}

// fieldErrorf is a 400 naming one query parameter.
func fieldErrorf(field, rule, format string, args ...any) *api.ErrorBody {
	msg := fmt.Sprintf(format, args...)
	return &api.ErrorBody{Status: http.StatusBadRequest, Error: msg, Errors: []api.FieldError{{Record: -1, Field: field, Rule: rule, Message: msg}}}
}

// ParseFeedParams reads since=, limit= and wait= (at most maxWait) of a
// cursor feed request; a bad one is a 400 naming the parameter.
func ParseFeedParams(q url.Values, feed byte, maxWait time.Duration) (FeedParams, *api.ErrorBody) {
	var p FeedParams
	var err error
	if p.From, err = DecodeCursor(feed, q.Get("since")); err != nil {
		return p, fieldErrorf("since", "cursor", "since: %v; use the \"next\" of an earlier answer, or leave since out to start at the beginning", err)
	}
	l := uint64(DefaultFeedLimit)
	if s := q.Get("limit"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v > MaxFeedLimit {
			return p, fieldErrorf("limit", "limit", "limit: %q is not a whole number from 0 to %d", httpx.Clip(s), MaxFeedLimit)
		}
		l = v
	}
	if l == 0 {
		return p, fieldErrorf("limit", "limit", "limit: 0 returns nothing; give 1 to %d (default %d)", MaxFeedLimit, DefaultFeedLimit)
	}
	p.Limit = int(l)
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > maxWait {
			return p, fieldErrorf("wait", "wait", "wait: %q is not a duration up to %v", httpx.Clip(s), maxWait)
		}
		p.Wait = d
	}
	return p, nil
}
