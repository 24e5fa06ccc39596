package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/sync/errgroup"
)

// demoRulesRecords gives the audit of the demo something to report in its
// rules section (issue 12): Zhejiang's credit office adopts the embedded
// measures catalogue on its ledger by a catalogue_adopt governance record,
// and Jiangsu lists the act of Zhejiang's first listing (probe) again, the
// same subject under the same decision document number: a same_act
// conflict every member detects when it indexes the listing, shown in
// /audit, GET /v1/conflicts and the audit report.
func demoRulesRecords(ctx context.Context, out io.Writer, members []*demoMember, probe *schemas.Listing) error {
	var zj, js *demoMember
	for _, m := range members {
		switch m.spec.Region {
		case "330000":
			zj = m
		case "320000":
			js = m
		}
	}
	if zj == nil || js == nil || probe == nil {
		return nil
	}
	admin, err := client.LoadCredentials(filepath.Join(zj.cfg.DataDir, "agencies", "admin"))
	if err != nil {
		return err
	}
	cat, err := catalogue.Default()
	if err != nil {
		return err
	}
	adopt, err := adopted.CatalogueAdoptRecord("330000", admin, cat, time.Now().UTC().Add(-time.Second))
	if err != nil {
		return err
	}
	p := js.creds["publisher"]
	l, err := synth.Listing(1000, synth.Options{Region: "320000", Domain: probe.Domain, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-2 * time.Second)})
	if err != nil {
		return err
	}
	l.Subject.Name, l.Subject.USCC = probe.Subject.Name, probe.Subject.USCC
	l.Decision.DocNo = probe.Decision.DocNo
	relist, err := p.Sign(l)
	if err != nil {
		return err
	}
	// The two records are independent (two members' ledgers): submitted at
	// the same time. Retried on 503 as the listings are (demo.go
	// submitRetrying): a busy region that could not commit in time says
	// "safe to retry".
	var g errgroup.Group
	g.Go(func() error {
		if _, err := submitRetrying(ctx, nil, admin, zj.n.URL(), adopt); err != nil {
			return fmt.Errorf("member 330000: adopting the measures catalogue: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if _, err := submitRetrying(ctx, nil, p, js.n.URL(), relist); err != nil {
			return fmt.Errorf("member 320000: listing the same act again: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(out, "Zhejiang adopted measures catalogue %s (sha256 %.12s...) on its ledger; Jiangsu listed the act %s of subject %s again (a conflict for the audit).\n",
		cat.Version(), cat.Digest(), probe.Decision.DocNo, probe.Subject.USCC)
	return nil
}
