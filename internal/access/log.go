package access

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// Config is what a [Log] needs of the node. All fields are required.
type Config struct {
	// Origin is the access log's origin (creditx.<region>/access).
	Origin string
	// Append commits entry to the access log (through raft, on any
	// replica) and returns nil only once it is durable on a quorum. A spent
	// lookup cap is refused by the FSM with an error Refused recognises.
	Append func(ctx context.Context, entry []byte) error
	// Refused is the answer an error of Append carries when the FSM (of
	// this leader or of the leader a follower forwarded to) refused the
	// entry, else nil.
	Refused func(err error) *api.ErrorBody
	// View runs fn in a read transaction of ledger.db.
	View func(fn func(tx *ledger.ReadTx) error) error
	// ReadError is the public answer to a failed ledger read of what.
	ReadError func(what string, err error) *api.ErrorBody
	// Logged counts one committed entry (the node's metric).
	Logged func()
}

// Log writes the access log of one node.
type Log struct {
	cfg Config // read-only after New
}

// New is the access log described by cfg.
func New(cfg Config) *Log { return &Log{cfg: cfg} }

// OrFail records a read of personal data durably before the data is sent.
// A caller must state a purpose (?purpose=approval|supervision|audit|
// objection|...). It writes the error answer and returns false on failure.
func (l *Log) OrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what string) bool {
	return l.PurposeOrFail(w, r, id, what, r.URL.Query().Get("purpose"), "reading personal data")
}

// PurposeOrFail is OrFail with the purpose given (a default, or from a
// JSON body); why is the refusal's reason when it is empty.
func (l *Log) PurposeOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what, purpose, why string) bool {
	if perr := CheckPurpose(purpose, why); perr != nil {
		httpx.WriteErr(w, perr)
		return false
	}
	if err := l.Read(r.Context(), id, what, purpose); err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the access could not be recorded, so the data is not returned: %v", err))
		return false
	}
	return true
}

// PersonsOrFail logs a read of data naming persons (keyed hashes), in
// entries of at most 200 distinct hashes each (an entry stays far below
// ledger.MaxEntrySize), like OrFail.
func (l *Log) PersonsOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what string, persons []string, purpose string) bool {
	if perr := CheckPurpose(purpose, "this answer names natural persons; reading it"); perr != nil {
		httpx.WriteErr(w, perr)
		return false
	}
	persons = slices.Compact(slices.Sorted(slices.Values(persons)))
	for len(persons) > 0 {
		k := min(len(persons), 200)
		if err := l.Read(r.Context(), id, what+" naming persons "+strings.Join(persons[:k], ","), purpose); err != nil {
			httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the access could not be recorded, so the data is not returned: %v", err))
			return false
		}
		persons = persons[k:]
	}
	return true
}

// Read logs one read by id now; the caller has checked the purpose.
func (l *Log) Read(ctx context.Context, id pki.Identity, what, purpose string) error {
	return l.commit(ctx, NewRecord(id, time.Now(), what, purpose, nil))
}

// commit appends rec to the access log (its lookup charge, if any, is
// applied by the FSM in the same transaction).
func (l *Log) commit(ctx context.Context, rec Record) error {
	b, err := Encode(rec)
	if err != nil {
		return err
	}
	if err := l.cfg.Append(ctx, b); err != nil {
		return err
	}
	l.cfg.Logged()
	return nil
}

// AllowLookups is the serving replica's check before any work: it answers
// 429 and returns false if id's cap for today cannot give k more lookups
// (its own copy of the count; the FSM is the authority).
func (l *Log) AllowLookups(w http.ResponseWriter, id pki.Identity, k int) bool {
	if k == 0 {
		return true
	}
	key, day := limits.LookupIdentity(id), limits.LookupDay(time.Now())
	used := 0
	if err := l.cfg.View(func(tx *ledger.ReadTx) error {
		used = limits.LookupsUsed(tx.Bucket(limits.BucketLookups), key, day)
		return nil
	}); err != nil {
		httpx.WriteErr(w, l.cfg.ReadError("the lookup count of today", err))
		return false
	}
	if used+k <= limits.DailyLookupCap {
		return true
	}
	WriteLookupCap(w, &limits.LookupCapError{Key: key, Day: day, Used: used, Asked: k, Cap: limits.DailyLookupCap})
	return false
}

// LookupOrFail writes the access-log entry of a request that has k
// plaintext IDs hashed, charging them to id's daily cap in the same
// replicated append. It checks the purpose first (nothing is charged
// without one). On failure it writes the answer (400, 429 or 503) and
// returns false.
func (l *Log) LookupOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what, purpose string, subjects []string, k int) bool {
	if perr := CheckPurpose(purpose, "reading personal data"); perr != nil {
		httpx.WriteErr(w, perr)
		return false
	}
	if !l.AllowLookups(w, id, k) {
		return false
	}
	var charge *limits.LookupCharge
	now := time.Now()
	if k > 0 {
		charge = &limits.LookupCharge{Key: limits.LookupIdentity(id), Day: limits.LookupDay(now), N: k, Cap: limits.DailyLookupCap}
	}
	rec := NewRecord(id, now, what, purpose, subjects)
	rec.Lookup = charge
	err := l.commit(r.Context(), rec)
	if err == nil {
		return true
	}
	if ae := l.cfg.Refused(err); ae != nil && ae.Status == http.StatusTooManyRequests && charge != nil {
		// Refused by the FSM (of this leader, or of the leader a follower
		// forwarded to): the cap was spent by a concurrent request.
		setRetryAfter(w, charge.Day)
		httpx.WriteErr(w, ae)
		return false
	}
	httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the lookup could not be recorded, so no answer is given: %v", err))
	return false
}

// BatchCheckOrFail writes the one access-log entry of a batch check of
// subjects naming persons (keyed hashes, in Record.Subjects in their short
// form: ShortHashes), charging the plain ones given as citizen IDs to the
// caller's daily lookup cap, like LookupOrFail: a batch of up to 1000
// subjects is one entry, whatever the number of persons in it.
func (l *Log) BatchCheckOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, subjects int, persons []string, purpose string, plain int) bool {
	short := ShortHashes(persons)
	what := fmt.Sprintf("check batch of %d subjects, %d natural persons", subjects, len(short))
	return l.LookupOrFail(w, r, id, what, purpose, short, plain)
}

// ShortHashes returns the sorted, distinct short forms of keyed hashes, as
// Record.Subjects holds them: "h1:" and the first 32 hex digits.
func ShortHashes(hs []string) []string {
	const keep = len("h1:") + 32
	short := make([]string, len(hs))
	for i, h := range hs {
		if len(h) > keep {
			h = h[:keep]
		}
		short[i] = h
	}
	return slices.Compact(slices.Sorted(slices.Values(short)))
}

// ServeLog is GET /v1/access-log (the caller's role is checked by the
// node): ?start=N&limit=M, at most 1000 entries, with the log's checkpoint
// and size.
func (l *Log) ServeLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, perr := ParseCount("start", q.Get("start"), 0, 1<<63)
	if perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	limit, perr := ParseCount("limit", q.Get("limit"), 1000, 1000)
	if perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	if limit == 0 {
		limit = 1000
	}
	type out struct {
		Checkpoint string            `json:"checkpoint"`
		Size       uint64            `json:"size"`
		Entries    []json.RawMessage `json:"entries"`
	}
	var o out
	err := l.cfg.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(l.cfg.Origin)
		o.Size = lr.Size()
		if cp, err := lr.Checkpoint(); err == nil {
			o.Checkpoint = string(cp)
		}
		end := min(o.Size, start+limit)
		if start >= end {
			return nil
		}
		return lr.ForEachChecked(start, end, func(i uint64, e []byte) error {
			o.Entries = append(o.Entries, append([]byte(nil), e...))
			return nil
		})
	})
	if err != nil {
		httpx.WriteErr(w, l.cfg.ReadError("the access log", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, o)
}

// ParseCount parses an optional non-negative decimal parameter name, at
// most max (def if absent); anything else is a 400 naming the parameter.
func ParseCount(name, s string, def, max uint64) (uint64, *api.ErrorBody) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > max {
		return 0, httpx.Errorf(http.StatusBadRequest, "%s: %q is not a whole number from 0 to %d", name, httpx.Clip(s), max)
	}
	return v, nil
}
