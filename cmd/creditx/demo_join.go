package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// demoJoin brings a city up while the founders run and joins it live
// through the code paths of "creditx member init / wrap-key / propose /
// approve / list" (issue 16): its key ceremony, the consortium matching key
// wrapped by Zhejiang, Shanghai's proposal, Jiangsu's and Zhejiang's
// approvals (three of four), the manifest in force written for the city,
// and the city started. No founder restarts. The city then publishes one
// listing (returned as probe, checked in Shanghai by the caller). It
// returns the city as a demo member and the manifest in force.
func demoJoin(ctx, rctx context.Context, wg *sync.WaitGroup, out io.Writer, logger *slog.Logger, o demoOptions,
	founders []*demoMember) (*demoMember, *exchange.Manifest, *schemas.Listing, error) {
	code := o.join
	name := provision.MemberName(code)
	if name == code || name == "" {
		name = "member " + code
	}
	fmt.Fprintf(out, "Joining %s (%s) while the founders run ...\n", code, name)
	addrs, err := freeLoopback(2)
	if err != nil {
		return nil, nil, nil, err
	}
	dir := filepath.Join(o.dir, code)
	// creditx member init
	cfg, change, err := provision.PrepareMember(dir, provision.MemberInitSpec{Code: code, Name: name, API: addrs[0], Raft: addrs[1]})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("member init: %w", err)
	}
	fmt.Fprintf(out, "  member init: region CA, ledger and witness keys, member certificate in %s\n", dir)
	// creditx member wrap-key (Zhejiang) and member init --wrapped
	byCode := map[string]*demoMember{}
	for _, m := range founders {
		byCode[m.spec.Region] = m
	}
	req, err := os.ReadFile(filepath.Join(dir, provision.MatchRequestFile))
	if err != nil {
		return nil, nil, nil, err
	}
	mk, err := os.ReadFile(filepath.Join(byCode["330000"].cfg.DataDir, "keys", "match.key"))
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := schemas.ParseMatchKey(string(mk))
	if err != nil {
		return nil, nil, nil, err
	}
	wrapped, err := exchange.WrapMatchKey(string(req), key)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := provision.CompleteMemberMatchKey(dir, code, wrapped); err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(out, "  member wrap-key: the consortium matching key, wrapped by 330000 for %s (HPKE), opened by the city\n", code)
	admin := func(m *demoMember) (*client.Credentials, error) {
		return client.LoadCredentials(filepath.Join(m.cfg.DataDir, "agencies", "admin"))
	}
	// creditx member propose (Shanghai)
	sh := byCode["310000"]
	shAdmin, err := admin(sh)
	if err != nil {
		return nil, nil, nil, err
	}
	_, cur, err := fetchMembership(ctx, shAdmin, sh.n.URL())
	if err != nil {
		return nil, nil, nil, err
	}
	e, res, err := provision.ProposeRecord("310000", shAdmin, cur, change, time.Now())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("member propose: %w", err)
	}
	if _, err := shAdmin.Submit(ctx, sh.n.URL(), e); err != nil {
		return nil, nil, nil, fmt.Errorf("member propose: %w", err)
	}
	hash := exchange.ManifestHash(res)
	fmt.Fprintf(out, "  member propose (310000): join %s, manifest version %d -> %d, sha256 %s\n", code, cur.Version, res.Version, hash[:16])
	// creditx member approve (Jiangsu, Zhejiang), once each sees the proposal
	deadline := time.Now().Add(o.timeout)
	for _, c := range []string{"320000", "330000"} {
		m := byCode[c]
		creds, err := admin(m)
		if err != nil {
			return nil, nil, nil, err
		}
		for {
			v, _, err := fetchMembership(ctx, creds, m.n.URL())
			if err != nil {
				return nil, nil, nil, err
			}
			if _, _, err = approveProposal(ctx, creds, m.n.URL(), v, hash); err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, nil, nil, fmt.Errorf("member approve (%s): %w", c, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Fprintf(out, "  member approve (%s)\n", c)
	}
	// creditx member list --write-manifest, once every founder sees it in force
	for _, m := range founders {
		creds, err := admin(m)
		if err != nil {
			return nil, nil, nil, err
		}
		for {
			v, _, err := fetchMembership(ctx, creds, m.n.URL())
			if err != nil {
				return nil, nil, nil, err
			}
			if v.InForce == hash && v.Running == hash {
				if m == sh {
					if err := os.WriteFile(cfg.Exchange.Manifest, []byte(v.Manifest), 0o644); err != nil {
						return nil, nil, nil, err
					}
				}
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, nil, nil, fmt.Errorf("%s does not run the manifest with %s after %v", m.spec.Region, code, o.timeout)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fmt.Fprintf(out, "  approved by 310000 320000 330000 of 4: version %d in force on every founder, none restarted\n", res.Version)
	// The city starts.
	c := *cfg
	c.Logger = logger.With("member", code)
	n, err := node.New(c)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("member %s: %w", code, err)
	}
	city := &demoMember{spec: provision.MemberSpec{Region: code, Name: name, API: addrs[0], Raft: addrs[1]}, cfg: c, n: n, done: make(chan error, 1), creds: map[string]*client.Credentials{}}
	wg.Add(1)
	go func() { defer wg.Done(); city.done <- n.Run(rctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	err = n.WaitReady(wctx)
	wcancel()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("member %s not ready: %w", code, err)
	}
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		return nil, nil, nil, fmt.Errorf("member %s: registering sample agencies: %w", code, err)
	}
	p, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		return nil, nil, nil, err
	}
	if p.MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
		return nil, nil, nil, err
	}
	city.creds["publisher"] = p
	var l *schemas.Listing
	for seed := uint64(1); l == nil || l.Subject.USCC == ""; seed++ { // an organisation: checked by USCC in Shanghai
		if l, err = synth.Listing(seed, synth.Options{Region: code, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
			MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-2 * time.Second)}); err != nil {
			return nil, nil, nil, err
		}
	}
	le, err := p.Sign(l)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := p.Submit(ctx, n.URL(), le); err != nil {
		return nil, nil, nil, fmt.Errorf("member %s: publishing: %w", code, err)
	}
	fmt.Fprintf(out, "  %s started at %s and published a listing (%s)\n", code, n.URL(), strings.TrimSpace(l.Subject.Name))
	return city, res, l, nil
}
