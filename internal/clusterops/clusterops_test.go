package clusterops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
	"github.com/hashicorp/raft"
)

var (
	errNotLeader = errors.New("not the raft leader")
	errForward   = errors.New("forwarding to the leader failed")
)

// fakeNode leads or not, and answers CallLeader with call.
type fakeNode struct {
	leader bool
	call   func(method, path string, body []byte, h http.Header) (*http.Response, error)
}

func (f fakeNode) Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	httpx.WriteErr(w, httpx.Errorf(http.StatusUnauthorized, "no certificate"))
	return pki.Identity{}, false
}

func (f fakeNode) RetryLeader(ctx context.Context, try func(ctx context.Context, leader bool) error) error {
	return try(ctx, f.leader) // one try: enough to see what is retried
}

func (f fakeNode) CallLeader(ctx context.Context, method, path string, body []byte, h http.Header) (*http.Response, string, error) {
	resp, err := f.call(method, path, body, h)
	return resp, "r2", err
}

func handlers(n fakeNode) *Handlers {
	return New(Config{Region: "110000", ReplicaID: "r1", ErrNotLeader: errNotLeader, ErrForward: errForward}, n)
}

// TestChangeAnswer maps each raftcluster error to its status; a lost lead
// is 421, so that a relaying follower asks the new leader.
func TestChangeAnswer(t *testing.T) {
	h := handlers(fakeNode{})
	for _, tc := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("add: %w", raftcluster.ErrConflict), http.StatusConflict},
		{fmt.Errorf("remove: %w", raftcluster.ErrUnknownReplica), http.StatusNotFound},
		{fmt.Errorf("x: %w", raft.ErrNotLeader), http.StatusMisdirectedRequest},
		{raft.ErrLeadershipLost, http.StatusMisdirectedRequest},
		{errors.New("timeout"), http.StatusServiceUnavailable},
	} {
		if ae := h.changeAnswer(tc.err); ae == nil || ae.Status != tc.status {
			t.Errorf("changeAnswer(%v) = %+v; want %d", tc.err, ae, tc.status)
		}
	}
	if ae := h.changeAnswer(nil); ae != nil {
		t.Errorf("changeAnswer(nil) = %+v", ae)
	}
}

// TestRelay: a follower relays the change with ForwardedHeader and copies
// the leader's answer; a leader answering 421 or 503 is ErrNotLeader (the
// retry rule retries) and nothing is written.
func TestRelay(t *testing.T) {
	var got http.Header
	answer := func(status int, body string) func(string, string, []byte, http.Header) (*http.Response, error) {
		return func(_, _ string, _ []byte, h http.Header) (*http.Response, error) {
			got = h
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body))}, nil
		}
	}
	h := handlers(fakeNode{call: answer(http.StatusOK, `{"changed":true}`)})
	w := httptest.NewRecorder()
	if err := h.relay(context.Background(), w, http.MethodPost, "/v1/cluster/replicas", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Body.String() != `{"changed":true}` || got.Get(ForwardedHeader) != "r1" {
		t.Errorf("relayed: %d %q, header %v", w.Code, w.Body, got)
	}
	for _, status := range []int{http.StatusMisdirectedRequest, http.StatusServiceUnavailable} {
		h := handlers(fakeNode{call: answer(status, "no")})
		w := httptest.NewRecorder()
		if err := h.relay(context.Background(), w, http.MethodDelete, "/v1/cluster/replicas/r3", nil); !errors.Is(err, errNotLeader) {
			t.Errorf("leader answered %d: err %v; want errNotLeader", status, err)
		}
		if w.Body.Len() != 0 {
			t.Errorf("leader answered %d: wrote %q", status, w.Body)
		}
	}
}

// TestRelayedNotRelayedAgain: a relayed change reaching a replica that
// does not lead is answered 421, never relayed again.
func TestRelayedNotRelayedAgain(t *testing.T) {
	h := handlers(fakeNode{call: func(string, string, []byte, http.Header) (*http.Response, error) {
		t.Fatal("relayed again")
		return nil, nil
	}})
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodDelete, "/v1/cluster/replicas/r3", nil)
	h.change(context.Background(), w, r, true, nil, func(context.Context) (bool, uint64, *api.ErrorBody) {
		t.Fatal("changed on a replica that does not lead")
		return false, 0, nil
	})
	if w.Code != http.StatusMisdirectedRequest {
		t.Errorf("got %d %s; want 421", w.Code, w.Body)
	}
}

// TestAddNeedsCertificate: a caller without a certificate is refused
// before the body is read.
func TestAddNeedsCertificate(t *testing.T) {
	w := httptest.NewRecorder()
	handlers(fakeNode{}).Add(w, httptest.NewRequest(http.MethodPost, "/v1/cluster/replicas", strings.NewReader(`{"id":"r3"}`)))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("got %d; want 401", w.Code)
	}
}
