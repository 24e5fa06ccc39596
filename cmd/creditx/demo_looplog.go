package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// Loop logs in the demo (issue 20, internal/notices/loop.go).
//
// provision gives every region a loop key and puts its loop_vkey in the
// consortium manifest. A loop_vkey tells the auditor that the member may
// keep notices and feedback in a loop log, so an audit that finds none
// names it and does not pass (audit.LoopNotFetched). The demo therefore
// publishes loop_vkey only when its members run loop logs (--loop-log):
// without it, the manifest is rewritten without them before any member
// starts, and it says what is true: no member has a loop log.

// demoLoopManifest drops every loop_vkey from the manifest in dir unless
// loopLog, and returns the manifest the members will run with.
func demoLoopManifest(dir string, m *exchange.Manifest, loopLog bool) (*exchange.Manifest, error) {
	if loopLog {
		return m, nil
	}
	drop := false
	for i := range m.Members {
		drop = drop || m.Members[i].LoopVKey != ""
		m.Members[i].LoopVKey = ""
	}
	if !drop {
		return m, nil
	}
	b, err := m.Encode()
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "manifest.yaml")
	if err := writeFileAtomic(p, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return nil, err
	}
	parsed, err := exchange.ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s without loop keys: %w", p, err)
	}
	return parsed, nil
}

// demoExportLoop writes the loop logs member mb serves, read through its
// tlog-tiles API (GET /loop/<code>/...) with its auditor's certificate: its
// own when it runs one, and those of other members it holds as a custodian
// (when the exchange keeps loop logs), each to mdir/<code>-loop (the
// directory name the audit documents, audit.FromDir), and verifies each
// tree written. It writes one row per tree to out. A loop checkpoint short
// of the witness quorum is said so in the row and by witnessed, but does
// not make ok false: the audit names it (audit.LoopNotWitnessed).
func demoExportLoop(ctx context.Context, out io.Writer, mb *demoMember, m *exchange.Manifest, manifestPath, mdir string) (ok, witnessed bool, err error) {
	if !mb.cfg.Sanctions.LoopLog && !slices.ContainsFunc(m.Members, func(o exchange.Member) bool { return o.LoopVerifier() != nil }) {
		return true, true, nil // no loop log anywhere
	}
	client, err := auditClient(manifestPath, "", filepath.Join(mb.cfg.DataDir, "agencies", "auditor"))
	if err != nil {
		return false, false, err
	}
	ok, witnessed = true, true
	for i := range m.Members {
		origin := &m.Members[i]
		code, v := origin.Code, origin.LoopVerifier()
		if v == nil {
			if code == mb.spec.Region && mb.cfg.Sanctions.LoopLog {
				return false, false, fmt.Errorf("member %s runs a loop log but the manifest has no loop_vkey for it", code)
			}
			continue
		}
		src := ledger.HTTPSource{Client: client, Base: strings.TrimSuffix(mb.n.URL(), "/") + "/loop/" + code, Ctx: ctx}
		signed, err := src.Checkpoint()
		if errors.Is(err, ledger.ErrNotFound) && (code != mb.spec.Region || !mb.cfg.Sanctions.LoopLog) {
			continue // not held here
		}
		if err != nil {
			return false, false, fmt.Errorf("member %s: loop log of %s: checkpoint: %w", mb.spec.Region, code, err)
		}
		tdir := filepath.Join(mdir, code+"-loop")
		if err := os.RemoveAll(tdir); err != nil { // an earlier attempt's tiles
			return false, false, err
		}
		if err := ledger.ExportFrom(ctx, src, signed, origin.LoopOrigin(), v, strings.TrimSpace(origin.LoopVKey), tdir); err != nil {
			return false, false, fmt.Errorf("member %s: exporting the loop log of %s: %w", mb.spec.Region, code, err)
		}
		cp, verr := ledger.Verify(ctx, ledger.DirSource(tdir), signed, origin.LoopOrigin(), v, nil, nil)
		var ws []note.Verifier
		for _, o := range m.Others(code) {
			ws = append(ws, o.WitnessVerifier())
		}
		names, cerr := exchange.CountCosignatures(signed, v, ws)
		status := "verified"
		if verr != nil {
			ok, status = false, "FAILED: "+verr.Error()
		}
		wit := fmt.Sprintf("witnessed by %s", strings.Join(names, ", "))
		if cerr != nil || len(names) < m.WitnessQuorum {
			wit = fmt.Sprintf("NOT witnessed (%d of %d cosignatures; the audit names it)", len(names), m.WitnessQuorum)
			witnessed = false
		}
		size := uint64(0)
		if cp != nil {
			size = cp.Size
		}
		fmt.Fprintf(out, "  %s/%s-loop  size %d  %s  %s\n", mb.spec.Region, code, size, status, wit)
	}
	return ok, witnessed, nil
}
