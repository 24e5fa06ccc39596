package node_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/subjecttoken"
)

// TestSubjectRevokeReplicated: a token revoked through one follower of a
// real 3-process region is refused by every replica, including one that
// was down during the revocation and caught up by raft; revoking twice
// answers "new": false; a bad serial or an empty reason is refused with
// field errors and nothing is revoked.
func TestSubjectRevokeReplicated(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three replica processes")
	}
	c := startCluster(t, 3, nil)
	ctx := context.Background()
	admin := c.creds["admin"]
	leader := c.waitLeader(15 * time.Second)
	var followers []*proc
	for _, p := range c.procs {
		if p != leader {
			followers = append(followers, p)
		}
	}
	key, err := client.ReadSignKey(filepath.Join(filepath.Dir(leader.cfgPath), "keys", "issuer.key"))
	if err != nil {
		t.Fatal(err)
	}
	tok, st, err := subjecttoken.Issue(key, admin.MatchKey, subjecttoken.IssueRequest{Region: "330000", USCC: synth.EnterpriseUSCC("330000", 41), Name: "某公司"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := admin.Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	public := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	self := func(p *proc) (int, string) {
		req, _ := http.NewRequest("GET", p.url+"/v1/subject", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := public.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range c.procs {
		if code, body := self(p); code != 200 {
			t.Fatalf("%s before revocation: %d %s", p.id, code, body)
		}
	}
	revoke := func(p *proc, serial, reason string) (node.SubjectRevocation, error) {
		body, _ := json.Marshal(node.SubjectRevokeRequest{Serial: serial, Reason: reason})
		var out node.SubjectRevocation
		err := admin.Post(ctx, p.url+"/v1/subject/revoke", body, &out)
		return out, err
	}

	// Bad input: field errors, nothing revoked.
	for _, bad := range []struct{ serial, reason, field string }{
		{"not-a-serial", "lost", "serial"},
		{st.Serial, "  ", "reason"},
	} {
		_, err := revoke(followers[0], bad.serial, bad.reason)
		var se *client.SubmitError
		if !errors.As(err, &se) || se.Status != 422 || !strings.Contains(se.Error(), bad.field) {
			t.Fatalf("revoke(%q, %q): %v, want 422 naming %s", bad.serial, bad.reason, err, bad.field)
		}
	}
	if code, body := self(leader); code != 200 {
		t.Fatalf("a refused revocation revoked the token: %d %s", code, body)
	}

	// One follower is down while the other revokes.
	down := followers[1]
	down.signal(syscall.SIGTERM)
	r, err := revoke(followers[0], st.Serial, "phone lost")
	if err != nil || !r.New || r.Serial != st.Serial || r.Reason != "phone lost" {
		t.Fatalf("revocation: %+v %v", r, err)
	}
	if r2, err := revoke(leader, st.Serial, "again"); err != nil || r2.New || r2.Reason != "phone lost" {
		t.Fatalf("second revocation: %+v %v, want the first one standing", r2, err)
	}
	down.start()
	for _, p := range c.procs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := self(p)
			if code == 401 && strings.Contains(body, "revoked") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still answers the revoked token: %d %s", p.id, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var list []node.SubjectRevocation
	if err := c.creds["auditor"].Get(ctx, down.url+"/v1/subject/revoked", &list); err != nil || len(list) != 1 || list[0].Serial != st.Serial || list[0].RevokedAt.IsZero() {
		t.Fatalf("revocations listed by the replica that was down: %+v %v", list, err)
	}
}
