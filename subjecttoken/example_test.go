package subjecttoken_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/subjecttoken"
)

// The credit office issues a token after real-name authentication; a node
// of the same region verifies it against the office's key.
func Example() {
	pub, key, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
	uscc := synth.EnterpriseUSCC("330000", 7)
	tok, _, err := subjecttoken.Issue(key, nil, subjecttoken.IssueRequest{Region: "330000", USCC: uscc}, now)
	if err != nil {
		panic(err)
	}
	t, err := subjecttoken.Verify(tok, pub, "330000", now.Add(time.Hour), nil)
	fmt.Println(strings.HasPrefix(tok, subjecttoken.Prefix), t.Kind, t.Subject == uscc, err)
	_, err = subjecttoken.Verify(tok, pub, "330000", now.Add(9*time.Hour), nil)
	fmt.Println(err != nil)
	// Output:
	// true organisation true <nil>
	// true
}
