package subjecttoken_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
)

func TestIssueVerify(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	var mk schemas.MatchKey
	rand.Read(mk[:])
	now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
	uscc := synth.EnterpriseUSCC("330000", 7)
	tok, st, err := subjecttoken.Issue(key, &mk, subjecttoken.IssueRequest{Region: "330000", USCC: uscc, Name: "某某公司"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Expires-st.Issued != int64(subjecttoken.DefaultTTL/time.Second) || st.Subject != uscc {
		t.Fatalf("token %+v", st)
	}
	got, err := subjecttoken.Verify(tok, pub, "330000", now.Add(time.Hour), nil)
	if err != nil || got.Subject != uscc {
		t.Fatalf("verify: %v %+v", err, got)
	}
	if _, err := subjecttoken.Verify(tok, pub, "330000", now.Add(8*time.Hour), nil); !errors.Is(err, subjecttoken.ErrExpired) {
		t.Errorf("after 8h: %v", err)
	}
	if _, err := subjecttoken.Verify(tok, pub, "310000", now, nil); !errors.Is(err, subjecttoken.ErrSignature) {
		t.Errorf("other region: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := subjecttoken.Verify(tok, other, "330000", now, nil); !errors.Is(err, subjecttoken.ErrSignature) {
		t.Errorf("other key: %v", err)
	}
	// Every byte flipped in the payload or signature fails.
	for i := len(subjecttoken.Prefix); i < len(tok); i++ {
		if tok[i] == '.' {
			continue
		}
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := subjecttoken.Verify(string(b), pub, "330000", now, nil); err == nil {
			t.Fatalf("flipped byte %d verifies", i)
		}
	}
	// Revocation by serial, through the file.
	path := filepath.Join(t.TempDir(), "revoked.txt")
	if err := subjecttoken.Revoke(path, st.Serial, "lost phone"); err != nil {
		t.Fatal(err)
	}
	rv, err := subjecttoken.ReadRevoked(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := subjecttoken.Verify(tok, pub, "330000", now, func(s string) bool { return rv[s] }); !errors.Is(err, subjecttoken.ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	if err := subjecttoken.Revoke(path, "zz", ""); err == nil {
		t.Error("bad serial accepted")
	}

	// A person: bound to the keyed hash, the ID is not in the token.
	id := synth.PersonID("330000", 3)
	ptok, pst, err := subjecttoken.Issue(key, &mk, subjecttoken.IssueRequest{Region: "330000", CitizenID: id, TTL: 24 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if pst.Subject != mk.HashID(id) || pst.Kind != subjecttoken.Person || strings.Contains(ptok, id) {
		t.Fatalf("person token %+v", pst)
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	var mk schemas.MatchKey
	now := time.Now()
	for _, c := range []struct {
		req   subjecttoken.IssueRequest
		field string
	}{
		{subjecttoken.IssueRequest{Region: "33000", USCC: synth.EnterpriseUSCC("330000", 1)}, "region"},
		{subjecttoken.IssueRequest{Region: "330000"}, "subject"},
		{subjecttoken.IssueRequest{Region: "330000", USCC: "91330000ABCDEFGHIJ"}, "uscc"},
		{subjecttoken.IssueRequest{Region: "330000", CitizenID: "33010219900101123X0"}, "citizen_id"},
		{subjecttoken.IssueRequest{Region: "330000", CitizenID: synth.PersonID("330000", 1), Name: "张三"}, "name"},
		{subjecttoken.IssueRequest{Region: "330000", USCC: synth.EnterpriseUSCC("330000", 1), TTL: 25 * time.Hour}, "ttl"},
		{subjecttoken.IssueRequest{Region: "330000", USCC: synth.EnterpriseUSCC("330000", 1), CitizenID: synth.PersonID("330000", 1)}, "subject"},
	} {
		tok, _, err := subjecttoken.Issue(key, &mk, c.req, now)
		var errs subjecttoken.FieldErrors
		if tok != "" || !errors.As(err, &errs) {
			t.Errorf("%+v: token %q err %v", c.req, tok, err)
			continue
		}
		found := false
		for _, e := range errs {
			found = found || e.Field == c.field
		}
		if !found {
			t.Errorf("%+v: %v, want a %s error", c.req, err, c.field)
		}
	}
}

func FuzzParse(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	var mk schemas.MatchKey
	tok, _, err := subjecttoken.Issue(key, &mk, subjecttoken.IssueRequest{Region: "330000", USCC: synth.EnterpriseUSCC("330000", 1)}, time.Unix(1_800_000_000, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("cxs1.")
	f.Add("cxs1.e30.AAAA")
	f.Add(tok + ".x")
	f.Add(strings.Replace(tok, "cxs1.", "cxs2.", 1))
	f.Fuzz(func(t *testing.T, s string) {
		st, payload, sig, err := subjecttoken.Parse(s)
		if err != nil {
			return
		}
		if st.Kind != subjecttoken.Organisation && st.Kind != subjecttoken.Person || len(sig) != ed25519.SignatureSize || len(payload) > subjecttoken.MaxPayload {
			t.Fatalf("accepted %q as %+v", s, st)
		}
	})
}
