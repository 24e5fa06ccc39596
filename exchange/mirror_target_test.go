package exchange

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/mod/sumdb/tlog"
)

// statusRT answers every request with status and body.
type statusRT struct {
	status int
	body   string
}

func (s statusRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: s.status, Body: io.NopCloser(strings.NewReader(s.body)), Request: r}, nil
}

// TestTargetBeforeTheFirstCheckpoint: an origin that answers 404 for its
// checkpoint (it has none yet) leaves its mirror with nothing to do, not a
// failure retried every PullInterval (the mirror loop waits for the watch
// loop's kick; at 45 members starting at once the retries were ~2,000
// requests/s). Any other failure is still an error, and a checkpoint that
// does not verify is refused.
func TestTargetBeforeTheFirstCheckpoint(t *testing.T) {
	fx := newFaultFixture(t)
	mb, _ := fx.m.Member("310000")
	for _, tc := range []struct {
		name    string
		rt      statusRT
		wantErr bool
	}{
		{"no checkpoint yet (404)", statusRT{http.StatusNotFound, "not found\n"}, false},
		{"member failing (500)", statusRT{http.StatusInternalServerError, "boom\n"}, true},
		{"member busy (503)", statusRT{http.StatusServiceUnavailable, "later\n"}, true},
		{"checkpoint that does not verify", statusRT{http.StatusOK, "creditx.310000/ledger\n1\nAAAA\n\n— x y\n"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := fx.runtime(t, nil)
			x.clients = map[string]*Client{mb.Code: {mb: mb, tr: &http3.Transport{}, hc: &http.Client{Transport: tc.rt}}}
			cp, err := x.target(context.Background(), mb)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("target = %v, nil; want an error", cp)
				}
				return
			}
			if err != nil || cp != nil {
				t.Fatalf("target = %v, %v; want nothing to mirror and no error", cp, err)
			}
		})
	}
}

// TestLastBatch: the last batch up to a checkpoint is authenticated by the
// root it leads to, without the origin's hash tiles; a batch that is not
// the last, or an entry that differs from the one the checkpoint signs,
// is left to the tiles (nil), which name the entry that does not match.
func TestLastBatch(t *testing.T) {
	var entries [][]byte
	for i := range 10 {
		entries = append(entries, fmt.Appendf(nil, "entry %d", i))
	}
	full := NewFrontier()
	for _, e := range entries {
		full.AppendEntry(e)
	}
	cp := &ledger.Checkpoint{Size: 10, Root: full.Root()}
	at := func(n int) *Frontier {
		f := NewFrontier()
		for _, e := range entries[:n] {
			f.AppendEntry(e)
		}
		return f
	}
	tampered := append([][]byte{}, entries[4:]...)
	tampered[3] = []byte("entry 7, rewritten")
	for _, tc := range []struct {
		name  string
		from  int
		batch [][]byte
		ok    bool
	}{
		{"whole log", 0, entries, true},
		{"the rest after 4", 4, entries[4:], true},
		{"last entry", 9, entries[9:], true},
		{"not the last batch", 4, entries[4:8], false},
		{"an entry rewritten", 4, tampered, false},
		{"entries in another order", 8, [][]byte{entries[9], entries[8]}, false},
		{"one entry too many", 4, append(append([][]byte{}, entries[4:]...), []byte("extra")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := at(tc.from)
			next, leaves := lastBatch(fr, cp, tc.batch)
			if !tc.ok {
				if next != nil || leaves != nil {
					t.Fatal("batch accepted without the tiles")
				}
				return
			}
			if next == nil || next.Size() != cp.Size || next.Root() != cp.Root {
				t.Fatal("the last batch was not authenticated by the checkpoint root")
			}
			if fr.Size() != uint64(tc.from) {
				t.Fatal("lastBatch changed the frontier it was given")
			}
			for i, e := range tc.batch {
				if leaves[i] != tlog.RecordHash(e) {
					t.Fatalf("leaf %d is not the entry's record hash", i)
				}
			}
		})
	}
}

// TestMirrorStateNoCheckpoint: while the origin answers 404 for its
// checkpoint (and nothing is cosigned) the mirror's status says the
// origin has no checkpoint yet; a failure in between does not change
// that; once the origin serves one, the state is mirroring.
func TestMirrorStateNoCheckpoint(t *testing.T) {
	fx := newFaultFixture(t)
	mb, _ := fx.m.Member("310000")
	x, _ := fx.runtime(t, nil)
	state := func() string {
		t.Helper()
		ms, err := x.MirrorStatusOf(mb.Code)
		if err != nil || ms == nil {
			t.Fatalf("mirror status: %v, %v", ms, err)
		}
		return ms.State
	}
	if got := state(); got != MirrorMirroring {
		t.Fatalf("before any attempt: state %q, want %q", got, MirrorMirroring)
	}
	for _, step := range []struct {
		rt      statusRT
		wantErr bool
		want    string
	}{
		{statusRT{http.StatusNotFound, "not found\n"}, false, MirrorNoCheckpoint},
		{statusRT{http.StatusServiceUnavailable, "later\n"}, true, MirrorNoCheckpoint}, // nothing new learnt
		{statusRT{http.StatusOK, string(fx.checkpoint(t, 10))}, false, MirrorMirroring},
	} {
		x.clients = map[string]*Client{mb.Code: {mb: mb, tr: &http3.Transport{}, hc: &http.Client{Transport: step.rt}}}
		cp, err := x.target(context.Background(), mb)
		if (err != nil) != step.wantErr {
			t.Fatalf("answer %d: target = %v, %v", step.rt.status, cp, err)
		}
		if got := state(); got != step.want {
			t.Fatalf("after answer %d: state %q, want %q", step.rt.status, got, step.want)
		}
	}
}
