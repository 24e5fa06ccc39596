package node_test

import (
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// BenchmarkRegisterPage measures the server time of public register pages
// over a ledger of CREDITX_REGISTER_N listings (default 10^6). The ledger is
// written straight into ledger.db before the node starts (signed listings
// and checkpoints, batches of 1000, like `creditx ledger gen`), not through
// HTTP; CREDITX_REGISTER_DIR keeps the prepared region between runs. The
// node runs without executing agencies (no notices for 10^6 listings) and
// without rate limits; requests go to its Handler in-process. The entries
// are not indexed (they bypass the FSM): pages read the ledger by index and
// find no events, so a listing's state costs one empty index lookup; an
// exact-USCC search (answered from the subject index) is not measured.
//
//	CREDITX_REGISTER_DIR=/tmp/reg go test ./node -run '^$' -bench RegisterPage -benchtime 50x
func BenchmarkRegisterPage(b *testing.B) {
	n := uint64(1_000_000)
	if s := os.Getenv("CREDITX_REGISTER_N"); s != "" {
		var err error
		if n, err = strconv.ParseUint(s, 10, 64); err != nil {
			b.Fatal(err)
		}
	}
	dir := os.Getenv("CREDITX_REGISTER_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	cfgPath := filepath.Join(dir, "node.yaml")
	if _, err := os.Stat(cfgPath); err != nil {
		cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := node.WriteConfig(cfgPath, cfgs[0]); err != nil {
			b.Fatal(err)
		}
		// Start the node once on the empty ledger, as a running region
		// would have been: its FSM then keeps its indexes current, and the
		// start-up backfill of record hashes (for ledgers written before
		// that index existed) does not run over the entries written below.
		c := *cfgs[0]
		c.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml")
		_, stop := nodetest.Start(b, c)
		stop()
	}
	cfg, err := node.LoadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	fillRegister(b, dir, n)
	cfg.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml")
	cfg.RateLimit.PublicPerSecond, cfg.RateLimit.PerSecond = -1, -1
	nd, _ := nodetest.Start(b, *cfg)
	h := nd.Handler()
	for _, c := range []struct{ name, path string }{
		{"first", "/"},
		{"domain", "/?domain=tourism"},
		{"member+programme", "/?member=330000&programme=" + programmeOf(b, dir)},
		{"at500k", "/?cursor=330000:" + strconv.FormatUint(n/2, 10)},
		{"record", "/records/330000/" + strconv.FormatUint(n/2, 10)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var rows int
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %.300s", c.path, rec.Code, rec.Body)
				}
				rows = strings.Count(rec.Body.String(), "<tr><td>")
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// fillRegister appends listings to the region's ledger.db until it holds n
// of them (the node is not running).
func fillRegister(b *testing.B, dir string, n uint64) {
	b.Helper()
	s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	origin := schemas.LedgerOrigin("330000")
	size, err := s.Log(origin).Size()
	if err != nil {
		b.Fatal(err)
	}
	if size >= n {
		return
	}
	signer, verifier := noteKeys(b, dir, "log")
	pub, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		b.Fatal(err)
	}
	auth := schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}
	now := time.Now().UTC().Add(-time.Hour)
	start := time.Now()
	for size < n {
		k := min(1000, n-size)
		batch := make([][]byte, k)
		for i := range batch {
			l, err := synth.Listing(size+uint64(i), synth.Options{Region: "330000", Authority: auth, Now: now})
			if err != nil {
				b.Fatal(err)
			}
			if batch[i], err = schemas.Sign(l, ed25519.PrivateKey(pub.SignKey)); err != nil {
				b.Fatal(err)
			}
		}
		err := s.Update(func(tx *ledger.Tx) error {
			if _, err := tx.Append(origin, batch); err != nil {
				return err
			}
			lr := tx.Log(origin)
			root, err := lr.TreeHash(lr.Size())
			if err != nil {
				return err
			}
			cp, err := ledger.SignCheckpoint(signer, origin, lr.Size(), root)
			if err != nil {
				return err
			}
			return tx.SetCheckpoint(origin, cp, verifier)
		})
		if err != nil {
			b.Fatal(err)
		}
		size += k
	}
	b.Logf("wrote %d listings in %v", n, time.Since(start).Round(time.Second))
}

// programmeOf is the programme code of a listing in the ledger.
func programmeOf(b *testing.B, dir string) string {
	l, err := synth.Listing(7, synth.Options{Region: "330000", Authority: schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	return l.Programme.Code
}
