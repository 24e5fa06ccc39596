package limits

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/pki"
)

// TestTakeSubjects: one full batch at once, then SubjectsPerSecond a
// second; over it a message and Retry-After; replicas and public callers
// are not counted.
func TestTakeSubjects(t *testing.T) {
	ca, err := pki.NewCA("330000", "test CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	exe := issued(t, ca, pki.Identity{Role: pki.RoleExecute, Region: "330000", Kind: pki.KindAgency, ID: synth.EnterpriseUSCC("330000", 3), Name: "E"})
	replica := issued(t, ca, pki.Identity{Role: pki.RoleReplica, Region: "330000", Kind: pki.KindReplica, ID: "zj-1", Name: "replica zj-1"})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rl := NewLimiter(RateConfig{}, func() time.Time { return now })
	take := func(chain []*x509.Certificate, k int) (string, string) {
		r := httptest.NewRequest("POST", "/v1/check", nil)
		r.RemoteAddr = "192.0.2.1:40000"
		if chain != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: chain, VerifiedChains: [][]*x509.Certificate{chain}}
		}
		w := httptest.NewRecorder()
		msg := rl.TakeSubjects(w, r, k)
		return msg, w.Header().Get("Retry-After")
	}
	if msg, _ := take(exe, SubjectBurst); msg != "" {
		t.Fatalf("first full batch refused: %s", msg)
	}
	if msg, ra := take(exe, 1); msg == "" || ra == "" {
		t.Fatalf("a subject over the burst: %q, Retry-After %q; want refused with Retry-After", msg, ra)
	}
	now = now.Add(time.Second)
	if msg, _ := take(exe, SubjectsPerSecond); msg != "" {
		t.Fatalf("a second's worth after a second refused: %s", msg)
	}
	for range 3 {
		if msg, _ := take(replica, SubjectBurst); msg != "" {
			t.Fatalf("replica limited: %s", msg)
		}
		if msg, _ := take(nil, SubjectBurst); msg != "" {
			t.Fatalf("public caller limited: %s", msg)
		}
	}
}
