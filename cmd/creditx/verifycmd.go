package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

// openStore opens DIR/ledger.db read-only (nothing here writes to it: a
// writable open commits, which would overwrite a damaged bbolt meta page
// verify must report), explaining the usual failure.
func openStore(dir string) (*ledger.Store, error) { return openStoreWith(dir, false) }

// openStoreWith is openStore, with the whole file mapped in at open
// (ledger.Options.Populate) for a reader of every page.
func openStoreWith(dir string, populate bool) (*ledger.Store, error) {
	path := filepath.Join(dir, "ledger.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: no ledger here (%w)", dir, err)
	}
	s, err := ledger.Open(path, ledger.Options{LockTimeout: 3 * time.Second, ReadOnly: true, Populate: populate})
	if err != nil {
		return nil, fmt.Errorf("opening %s (is a node running on it? stop it, or read it through the tlog-tiles API): %w", path, err)
	}
	return s, nil
}

// openTrusted opens DIR's store with the keys it trusts and lists its logs.
// The keys are DIR's own (trust.ForDataDir) and, for an exchange member,
// every member's log key and anchors and loop_vkey from the consortium
// manifest (manifest, or the node's exchange.manifest): the mirrors it
// holds.
func openTrusted(dir, manifest string) (*trust.File, *ledger.Store, []string, error) {
	tf, mpath, err := dataDirTrust(dir, manifest)
	if err != nil {
		return nil, nil, nil, err
	}
	// Loop logs: DIR's own keys/loop.vkey (trust.ForDataDir) and every
	// member's loop_vkey from the manifest.
	if err := withLoopLogs(tf, "", mpath); err != nil {
		return nil, nil, nil, err
	}
	s, err := openStoreWith(dir, true) // verify reads every page: the whole file at once
	if err != nil {
		return nil, nil, nil, err
	}
	origins, err := s.Origins()
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return tf, s, origins, nil
}

// exportName is the subfolder an origin is exported to: its member code,
// with "-access" for an access log.
func exportName(origin string) string {
	code, kind, err := schemas.ParseOrigin(origin)
	if err != nil {
		return url.PathEscape(origin)
	}
	if kind == schemas.OriginLedger {
		return code
	}
	return code + "-" + kind
}

func newVerifyCmd() *cobra.Command {
	var dir, manifest, cpuprofile string
	cmd := &cobra.Command{
		Use:   "verify --data DIR",
		Short: "Verify every ledger in DIR: Merkle tree, checkpoints, record signatures and key validity",
		Long: `Verify every log stored in DIR against the trusted keys (DIR/trust.yaml, or a node's node.yaml
and keys/; for an exchange member's mirrors, the consortium manifest: --manifest or the node's
exchange.manifest): every entry's hash against the stored hash tiles and every stored checkpoint (signature,
root, consistency between consecutive checkpoints), then each record's envelope, schema validity, and
agency signature by a key registered and not revoked at that entry's index. Exits non-zero naming the
first failing entry.

A loop log (creditx.<code>/loop, sanctions.loop_log: the member's sanction notices and feedback; key:
keys/loop.vkey of a node running it, or the manifest's loop_vkey) is verified after its member's
ledger, with that ledger's keyring as this run built it: tree and checkpoints, then every entry a
sanction notice or feedback, schema-valid, signed by a key of the keyring, by its submitter's agency.
A loop entry does not record the ledger size at its append, so whether its key was in force then is
judged by time (a key revoked by a ledger record created at or before the entry's created_at fails it),
and the output's "not checked" line says what that misses. A loop log whose member's ledger is not in
DIR or did not verify is NOT VERIFIED, naming why.

The file itself is checked too, read-only (verify never writes to DIR): both bbolt meta pages (a
damaged newest one makes bbolt silently open the previous commit: reported as DAMAGED with the
rollback), every page (bbolt's consistency check; a damaged page is named, never a crash), and, in a
replica's data directory, ledger.db against the latest checkpoint the replica signed
(DIR/ledger.checkpoint) and raft's latest snapshot: a rolled-back ledger.db is reported ROLLED BACK
even though what is left verifies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			defer verifyGC()()
			stopProfile, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stopProfile()
			// The file before bbolt opens it: bbolt silently opens a file
			// whose newest meta page is damaged one commit back.
			failed := reportFile(out, dir)
			tf, s, origins, err := openTrusted(dir, manifest)
			if err != nil {
				if failed {
					return &exitError{code: 1, msg: "verification failed"}
				}
				return err
			}
			defer s.Close()
			// bbolt's check of every page runs beside the entry pass (both
			// only read; on another core, and the file is read from disk
			// once for both); its verdict is awaited below, before the
			// result: a damaged page still fails the verify.
			pages := make(chan error, 1)
			go func() { pages <- s.CheckPages(cmd.Context()) }()
			pagesDone := false
			awaitPages := func() {
				if pagesDone {
					return
				}
				pagesDone = true
				if err := <-pages; err != nil {
					fmt.Fprintf(out, "ledger.db: DAMAGED: %s\n", describeDamage(err))
					failed = true
				}
			}
			defer awaitPages() // an early return still waits for it (and s.Close after)
			verifiers := map[string]note.Verifier{}
			// A loop log is checked with its member's ledger keyring, so
			// every ledger goes first (their order is kept).
			slices.SortStableFunc(origins, func(a, b string) int { return cmpBool(trust.IsLoopOrigin(a), trust.IsLoopOrigin(b)) })
			keyrings := map[string]*trust.LoopKeys{} // ledger origin -> keyring, for ledgers that verified with records checked
			noKeyring := map[string]string{}         // ledger origin -> why its keyring is not known
			for _, o := range origins {
				t, ok := tf.Lookup(o)
				if !ok && trust.IsLoopOrigin(o) {
					// A loop log this node kept after sanctions.loop_log was turned off.
					if own, has, err := trust.DataDirLoop(dir); err != nil {
						return err
					} else if has && own.Origin == o {
						t, ok = own, true
					}
				}
				if !ok {
					fmt.Fprintf(out, "%s: NOT VERIFIED: no trusted key for this origin\n", o)
					failed = true
					noKeyring[o] = "it has no trusted key"
					continue
				}
				v, err := t.Verifier()
				if err != nil {
					return err
				}
				var ec verifyChecker
				if t.IsLoopLog() {
					ec = loopChecker(o, keyrings, noKeyring)
				} else if ec, err = entryChecker(t); err != nil {
					return err
				}
				size, _ := s.Log(o).Size()
				b := bar(cmd.ErrOrStderr(), int64(size), "verify "+exportName(o))
				start := time.Now()
				cp, err := ledger.VerifyStore(cmd.Context(), s, o, v, ec.check, func(done, total uint64) { b.Set64(int64(done)) })
				err = ec.finish(o, err)
				b.Finish()
				verifiers[o] = v
				if err != nil {
					failed = true
					noKeyring[o] = "it failed verification"
					printVerifyFailure(out, o, err)
					continue
				}
				cpSize := uint64(0)
				if cp != nil {
					cpSize = cp.Size
				}
				switch {
				case ec.notVerified != "":
					fmt.Fprintf(out, "%s: NOT VERIFIED: %d entries: tree, checkpoints up to size %d, %s OK; record signatures and keys NOT checked: %s\n",
						o, size, cpSize, ec.what, ec.notVerified)
					failed = true
					continue
				case ec.keys != nil:
					keyrings[o] = ec.keys()
				case !t.IsLoopLog() && !t.IsAccessLog():
					noKeyring[o] = "it has no trusted anchors"
				}
				fmt.Fprintf(out, "%s: OK, %d entries verified in %.1fs (tree, checkpoints up to size %d, %s)\n",
					o, size, time.Since(start).Seconds(), cpSize, ec.what)
				if ec.notChecked != "" {
					fmt.Fprintf(out, "%s: not checked: %s\n", o, ec.notChecked)
				}
			}
			awaitPages()
			// Against what this replica signed and raft compacted: a
			// rolled-back ledger.db verifies fine on its own.
			if err := node.CheckRollback(dir, s, verifiers); err != nil {
				what := "FAILED" // a fork, an untrusted or unreadable checkpoint file
				if errors.Is(err, node.ErrRolledBack) {
					what = "ROLLED BACK"
				}
				fmt.Fprintf(out, "ledger.db: %s: %s\n", what, describeDamage(err))
				failed = true
			}
			if failed {
				return &exitError{code: 1, msg: "verification failed"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "data directory")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the verification to FILE (P4)")
	cmd.Flags().StringVar(&manifest, "manifest", "", "consortium manifest: the keys of the mirrors an exchange member holds (default: the node's exchange.manifest)")
	cmd.MarkFlagRequired("data")
	return cmd
}

// verifyGCPercent is the garbage collector's target while verify runs
// (unless GOGC is set). Verification allocates fast and keeps little alive
// (a few MB: the entries in flight, the tree's right edge), so at Go's
// default of 100 it collects every few MB, about 200 times per 300,000
// entries, for about an eighth of its CPU; at 800 the heap may reach about
// 9 times what is live, a few tens of MB.
const verifyGCPercent = 800

// verifyGC sets the garbage collector's target for verify and returns
// what restores it.
func verifyGC() (restore func()) { return gcTarget(verifyGCPercent) }

// verifyChecker is the record check of one origin and what its report
// says.
type verifyChecker struct {
	check func(uint64, []byte) error
	// finish is called after verification: credit ledgers use the parallel
	// pipeline, whose failures may surface only when it closes; finish
	// returns the failure with the lowest index as a *ledger.VerifyError.
	finish func(origin string, err error) error
	what   string // the record checks, for the OK line
	// keys, after a successful finish, is the ledger's keyring for its
	// member's loop log; nil when records were not checked against anchors.
	keys func() *trust.LoopKeys
	// notChecked, if set, is printed as the origin's "not checked" line.
	notChecked string
	// notVerified, if set, makes a log whose tree verified NOT VERIFIED:
	// why its records could not be fully checked.
	notVerified string
}

func keepErr(_ string, err error) error { return err }

// entryChecker returns the record check of a ledger or access log t.
func entryChecker(t trust.Origin) (verifyChecker, error) {
	if t.IsAccessLog() || len(t.Anchors) == 0 {
		c, err := t.Checker(nil)
		what := "record signatures and keys"
		if t.IsAccessLog() {
			what = "access entries' fields"
		}
		return verifyChecker{check: c, finish: keepErr, what: what}, err
	}
	p, err := t.Pipeline(nil, 0)
	if err != nil {
		return verifyChecker{}, err
	}
	return verifyChecker{check: p.Check, what: "record signatures and keys", keys: p.LoopKeys, finish: func(origin string, err error) error {
		var ee *trust.EntryError
		if !errors.As(p.Close(), &ee) {
			return err
		}
		var ve *ledger.VerifyError
		if err == nil || !errors.As(err, &ve) || ve.Index < 0 || uint64(ve.Index) > ee.Index {
			return &ledger.VerifyError{Origin: origin, Index: int64(ee.Index), Reason: fmt.Sprintf("entry %d rejected by check", ee.Index), Err: ee.Err} // worded as the ordered check's refusal
		}
		return err
	}}, nil
}

// loopChecker returns the record check of loop log o (internal/trust's
// loop.go): with the keyring of its member's ledger when that ledger
// verified in this run (keyrings), else kinds and schemas only, and the log
// is NOT VERIFIED with the reason (noKeyring, or the ledger is not in DIR).
func loopChecker(o string, keyrings map[string]*trust.LoopKeys, noKeyring map[string]string) verifyChecker {
	code, _, _ := schemas.ParseOrigin(o)
	lo := schemas.LedgerOrigin(code)
	if k := keyrings[lo]; k != nil {
		c := k.Check(nil)
		return verifyChecker{
			check:      func(i uint64, e []byte) error { _, err := c(i, e); return err },
			finish:     keepErr,
			what:       "sanction notices and feedback only, schemas, record signatures by keys of " + lo + "'s keyring",
			notChecked: trust.LoopNotChecked,
		}
	}
	why, ok := noKeyring[lo]
	if !ok {
		why = "it is not in this data directory"
	}
	return verifyChecker{
		check:       trust.LoopSchemaCheck(nil),
		finish:      keepErr,
		what:        "sanction notices and feedback only, schemas",
		notVerified: fmt.Sprintf("the keyring of its member's ledger %s is not known (%s)", lo, why),
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// printVerifyFailure prints origin's verification failure: the entry and
// why, or the damaged page.
func printVerifyFailure(out io.Writer, o string, err error) {
	var ve *ledger.VerifyError
	var pe *ledger.PageError
	if errors.As(err, &pe) {
		fmt.Fprintf(out, "%s: FAILED: %s\n", o, describeDamage(pe))
	} else if errors.As(err, &ve) && ve.Index >= 0 {
		reason := ve.Reason
		if ve.Err != nil { // always say why (a record the check refused: its reason)
			reason += ": " + ve.Err.Error()
		}
		fmt.Fprintf(out, "%s: FAILED at entry %d: %s\n", o, ve.Index, reason)
	} else {
		fmt.Fprintf(out, "%s: FAILED: %v\n", o, err)
	}
}

// reportFile checks DIR/ledger.db's bbolt meta pages before it is opened and
// prints what is damaged; it returns whether anything was.
func reportFile(out io.Writer, dir string) bool {
	path := filepath.Join(dir, "ledger.db")
	if _, err := os.Stat(path); err != nil {
		return false // openStore explains
	}
	ms, err := ledger.ReadMetaPages(path)
	if err == nil {
		err = ms.Error(path)
	}
	if err != nil {
		fmt.Fprintf(out, "ledger.db: DAMAGED: %s\n", describeDamage(err))
		return true
	}
	return false
}

// describeDamage prints a damage or rollback error without repeating the
// file path and package prefixes.
func describeDamage(err error) string {
	var pe *ledger.PageError
	var se *node.StartError
	switch {
	case errors.As(err, &se):
		return strings.TrimPrefix(se.Err.Error(), "ledger.db rolled back: ")
	case errors.As(err, &pe) && pe.Page >= 0:
		return fmt.Sprintf("page %d: %s", pe.Page, pe.Reason)
	case errors.As(err, &pe):
		return pe.Reason
	}
	return err.Error()
}
