package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
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

// demoExportLoop writes member mb's own loop log, when it runs one, to
// mdir/<code>-loop (the directory name the audit documents, audit.FromDir),
// read through its tlog-tiles API (GET /loop/<code>/...) with its
// auditor's certificate, and verifies the tree written. It writes one row to
// out. A loop checkpoint short of the witness quorum is said so in the row
// and by witnessed, but does not make ok false: the audit names it
// (audit.LoopNotWitnessed).
func demoExportLoop(ctx context.Context, out io.Writer, mb *demoMember, m *exchange.Manifest, manifestPath, mdir string) (ok, witnessed bool, err error) {
	if !mb.cfg.Sanctions.LoopLog {
		return true, true, nil
	}
	code := mb.spec.Region
	mm, found := m.Member(code)
	if !found || mm.LoopVerifier() == nil {
		return false, false, fmt.Errorf("member %s runs a loop log but the manifest has no loop_vkey for it", code)
	}
	client, err := auditClient(manifestPath, "", filepath.Join(mb.cfg.DataDir, "agencies", "auditor"))
	if err != nil {
		return false, false, err
	}
	src := ledger.HTTPSource{Client: client, Base: strings.TrimSuffix(mb.n.URL(), "/") + "/loop/" + code, Ctx: ctx}
	signed, err := src.Checkpoint()
	if err != nil {
		return false, false, fmt.Errorf("member %s: loop log checkpoint: %w", code, err)
	}
	origin, v := schemas.LoopOrigin(code), mm.LoopVerifier()
	tdir := filepath.Join(mdir, code+"-loop")
	if err := os.RemoveAll(tdir); err != nil { // an earlier attempt's tiles
		return false, false, err
	}
	if err := ledger.ExportFrom(ctx, src, signed, origin, v, strings.TrimSpace(mm.LoopVKey), tdir); err != nil {
		return false, false, fmt.Errorf("member %s: exporting its loop log: %w", code, err)
	}
	cp, verr := ledger.Verify(ctx, ledger.DirSource(tdir), signed, origin, v, nil, nil)
	var ws []note.Verifier
	for _, o := range m.Others(code) {
		ws = append(ws, o.WitnessVerifier())
	}
	names, cerr := exchange.CountCosignatures(signed, v, ws)
	ok, witnessed, status := true, true, "verified"
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
	fmt.Fprintf(out, "  %s/%s-loop  size %d  %s  %s\n", code, code, size, status, wit)
	return ok, witnessed, nil
}
