package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
)

// Clerk helpers (issue 18): feedback, objection, repair and decide build a
// record from what a clerk has (an entry number and a few flags), look up
// the rest on the node (the referenced entry's leaf hash, the listing's
// authority and subject), validate the record with the schemas BEFORE
// signing, and only then sign, submit and print the receipt. Bad input
// prints "nothing was signed or submitted:" with one line per field (and the
// flag that sets it) and exits 2; a refusal by the node writes nothing
// either (the node's batch rule) and exits 1 with its field errors.

// clerkExitInvalid is the exit status of a helper that refused its input.
const clerkExitInvalid = 2

// clerkProblem is one reason a helper refuses its input: the record field
// (JSON path) or argument, what is wrong, and the flag or argument to fix.
type clerkProblem struct {
	Field, Message, Flag string
	// Covers are record fields taken from the entry looked up: missing
	// because of this problem, so not reported again.
	Covers []string
}

// clerk is what every helper shares: where the node is and who signs.
type clerk struct {
	nodeURL, credsDir string
	// purpose is recorded in the node's access log when the entry looked
	// up names a person (GET /v1/records needs one then).
	purpose string
	now     func() time.Time
}

func (c *clerk) flags(cmd *cobra.Command, purpose string) {
	cmd.Flags().StringVar(&c.purpose, "purpose", purpose, "purpose code recorded in the node's access log when the entry looked up names a person")
	cmd.Flags().StringVar(&c.credsDir, "creds", "", "credentials directory of the agency that signs (tls.crt, tls.key, ca.crt, sign.key)")
	cmd.Flags().StringVar(&c.nodeURL, "node", "https://127.0.0.1:8443", "region node URL")
	cmd.MarkFlagRequired("creds")
}

// entryArg parses an entry named on the command line: "N" (entry N of the
// signer's own region ledger), "CODE/N" or "creditx.CODE/ledger#N".
func entryArg(arg, region string) (code string, index uint64, err error) {
	s := strings.TrimSpace(arg)
	code = region
	switch {
	case strings.HasPrefix(s, "creditx.") && strings.Contains(s, "/ledger#"):
		c, n, _ := strings.Cut(strings.TrimPrefix(s, "creditx."), "/ledger#")
		code, s = c, n
	case strings.Contains(s, "/"):
		code, s, _ = strings.Cut(s, "/")
	}
	if err := schemas.CheckDivision(code); err != nil {
		return "", 0, fmt.Errorf("%q names no member ledger: %v", arg, err)
	}
	index, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not an entry number (N, CODE/N or creditx.CODE/ledger#N)", arg)
	}
	return code, index, nil
}

// lookup reads entry code/index from the node and returns a reference to it
// (with its leaf hash) and the decoded record.
func lookup(ctx context.Context, creds *client.Credentials, nodeURL, purpose, code string, index uint64) (schemas.Ref, schemas.Record, error) {
	var rv node.RecordView
	u := strings.TrimSuffix(nodeURL, "/") + "/v1/records/" + url.PathEscape(code) + "/" + strconv.FormatUint(index, 10) + "?purpose=" + url.QueryEscape(purpose)
	if err := creds.Get(ctx, u, &rv); err != nil {
		return schemas.Ref{}, nil, err
	}
	canon, err := schemas.Canonicalize(rv.Record) // the answer is indented
	if err != nil {
		return schemas.Ref{}, nil, fmt.Errorf("entry %s/%d: %w", code, index, err)
	}
	rec, err := schemas.Decode(canon)
	if err != nil {
		return schemas.Ref{}, nil, fmt.Errorf("entry %s/%d: %w", code, index, err)
	}
	return schemas.Ref{Origin: rv.Origin, Index: rv.Index, Hash: rv.LeafHash}, rec, nil
}

// lookupKind is lookup of an entry that must be a record of kind; a wrong
// or missing entry is a problem with field (not an error), so that the
// helper can report it with the others.
func (c *clerk) lookupKind(ctx context.Context, creds *client.Credentials, field, flag, arg, kind string) (schemas.Ref, schemas.Record, *clerkProblem, error) {
	code, index, err := entryArg(arg, creds.Identity.Region)
	if err != nil {
		return schemas.Ref{}, nil, &clerkProblem{field, err.Error(), flag, nil}, nil
	}
	ref, rec, err := lookup(ctx, creds, c.nodeURL, c.purpose, code, index)
	var se *client.SubmitError
	if errors.As(err, &se) && (se.Status == 404 || se.Status == 400) {
		return ref, nil, &clerkProblem{field, fmt.Sprintf("entry %s/%d: %s", code, index, se.Body.Error), flag, nil}, nil
	}
	if err != nil {
		return ref, nil, nil, fmt.Errorf("looking up %s %s/%d: %w", field, code, index, err)
	}
	if rec.Kind() != kind {
		return ref, nil, &clerkProblem{field, fmt.Sprintf("entry %s/%d is of kind %s, not %s", code, index, rec.Kind(), kind), flag, nil}, nil
	}
	return ref, rec, nil, nil
}

// finish validates rec (with the problems the helper found already), and
// only if there are none signs it with creds, submits it and prints the
// receipt. flagOf maps a record field to the flag that sets it.
func (c *clerk) finish(cmd *cobra.Command, creds *client.Credentials, rec schemas.Record, problems []clerkProblem, flagOf map[string]string) error {
	if err := schemas.Validate(rec, nil); err != nil {
		var ves schemas.ValidationErrors
		if !errors.As(err, &ves) {
			return err
		}
		for _, fe := range ves {
			if reported(problems, fe.Field) {
				continue // the lookup already said why it is missing
			}
			problems = append(problems, clerkProblem{fe.Field, fe.Message + " (" + fe.Rule + ")", flagFor(flagOf, fe.Field), nil})
		}
	}
	if len(problems) > 0 {
		printProblems(cmd.ErrOrStderr(), problems)
		return &exitError{code: clerkExitInvalid, msg: "nothing was signed or submitted"}
	}
	if creds.SignKey == nil {
		return fmt.Errorf("%s has no sign.key: nothing was signed or submitted", creds.Dir)
	}
	e, err := creds.Sign(rec)
	if err != nil {
		return err
	}
	rs, err := creds.Submit(cmd.Context(), c.nodeURL, e)
	if err != nil {
		var se *client.SubmitError
		if errors.As(err, &se) {
			return fmt.Errorf("the node refused the %s; nothing was written: %w", rec.Kind(), err)
		}
		return fmt.Errorf("submitting the %s (it may or may not be in the ledger: run the command again, a same record is not written twice): %w", rec.Kind(), err)
	}
	r := rs[0]
	out := cmd.OutOrStdout()
	dup := ""
	if r.Duplicate {
		dup = " (already in the ledger)"
	}
	fmt.Fprintf(out, "%s: %s index %d%s, leaf %s\n", rec.Kind(), r.Origin, r.Index, dup, r.LeafHash)
	fmt.Fprintf(out, "checkpoint:\n%s", r.Checkpoint)
	return nil
}

// reported says whether field, or a field containing it, has a problem.
func reported(ps []clerkProblem, field string) bool {
	for _, p := range ps {
		for _, f := range append([]string{p.Field}, p.Covers...) {
			if field == f || strings.HasPrefix(field, f+".") {
				return true
			}
		}
	}
	return false
}

func flagFor(flagOf map[string]string, field string) string {
	for f := field; f != ""; {
		if fl, ok := flagOf[f]; ok {
			return fl
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return ""
}

func printProblems(w io.Writer, ps []clerkProblem) {
	fmt.Fprintln(w, "nothing was signed or submitted:")
	for _, p := range ps {
		if p.Flag != "" {
			fmt.Fprintf(w, "  %s: %s [%s]\n", p.Field, p.Message, p.Flag)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", p.Field, p.Message)
		}
	}
}

// timeFlag parses an optional RFC 3339 time flag (empty: now).
func timeFlag(s, field, flag string, now time.Time, ps *[]clerkProblem) schemas.Time {
	if s == "" {
		return schemas.NewTime(now)
	}
	t, err := schemas.ParseTime(s)
	if err != nil {
		*ps = append(*ps, clerkProblem{field, fmt.Sprintf("%q is not a time like 2026-05-06T09:30:00+08:00: %v", s, err), flag, nil})
	}
	return t
}

// dateFlag parses a date flag (empty: today when def, else the zero date
// that validation reports as required).
func dateFlag(s, field, flag string, def bool, now time.Time, ps *[]clerkProblem) schemas.Date {
	if s == "" {
		if def {
			return schemas.NewTime(now).Date()
		}
		return schemas.Date{}
	}
	d, err := schemas.ParseDate(s)
	if err != nil {
		*ps = append(*ps, clerkProblem{field, fmt.Sprintf("%q is not a date like 2026-05-06: %v", s, err), flag, nil})
	}
	return d
}

func header(creds *client.Credentials, now time.Time) schemas.Header {
	return schemas.Header{Region: creds.Identity.Region, Submitter: creds.Identity.ID, CreatedAt: schemas.NewTime(now)}
}

func (c *clerk) load() (*client.Credentials, time.Time, error) {
	creds, err := client.LoadCredentials(c.credsDir)
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	return creds, now, err
}

func newFeedbackCmd() *cobra.Command {
	var c clerk
	var outcome, reason, caseRef, actedAt string
	cmd := &cobra.Command{
		Use:   "feedback NOTICE --outcome applied|refused|not_applicable --creds DIR",
		Short: "Answer a sanction notice: build, validate, sign and submit the feedback record",
		Long: `feedback answers a sanction notice addressed to the executing agency of --creds. NOTICE is the
notice's entry: N (entry N of the agency's own region ledger, as GET /v1/notices lists it), CODE/N or
creditx.CODE/ledger#N. The notice's leaf hash is looked up on the node. Outcomes: applied,
prioritised, refused, stricter, key_supervision, not_applicable (--reason is required for
not_applicable and allowed only there). Nothing is signed unless the record is valid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, now, err := c.load()
			if err != nil {
				return err
			}
			var ps []clerkProblem
			ref, rec, p, err := c.lookupKind(cmd.Context(), creds, "notice", "NOTICE", args[0], "sanction_notice")
			if err != nil {
				return err
			}
			if p != nil {
				ps = append(ps, *p)
			} else if nt := rec.(*schemas.SanctionNotice); nt.ExecutingAgency.USCC != creds.Identity.ID {
				ps = append(ps, clerkProblem{"notice", fmt.Sprintf("the notice is addressed to %s (%s), not to %s (%s): only the addressee answers it",
					nt.ExecutingAgency.Name, nt.ExecutingAgency.USCC, creds.Identity.Name, creds.Identity.ID), "NOTICE", nil})
			}
			fb := &schemas.Feedback{Header: header(creds, now), Notice: ref, Agency: schemas.Agency{Name: creds.Identity.Name, USCC: creds.Identity.ID},
				Outcome: outcome, Reason: reason, CaseRef: caseRef}
			fb.ActedAt = timeFlag(actedAt, "acted_at", "--acted-at", now, &ps)
			return c.finish(cmd, creds, fb, ps, map[string]string{"outcome": "--outcome", "reason": "--reason", "case_ref": "--case-ref", "acted_at": "--acted-at", "notice": "NOTICE"})
		},
	}
	c.flags(cmd, "enforcement")
	cmd.Flags().StringVar(&outcome, "outcome", "", "what the agency did: applied, prioritised, refused, stricter, key_supervision, not_applicable")
	cmd.Flags().StringVar(&reason, "reason", "", "why the measure does not apply (required with not_applicable, allowed only there)")
	cmd.Flags().StringVar(&caseRef, "case-ref", "", "the agency's own case or file number")
	cmd.Flags().StringVar(&actedAt, "acted-at", "", "when the agency acted, RFC 3339 (default: now)")
	return cmd
}

func newObjectionCmd() *cobra.Command {
	var c clerk
	var subjectKey, statement, filedAt string
	var grounds []string
	cmd := &cobra.Command{
		Use:   "objection LISTING --grounds fact_error,... --statement TEXT --creds DIR",
		Short: "File a subject's objection to a listing: build, validate, sign and submit the objection record",
		Long: `objection files the objection a subject raised against an entry (usually a listing) with the
credit office of --creds. LISTING is N, CODE/N or creditx.CODE/ledger#N. The subject key (the
listing subject's USCC, or the keyed hash of a listed person's ID) and the providing unit (the
listing authority) are taken from the listing unless given. Grounds: fact_error, omission,
over_period, wrong_listing, not_removed, privacy. A pending objection suspends the listing's
disclosure everywhere until it is decided (creditx decide). Nothing is signed unless the record
is valid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, now, err := c.load()
			if err != nil {
				return err
			}
			var ps []clerkProblem
			ref, rec, p, err := c.lookupKind(cmd.Context(), creds, "target", "LISTING", args[0], "listing")
			if err != nil {
				return err
			}
			ob := &schemas.Objection{Header: header(creds, now), Target: ref, SubjectKey: subjectKey, Grounds: grounds, Statement: statement}
			if p != nil {
				p.Covers = []string{"providing_unit", "subject_key"}
				ps = append(ps, *p)
			} else {
				l := rec.(*schemas.Listing)
				ob.ProvidingUnit = l.Authority
				if keys := sanctions.ListingSubjectKeys(l); ob.SubjectKey != "" && !slices.Contains(keys, ob.SubjectKey) {
					// The owner rule (sanctions/owner.go): only a subject of
					// the listing objects to it; the node would refuse it too.
					ps = append(ps, clerkProblem{"subject_key", fmt.Sprintf("%s is not a subject of the listing (its keys: %s): only a listed subject objects to it",
						ob.SubjectKey, strings.Join(keys, ", ")), "--subject-key", nil})
				}
				if ob.SubjectKey == "" {
					switch {
					case l.Subject.USCC != "":
						ob.SubjectKey = l.Subject.USCC
					case l.Subject.Person != nil:
						ob.SubjectKey = l.Subject.Person.IDHash
					}
				}
			}
			ob.FiledAt = timeFlag(filedAt, "filed_at", "--filed-at", now, &ps)
			return c.finish(cmd, creds, ob, ps, map[string]string{"subject_key": "--subject-key", "grounds": "--grounds", "statement": "--statement", "filed_at": "--filed-at", "target": "LISTING"})
		},
	}
	c.flags(cmd, "objection")
	cmd.Flags().StringSliceVar(&grounds, "grounds", nil, "comma-separated: fact_error, omission, over_period, wrong_listing, not_removed, privacy")
	cmd.Flags().StringVar(&statement, "statement", "", "the subject's statement")
	cmd.Flags().StringVar(&subjectKey, "subject-key", "", "the objecting subject: USCC or person id_hash (default: the listing's subject)")
	cmd.Flags().StringVar(&filedAt, "filed-at", "", "when the subject filed it, RFC 3339 (default: now)")
	return cmd
}

func newRepairCmd() *cobra.Command {
	var c clerk
	var typ, docNo, decisionDate, applicationDate string
	var effects, evidence []string
	var minPeriodMet bool
	cmd := &cobra.Command{
		Use:   "repair LISTING --type early_repair|expiry|... --doc-no NO --effects remove --creds DIR",
		Short: "Record a credit repair of a listing: build, validate, sign and submit the repair record",
		Long: `repair records the listing authority's decision to end or soften a listing (信用修复 / 移出).
LISTING is N, CODE/N or creditx.CODE/ledger#N. The deciding authority is the listing's authority
(the owner rule); the listing's submitter or the credit office submits it. Types: expiry,
early_repair (needs --application-date and --min-period-met), decision_revoked,
objection_upheld, error_correction. Effects: remove, stop_publicity, annotate, shield,
erase_payload. --evidence NAME=SHA256 (repeatable) records the application's evidence digests.
Nothing is signed unless the record is valid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, now, err := c.load()
			if err != nil {
				return err
			}
			var ps []clerkProblem
			ref, rec, p, err := c.lookupKind(cmd.Context(), creds, "listing", "LISTING", args[0], "listing")
			if err != nil {
				return err
			}
			rp := &schemas.Repair{Header: header(creds, now), Listing: ref, Type: typ, Effects: effects, MinPeriodMet: minPeriodMet,
				Decision: schemas.RepairDecision{DocNo: docNo}}
			rp.Decision.Date = dateFlag(decisionDate, "decision.date", "--decision-date", true, now, &ps)
			if p != nil {
				p.Covers = []string{"decision.authority"}
				ps = append(ps, *p)
			} else {
				rp.Decision.Authority = rec.(*schemas.Listing).Authority
			}
			if applicationDate != "" || len(evidence) > 0 {
				rp.Application = &schemas.RepairApplication{Date: dateFlag(applicationDate, "application.date", "--application-date", false, now, &ps)}
				for i, ev := range evidence {
					name, sum, ok := strings.Cut(ev, "=")
					if !ok {
						ps = append(ps, clerkProblem{fmt.Sprintf("application.evidence[%d]", i), fmt.Sprintf("%q is not NAME=SHA256", ev), "--evidence", nil})
						continue
					}
					rp.Application.Evidence = append(rp.Application.Evidence, schemas.Evidence{Name: name, SHA256: strings.ToLower(sum)})
				}
			}
			return c.finish(cmd, creds, rp, ps, map[string]string{"type": "--type", "effects": "--effects", "decision.doc_no": "--doc-no", "decision.date": "--decision-date",
				"application": "--application-date", "application.date": "--application-date", "application.evidence": "--evidence", "min_period_met": "--min-period-met", "listing": "LISTING"})
		},
	}
	c.flags(cmd, "objection")
	cmd.Flags().StringVar(&typ, "type", "", "expiry, early_repair, decision_revoked, objection_upheld or error_correction")
	cmd.Flags().StringVar(&docNo, "doc-no", "", "the repair decision's document number (文号)")
	cmd.Flags().StringVar(&decisionDate, "decision-date", "", "the decision's date, YYYY-MM-DD (default: today)")
	cmd.Flags().StringSliceVar(&effects, "effects", nil, "comma-separated: remove, stop_publicity, annotate, shield, erase_payload")
	cmd.Flags().StringVar(&applicationDate, "application-date", "", "the subject's application date, YYYY-MM-DD (required for early_repair)")
	cmd.Flags().StringArrayVar(&evidence, "evidence", nil, "evidence digest of the application, NAME=SHA256 (repeatable)")
	cmd.Flags().BoolVar(&minPeriodMet, "min-period-met", false, "the programme's minimum period before early repair is met")
	return cmd
}

func newDecideCmd() *cobra.Command {
	var c clerk
	var decision, decidedAt string
	var actions []string
	cmd := &cobra.Command{
		Use:   "decide OBJECTION --decision upheld|partial|rejected [--actions remove,...] --creds DIR",
		Short: "Decide an objection: build, validate, sign and submit the objection decision",
		Long: `decide records the decision on an objection. OBJECTION is N, CODE/N or
creditx.CODE/ledger#N. The deciding authority is the authority of the listing the objection
targets (looked up), so --creds is that authority or the credit office of the ledger written in.
Decisions: upheld, partial (both need --actions), rejected (no actions). Actions: correct,
supplement, stop_disclosure, remove. Nothing is signed unless the record is valid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, now, err := c.load()
			if err != nil {
				return err
			}
			var ps []clerkProblem
			ref, rec, p, err := c.lookupKind(cmd.Context(), creds, "objection", "OBJECTION", args[0], "objection")
			if err != nil {
				return err
			}
			od := &schemas.ObjectionDecision{Header: header(creds, now), Objection: ref, Decision: decision, Actions: actions}
			od.DecidedAt = timeFlag(decidedAt, "decided_at", "--decided-at", now, &ps)
			if p != nil {
				p.Covers = []string{"authority"}
				ps = append(ps, *p)
			} else {
				ob := rec.(*schemas.Objection)
				od.Authority = ob.ProvidingUnit
				if _, lrec, lp, err := c.lookupKind(cmd.Context(), creds, "objection.target", "OBJECTION", refArg(ob.Target), "listing"); err == nil && lp == nil {
					od.Authority = lrec.(*schemas.Listing).Authority
				}
			}
			if slices.Contains(actions, "") {
				ps = append(ps, clerkProblem{"actions", "an empty action", "--actions", nil})
			}
			return c.finish(cmd, creds, od, ps, map[string]string{"decision": "--decision", "actions": "--actions", "decided_at": "--decided-at", "objection": "OBJECTION"})
		},
	}
	c.flags(cmd, "objection")
	cmd.Flags().StringVar(&decision, "decision", "", "upheld, partial or rejected")
	cmd.Flags().StringSliceVar(&actions, "actions", nil, "comma-separated: correct, supplement, stop_disclosure, remove (none when rejected)")
	cmd.Flags().StringVar(&decidedAt, "decided-at", "", "when it was decided, RFC 3339 (default: now)")
	return cmd
}

// refArg names ref as a command-line entry argument (CODE/N).
func refArg(ref schemas.Ref) string {
	code := strings.TrimSuffix(strings.TrimPrefix(ref.Origin, "creditx."), "/ledger")
	return code + "/" + strconv.FormatUint(ref.Index, 10)
}
