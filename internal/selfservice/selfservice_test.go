package selfservice

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
)

// TestRevocationRoundTrip: the stored value is the raft time (8 bytes BE
// Unix nanoseconds) then the reason, byte by byte.
func TestRevocationRoundTrip(t *testing.T) {
	at := time.Unix(0, 0x0102030405060708).UTC()
	v := EncodeRevocation(at, "lost")
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 'l', 'o', 's', 't'}
	if !bytes.Equal(v, want) {
		t.Fatalf("value %x, want %x", v, want)
	}
	r := DecodeRevocation([]byte("0123456789abcdef"), v)
	if r.Serial != "0123456789abcdef" || r.Reason != "lost" || !r.RevokedAt.Equal(at) {
		t.Fatalf("decoded %+v", r)
	}
	if r := DecodeRevocation([]byte("0123456789abcdef"), []byte{1, 2}); r.Reason != "" || !r.RevokedAt.IsZero() {
		t.Fatalf("short value decoded as %+v", r)
	}
}

func TestCheckRevokeRequest(t *testing.T) {
	for _, c := range []struct {
		req  RevokeRequest
		errs int
	}{
		{RevokeRequest{Serial: "0123456789abcdef", Reason: " lost "}, 0},
		{RevokeRequest{Serial: "0123456789ABCDEF", Reason: "lost"}, 1},
		{RevokeRequest{Serial: "0123456789abcdef", Reason: "   "}, 1},
		{RevokeRequest{Serial: "x", Reason: string(make([]byte, 1025))}, 2},
	} {
		req := c.req
		if errs := CheckRevokeRequest(&req, 1024); len(errs) != c.errs {
			t.Errorf("%+v: %d errors %v, want %d", c.req, len(errs), errs, c.errs)
		}
	}
	req := RevokeRequest{Serial: "0123456789abcdef", Reason: " lost "}
	CheckRevokeRequest(&req, 1024)
	if req.Reason != "lost" {
		t.Errorf("reason not trimmed: %q", req.Reason)
	}
}

// TestTokenRefusals: no token is 401, no office key is 503, and a token is
// refused when the revocation list cannot be read (never accepted
// unchecked).
func TestTokenRefusals(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/subject", nil)
	d := &Door{Region: "330000"}
	if _, aerr := d.Token(r); aerr == nil || aerr.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %+v", aerr)
	}
	r.AddCookie(&http.Cookie{Name: Cookie, Value: "cxs1.x"})
	if _, aerr := d.Token(r); aerr == nil || aerr.Status != http.StatusServiceUnavailable {
		t.Fatalf("no office key: %+v", aerr)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	d.Office = &client.Credentials{SignKey: key}
	d.RevokedFile = filepath.Join(t.TempDir(), "none", "subject-revoked.txt")
	d.Revoked = func(string) (bool, error) { return false, context.DeadlineExceeded }
	if _, aerr := d.Token(r); aerr == nil || aerr.Status == http.StatusOK {
		t.Fatalf("bad token accepted: %+v", aerr)
	}
}

// TestFileRefusesBadInput: an objection without grounds or statement, to a
// listing the node does not hold, is 422 with a field error for each, and
// nothing is submitted.
func TestFileRefusesBadInput(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	submitted := false
	d := &Door{Region: "330000", Office: &client.Credentials{}, Ledger: storeLedger{s},
		Submit: func(context.Context, pki.Identity, []byte) (*api.Receipt, *api.ErrorBody) {
			submitted = true
			return &api.Receipt{}, nil
		},
		ReadError: func(what string, err error) *api.ErrorBody { t.Fatalf("%s: %v", what, err); return nil },
	}
	tok := &subjecttoken.Token{Subject: "91330000MA0000000X"}
	_, aerr := d.File(context.Background(), tok, api.SubjectObjectionRequest{Origin: "creditx.330000/ledger", Index: 3, Grounds: []string{"bogus"}})
	if aerr == nil || aerr.Status != http.StatusUnprocessableEntity || len(aerr.Errors) != 3 {
		t.Fatalf("answer %+v", aerr)
	}
	if submitted {
		t.Fatal("a refused objection was submitted")
	}
}

type storeLedger struct{ s *ledger.Store }

func (l storeLedger) View(fn func(tx *ledger.ReadTx) error) error { return l.s.View(fn) }
func (storeLedger) Listings(*ledger.ReadTx, string) []Ref         { return nil }
func (storeLedger) Notices(*ledger.ReadTx, Ref) []Notice          { return nil }
func (storeLedger) History(*ledger.ReadTx, Ref, *schemas.Listing) (sanctions.ListingHistory, *sanctions.Engine, error) {
	return sanctions.ListingHistory{}, nil, nil
}
