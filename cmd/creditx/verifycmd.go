package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
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
func openStore(dir string) (*ledger.Store, error) {
	path := filepath.Join(dir, "ledger.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: no ledger here (%w)", dir, err)
	}
	s, err := ledger.Open(path, ledger.Options{LockTimeout: 3 * time.Second, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("opening %s (is a node running on it? stop it, or read it through the tlog-tiles API): %w", path, err)
	}
	return s, nil
}

// openTrusted opens DIR's store with the keys it trusts and lists its logs.
// The keys are DIR's own (trust.ForDataDir) and, for an exchange member,
// every member's log key and anchors from the consortium manifest
// (manifest, or the node's exchange.manifest): the mirrors it holds.
func openTrusted(dir, manifest string) (*trust.File, *ledger.Store, []string, error) {
	tf, _, err := dataDirTrust(dir, manifest)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := openStore(dir)
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
	var dir, manifest string
	cmd := &cobra.Command{
		Use:   "verify --data DIR",
		Short: "Verify every ledger in DIR: Merkle tree, checkpoints, record signatures and key validity",
		Long: `Verify every log stored in DIR against the trusted keys (DIR/trust.yaml, or a node's node.yaml
and keys/; for an exchange member's mirrors, the consortium manifest: --manifest or the node's
exchange.manifest): every entry's hash against the stored hash tiles and every stored checkpoint (signature,
root, consistency between consecutive checkpoints), then each record's envelope, schema validity, and
agency signature by a key registered and not revoked at that entry's index. Exits non-zero naming the
first failing entry.

The file itself is checked too, read-only (verify never writes to DIR): both bbolt meta pages (a
damaged newest one makes bbolt silently open the previous commit: reported as DAMAGED with the
rollback), every page (bbolt's consistency check; a damaged page is named, never a crash), and, in a
replica's data directory, ledger.db against the latest checkpoint the replica signed
(DIR/ledger.checkpoint) and raft's latest snapshot: a rolled-back ledger.db is reported ROLLED BACK
even though what is left verifies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
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
			if err := s.CheckPages(cmd.Context()); err != nil {
				fmt.Fprintf(out, "ledger.db: DAMAGED: %s\n", describeDamage(err))
				failed = true
			}
			verifiers := map[string]note.Verifier{}
			for _, o := range origins {
				t, ok := tf.Lookup(o)
				if !ok {
					fmt.Fprintf(out, "%s: NOT VERIFIED: no trusted key for this origin\n", o)
					failed = true
					continue
				}
				v, err := t.Verifier()
				if err != nil {
					return err
				}
				check, finish, err := entryChecker(t)
				if err != nil {
					return err
				}
				size, _ := s.Log(o).Size()
				b := bar(cmd.ErrOrStderr(), int64(size), "verify "+exportName(o))
				start := time.Now()
				cp, err := ledger.VerifyStore(cmd.Context(), s, o, v, check, func(done, total uint64) { b.Set64(int64(done)) })
				err = finish(o, err)
				b.Finish()
				verifiers[o] = v
				if err != nil {
					failed = true
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
					continue
				}
				cpSize := uint64(0)
				if cp != nil {
					cpSize = cp.Size
				}
				fmt.Fprintf(out, "%s: OK, %d entries verified in %.1fs (tree, checkpoints up to size %d, record signatures and keys)\n",
					o, size, time.Since(start).Seconds(), cpSize)
			}
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
	cmd.Flags().StringVar(&manifest, "manifest", "", "consortium manifest: the keys of the mirrors an exchange member holds (default: the node's exchange.manifest)")
	cmd.MarkFlagRequired("data")
	return cmd
}

// entryChecker returns the record check for origin t and a finish function
// to call after verification: credit ledgers use the parallel pipeline, whose
// failures may surface only when it closes; finish returns the failure with
// the lowest index as a *ledger.VerifyError.
func entryChecker(t trust.Origin) (func(uint64, []byte) error, func(string, error) error, error) {
	if t.IsAccessLog() || len(t.Anchors) == 0 {
		c, err := t.Checker(nil)
		return c, func(_ string, err error) error { return err }, err
	}
	p, err := t.Pipeline(nil, 0)
	if err != nil {
		return nil, nil, err
	}
	return p.Check, func(origin string, err error) error {
		var ee *trust.EntryError
		if !errors.As(p.Close(), &ee) {
			return err
		}
		var ve *ledger.VerifyError
		if err == nil || !errors.As(err, &ve) || ve.Index < 0 || uint64(ve.Index) > ee.Index {
			return &ledger.VerifyError{Origin: origin, Index: int64(ee.Index), Reason: ee.Err.Error(), Err: ee}
		}
		return err
	}, nil
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
