package exchangeops

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// noNode fails the test if the handlers reach the replica.
type noNode struct{ t *testing.T }

func (n noNode) Require(http.ResponseWriter, *http.Request, ...pki.Role) (pki.Identity, bool) {
	n.t.Fatal("Require called")
	return pki.Identity{}, false
}
func (n noNode) View(func(*ledger.ReadTx) error) error { n.t.Fatal("View called"); return nil }
func (n noNode) RetryLeader(context.Context, func(context.Context, bool) error) error {
	n.t.Fatal("RetryLeader called")
	return nil
}
func (n noNode) CallLeader(context.Context, string, string, []byte, http.Header) (*http.Response, string, error) {
	n.t.Fatal("CallLeader called")
	return nil, "", nil
}

// TestNotAMember: without an exchange the witness endpoints answer 404
// and the views 404 as JSON, without reaching the replica; the
// manifest_propose check refuses.
func TestNotAMember(t *testing.T) {
	h := New("110000", nil, func() bool { return true }, noNode{t})
	for _, tc := range []struct {
		serve func(http.ResponseWriter, *http.Request)
		req   *http.Request
		json  bool
	}{
		{h.Witness, httptest.NewRequest(http.MethodPost, exchange.AddCheckpointPath, strings.NewReader("x")), false},
		{h.WitnessMonitor, httptest.NewRequest(http.MethodGet, exchange.MonitorPathPrefix+"00/checkpoint", nil), false},
		{h.ServeStatus, httptest.NewRequest(http.MethodGet, "/v1/exchange", nil), true},
		{h.Membership, httptest.NewRequest(http.MethodGet, "/v1/membership", nil), true},
	} {
		w := httptest.NewRecorder()
		tc.serve(w, tc.req)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: got %d; want 404", tc.req.URL.Path, w.Code)
		}
		if tc.json && !strings.Contains(w.Body.String(), "not a consortium member") {
			t.Errorf("%s: body %q", tc.req.URL.Path, w.Body)
		}
	}
	if field, msg := h.CheckManifestPropose(&schemas.ManifestPropose{}); field != "record.manifest_propose" || msg == "" {
		t.Errorf("CheckManifestPropose = %q, %q", field, msg)
	}
	if _, ok := h.MirrorOrigin("310000"); ok {
		t.Error("MirrorOrigin found a member without an exchange")
	}
	if err := h.Export(context.Background(), t.TempDir(), nil); err == nil {
		t.Error("Export without an exchange succeeded")
	}
}

// TestDescribeChange summarises a proposal in one line.
func TestDescribeChange(t *testing.T) {
	for _, tc := range []struct {
		p    schemas.ManifestPropose
		want string
	}{
		{schemas.ManifestPropose{Manifest: "version: 2"}, "replace the manifest"},
		{schemas.ManifestPropose{Change: &schemas.MembershipChange{Op: "join", Code: "320000", Name: "Jiangsu", Endpoint: "https://js.example"}},
			"join 320000 (Jiangsu) https://js.example"},
		{schemas.ManifestPropose{Change: &schemas.MembershipChange{Op: "leave", Code: "320000"}}, "leave 320000"},
	} {
		if got := DescribeChange(&tc.p); got != tc.want {
			t.Errorf("DescribeChange = %q; want %q", got, tc.want)
		}
	}
}
