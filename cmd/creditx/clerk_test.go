package main

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// clerkEnv is a dev node with one listing whose notices are issued.
type clerkEnv struct {
	url, agencies string
	creds         map[string]*client.Credentials
	listing       uint64 // index of the listing
	notice        uint64 // index of a notice to the executor
}

func newClerkEnv(t *testing.T) *clerkEnv {
	t.Helper()
	n, dir := startNode(t)
	e := &clerkEnv{url: n.URL(), agencies: filepath.Join(dir, "agencies"), creds: map[string]*client.Credentials{}}
	if err := n.SeedDev(context.Background(), e.agencies); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "publisher", "executor", "auditor"} {
		c, err := client.LoadCredentials(filepath.Join(e.agencies, name))
		if err != nil {
			t.Fatal(err)
		}
		e.creds[name] = c
	}
	p := e.creds["publisher"]
	mk, err := provision.DevMatchKey(e.agencies)
	if err != nil {
		t.Fatal(err)
	}
	l, err := synth.Listing(77, synth.Options{Region: "330000", Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *mk, Domain: "environment", Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	le, err := p.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.Submit(context.Background(), e.url, le)
	if err != nil {
		t.Fatal(err)
	}
	e.listing = rs[0].Index
	var page node.NoticesPage
	if err := e.creds["executor"].Get(context.Background(), e.url+"/v1/notices?limit=1&wait=30s", &page); err != nil || len(page.Notices) == 0 {
		t.Fatalf("no notice for the executor: %v", err)
	}
	e.notice = page.Notices[0].Index
	return e
}

// size waits until the ledger stops growing (notices are issued in the
// background) and returns its size.
func (e *clerkEnv) size(t *testing.T) uint64 {
	t.Helper()
	get := func() uint64 {
		var st node.Status
		if err := e.creds["auditor"].Get(context.Background(), e.url+"/v1/status", &st); err != nil {
			t.Fatal(err)
		}
		return st.Size
	}
	last, stable := get(), 0
	for stable < 5 {
		time.Sleep(100 * time.Millisecond)
		if s := get(); s == last {
			stable++
		} else {
			last, stable = s, 0
		}
	}
	return last
}

// run runs creditx with args as agency who, returning stdout, stderr and
// the error.
func (e *clerkEnv) run(who string, args ...string) (string, string, error) {
	root := newRootCmd()
	var out, errOut strings.Builder
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--node", e.url, "--creds", filepath.Join(e.agencies, who)))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// refused runs a helper that must refuse its input: exit status 2, the
// refusal line and every want on stderr, and no entry written.
func (e *clerkEnv) refused(t *testing.T, who string, args []string, want ...string) {
	t.Helper()
	before := e.size(t)
	out, errOut, err := e.run(who, args...)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != clerkExitInvalid {
		t.Fatalf("%v: %v (want exit %d)\nstdout: %s\nstderr: %s", args, err, clerkExitInvalid, out, errOut)
	}
	for _, w := range append([]string{"nothing was signed or submitted:"}, want...) {
		if !strings.Contains(errOut, w) {
			t.Errorf("%v: stderr does not say %q:\n%s", args, w, errOut)
		}
	}
	if out != "" {
		t.Errorf("%v printed a receipt: %s", args, out)
	}
	if after := e.size(t); after != before {
		t.Fatalf("%v: the ledger grew from %d to %d", args, before, after)
	}
}

var receiptRE = regexp.MustCompile(`^(\w+): creditx\.330000/ledger index (\d+), leaf [0-9a-f]{64}\n`)

// accepted runs a helper that must sign and submit one record of kind and
// returns its index; the ledger grows by that record.
func (e *clerkEnv) accepted(t *testing.T, who, kind string, args ...string) uint64 {
	t.Helper()
	before := e.size(t)
	out, errOut, err := e.run(who, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s%s", args, err, out, errOut)
	}
	m := receiptRE.FindStringSubmatch(out)
	if m == nil || m[1] != kind || !strings.Contains(out, "checkpoint:\ncreditx.330000/ledger") {
		t.Fatalf("%v printed no %s receipt: %q", args, kind, out)
	}
	idx, _ := strconv.ParseUint(m[2], 10, 64)
	if idx < before {
		t.Fatalf("%v: receipt index %d, the ledger had %d entries", args, idx, before)
	}
	return idx
}

func TestFeedbackHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	e := newClerkEnv(t)
	nt := strconv.FormatUint(e.notice, 10)
	// The inbox on the command line: a page, then the rest after its cursor.
	out, _, err := e.run("executor", "notices", "--limit", "1")
	m := regexp.MustCompile(`(?m)^next: (\S+)$`).FindStringSubmatch(out)
	if err != nil || m == nil || !regexp.MustCompile(`(?m)^`+nt+` +pending `).MatchString(out) {
		t.Fatalf("notices --limit 1: %v\n%s", err, out)
	}
	rest, _, err := e.run("executor", "notices", "--since", m[1], "--all")
	if err != nil || regexp.MustCompile(`(?m)^`+nt+` `).MatchString(rest) || !strings.Contains(rest, "pending") {
		t.Fatalf("notices --since %s --all repeats notice %s or shows none: %v\n%s", m[1], nt, err, rest)
	}
	e.refused(t, "executor", []string{"feedback", nt, "--outcome", "done"}, "outcome:", "[--outcome]")
	e.refused(t, "executor", []string{"feedback", nt, "--outcome", "not_applicable"}, "reason:", "[--reason]")
	e.refused(t, "executor", []string{"feedback", nt, "--outcome", "applied", "--reason", "because"}, "reason:", "only allowed")
	e.refused(t, "executor", []string{"feedback", nt, "--outcome", "applied", "--acted-at", "yesterday"}, "acted_at:", "[--acted-at]")
	e.refused(t, "executor", []string{"feedback", "seven", "--outcome", "applied"}, "notice:", "not an entry number")
	e.refused(t, "executor", []string{"feedback", strconv.FormatUint(e.listing, 10), "--outcome", "applied"}, "notice:", "is of kind listing, not sanction_notice")
	e.refused(t, "executor", []string{"feedback", "330000/99999", "--outcome", "applied"}, "notice:", "99999")
	e.refused(t, "executor", []string{"feedback", "990000/1", "--outcome", "applied"}, "notice:")
	// Only the addressee answers: the publisher is refused before signing.
	e.refused(t, "publisher", []string{"feedback", nt, "--outcome", "applied"}, "notice:", "addressed to")
	// Several problems at once are all named.
	e.refused(t, "executor", []string{"feedback", nt, "--outcome", "nope", "--acted-at", "x"}, "outcome:", "acted_at:")

	idx := e.accepted(t, "executor", "feedback", "feedback", "creditx.330000/ledger#"+nt, "--outcome", "applied", "--case-ref", "ZJ-PROC-2026-017")
	var rv node.RecordView
	if err := e.creds["auditor"].Get(context.Background(), e.url+"/v1/records/330000/"+strconv.FormatUint(idx, 10), &rv); err != nil {
		t.Fatal(err)
	}
	canon, err := schemas.Canonicalize(rv.Record)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := schemas.Decode(canon)
	if err != nil {
		t.Fatal(err)
	}
	fb, ok := rec.(*schemas.Feedback)
	if !ok || fb.Notice.Index != e.notice || fb.Outcome != "applied" || fb.CaseRef != "ZJ-PROC-2026-017" || fb.Agency.USCC != e.creds["executor"].Identity.ID {
		t.Fatalf("the feedback written is %+v", rec)
	}
	var page node.NoticesPage
	if err := e.creds["executor"].Get(context.Background(), e.url+"/v1/notices?state=answered", &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Notices) != 1 || page.Notices[0].Index != e.notice {
		t.Fatalf("answered notices after the helper's feedback: %+v", page.Notices)
	}
}

func TestRepairHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	e := newClerkEnv(t)
	l := strconv.FormatUint(e.listing, 10)
	e.refused(t, "publisher", []string{"repair", l, "--type", "early_repair", "--doc-no", "修复决定〔2026〕3号", "--effects", "remove"},
		"application:", "min_period_met:", "[--application-date]", "[--min-period-met]")
	e.refused(t, "publisher", []string{"repair", l, "--type", "decision_revoked", "--doc-no", "撤销〔2026〕1号", "--effects", "erase"}, "effects[0]:", "[--effects]")
	e.refused(t, "publisher", []string{"repair", l, "--type", "decision_revoked", "--effects", "remove"}, "decision.doc_no:", "[--doc-no]")
	e.refused(t, "publisher", []string{"repair", l, "--type", "decision_revoked", "--doc-no", "X", "--effects", "remove", "--decision-date", "2026-13-01"}, "decision.date:")
	e.refused(t, "publisher", []string{"repair", strconv.FormatUint(e.notice, 10), "--type", "decision_revoked", "--doc-no", "X", "--effects", "remove"}, "listing:", "not listing")
	e.refused(t, "publisher", []string{"repair", l, "--type", "early_repair", "--doc-no", "X", "--effects", "remove", "--min-period-met",
		"--application-date", "2026-01-02", "--evidence", "申请书.pdf"}, "application.evidence[0]:", "NAME=SHA256")

	e.accepted(t, "publisher", "repair", "repair", l, "--type", "decision_revoked", "--doc-no", "撤销列入决定〔2026〕1号", "--effects", "remove")
	var ans node.CheckAnswer
	if err := e.creds["auditor"].Get(context.Background(), e.url+"/v1/check?subject="+synth.EnterpriseUSCC("330000", 77)+"&at="+time.Now().Add(2*time.Second).UTC().Format(time.RFC3339), &ans); err != nil {
		t.Fatal(err)
	}
	if len(ans.Listings) != 1 || ans.Listings[0].State != node.StateRemoved {
		t.Fatalf("after the repair the check answers %+v", ans)
	}
}

func TestDecideHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	e := newClerkEnv(t)
	l := strconv.FormatUint(e.listing, 10)
	// The credit office files the subject's objection.
	e.refused(t, "admin", []string{"objection", l, "--grounds", "fact_error,bribery", "--statement", "罚款已缴清"}, "grounds[1]:", "[--grounds]")
	e.refused(t, "admin", []string{"objection", l, "--grounds", "fact_error"}, "statement:", "[--statement]")
	e.refused(t, "admin", []string{"objection", l, "--grounds", "fact_error", "--statement", "x", "--subject-key", "91330000XXXXXXXXXX"}, "subject_key:")
	e.refused(t, "admin", []string{"objection", l, "--grounds", "fact_error", "--statement", "x", "--subject-key", synth.EnterpriseUSCC("330000", 78)},
		"subject_key:", "is not a subject of the listing", "[--subject-key]")
	obj := e.accepted(t, "admin", "objection", "objection", l, "--grounds", "fact_error", "--statement", "处罚决定已被复议撤销")
	o := strconv.FormatUint(obj, 10)

	e.refused(t, "publisher", []string{"decide", o, "--decision", "upheld"}, "actions:", "required unless", "[--actions]")
	e.refused(t, "publisher", []string{"decide", o, "--decision", "rejected", "--actions", "remove"}, "actions:", "must be empty")
	e.refused(t, "publisher", []string{"decide", o, "--decision", "maybe"}, "decision:", "[--decision]")
	e.refused(t, "publisher", []string{"decide", l, "--decision", "rejected"}, "objection:", "is of kind listing, not objection")
	e.refused(t, "publisher", []string{"decide", o, "--decision", "rejected", "--decided-at", "now"}, "decided_at:")

	e.accepted(t, "publisher", "objection_decision", "decide", o, "--decision", "upheld", "--actions", "remove")
	var ans node.CheckAnswer
	if err := e.creds["auditor"].Get(context.Background(), e.url+"/v1/check?subject="+synth.EnterpriseUSCC("330000", 77)+"&at="+time.Now().Add(2*time.Second).UTC().Format(time.RFC3339), &ans); err != nil {
		t.Fatal(err)
	}
	if len(ans.Listings) != 1 || ans.Listings[0].State != node.StateRemoved {
		t.Fatalf("after the upheld objection the check answers %+v", ans)
	}
}
