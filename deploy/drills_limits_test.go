package deploy_test

// Security drills, continued (see drills_test.go for the list and the
// shared drill node): per-client rate limits, and no personal plaintext on
// any route for any role.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// hammer sends GET path as client until the first 429 or max requests from
// workers goroutines. It returns the requests sent, the time taken and the
// first 429 answer (nil if none).
func hammer(t *testing.T, c *http.Client, u string, max, workers int) (int, time.Duration, *http.Response) {
	t.Helper()
	var sent atomic.Int64
	var mu sync.Mutex
	var limited *http.Response
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= int64(max) {
				resp, err := c.Get(u)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader(b))
				mu.Lock()
				done := limited != nil
				if resp.StatusCode == http.StatusTooManyRequests && limited == nil {
					limited, done = resp, true
				} else if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests {
					t.Errorf("GET %s: %s", u, resp.Status)
				}
				mu.Unlock()
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	return int(min(sent.Load(), int64(max))), time.Since(start), limited
}

// checkLimited fails unless a client that sent n requests in el against a
// bucket of burst refilled at rate per second was answered 429 with a
// Retry-After, whenever n exceeds what the bucket could have served.
func checkLimited(t *testing.T, who string, n int, el time.Duration, limited *http.Response, rate float64, burst int) {
	t.Helper()
	if limited == nil {
		if allowed := float64(burst) + rate*el.Seconds() + 1; float64(n) > allowed {
			t.Fatalf("%s: %d requests in %v all served; the limit (%g/s, burst %d) allows %.0f", who, n, el, rate, burst, allowed)
		}
		t.Logf("%s: %d requests in %v stayed within %g/s, burst %d: inconclusive on this machine", who, n, el, rate, burst)
		return
	}
	ra, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	b, _ := io.ReadAll(limited.Body)
	if err != nil || ra < 1 || !bytes.Contains(b, []byte("rate limit")) || limited.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: 429 with Retry-After %q, body %s", who, limited.Header.Get("Retry-After"), b)
	}
	t.Logf("%s: 429 after %d requests in %v, Retry-After %ds", who, n, el.Round(time.Millisecond), ra)
}

// TestDrillRateLimits: with the limits lowered in the config, one client
// certificate hammering the API gets 429 with Retry-After, while another
// certificate is still served at once; replica and member certificates are
// never limited; the public is limited by address, but not on the
// tlog-tiles read API; a limited client is served again after Retry-After;
// and /metrics counts the refusals.
func TestDrillRateLimits(t *testing.T) {
	d := newDrill(t, func(c *node.Config) {
		c.RateLimit = node.RateLimitConfig{PerSecond: 5, Burst: 5, PublicPerSecond: 2, PublicBurst: 2}
	})
	status := d.url + "/v1/status"
	n, el, limited := hammer(t, d.creds["executor"].Client, status, 100, 1)
	if limited == nil {
		t.Fatalf("executor: %d requests in %v at 5/s, burst 5, never limited", n, el)
	}
	checkLimited(t, "executor", n, el, limited, 5, 5)
	if code, _ := get(t, d.creds["auditor"].Client, status); code != http.StatusOK {
		t.Fatalf("auditor while the executor is limited: %d", code)
	}
	if code, _ := get(t, d.creds["executor"].Client, status); code != http.StatusTooManyRequests {
		t.Fatalf("executor right after its 429: %d", code)
	}
	for _, who := range []string{"replica", "member"} {
		if n, el, limited := hammer(t, d.creds[who].Client, status, 100, 4); limited != nil {
			t.Errorf("%s certificate limited after %d requests in %v", who, n, el)
		}
	}
	n, el, limited = hammer(t, d.public, status, 50, 1)
	if limited == nil {
		t.Fatalf("public: %d requests in %v at 2/s, burst 2, never limited", n, el)
	}
	checkLimited(t, "public", n, el, limited, 2, 2)
	for _, p := range []string{"/ledger/330000/checkpoint", "/healthz"} {
		if n, el, limited := hammer(t, d.public, d.url+p, 30, 1); limited != nil {
			t.Errorf("public GET %s limited after %d requests in %v; the tiles API and probes are never limited", p, n, el)
		}
	}
	time.Sleep(1100 * time.Millisecond) // Retry-After at 5/s is 1 s
	if code, _ := get(t, d.creds["executor"].Client, status); code != http.StatusOK {
		t.Fatalf("executor after Retry-After: %d", code)
	}
	_, metrics := get(t, d.creds["auditor"].Client, d.url+"/metrics")
	if !bytes.Contains(metrics, []byte(`creditx_http_requests_total{route="rate_limited",status="429"}`)) {
		t.Errorf("/metrics does not count rate-limited requests")
	}
}

// TestDrillRateLimitsByDefault: a development node prepared with no
// rate_limit section limits the public to 20 requests/s (burst 40) and each
// certificate to 200/s (burst 400).
func TestDrillRateLimitsByDefault(t *testing.T) {
	dir := t.TempDir()
	cfg, err := provision.PrepareDev(dir, "330000", "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit != (node.RateLimitConfig{}) {
		t.Fatalf("dev config has a rate_limit section: %+v", cfg.RateLimit)
	}
	d := &drill{t: t, dir: dir, cfg: *cfg, creds: map[string]*client.Credentials{}}
	if d.creds["executor"], err = client.LoadCredentials(filepath.Join(dir, "agencies", "executor")); err != nil {
		t.Fatal(err)
	}
	roots := d.creds["executor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	d.public = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	d.start()
	n, el, limited := hammer(t, d.public, d.url+"/v1/status", 400, 4)
	checkLimited(t, "public", n, el, limited, node.DefaultPublicRatePerSecond, 2*node.DefaultPublicRatePerSecond)
	n, el, limited = hammer(t, d.creds["executor"].Client, d.url+"/v1/status", 3000, 8)
	checkLimited(t, "executor", n, el, limited, node.DefaultRatePerSecond, 2*node.DefaultRatePerSecond)
}

func get(t *testing.T, c *http.Client, u string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// person is a natural person named in the drill's listings, with the
// plaintext that must never leave the node and the forms that may.
type person struct {
	id, name string
	p        schemas.Person
}

func newPerson(t *testing.T, mk schemas.MatchKey, n uint64, name string) person {
	t.Helper()
	id := synth.PersonID("330000", n)
	p, _, err := schemas.SealPerson(mk, id, name, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return person{id: id, name: name, p: p}
}

// plaintext is every form of the person's identity that must stay secret.
func (p person) plaintext() []string {
	return []string{p.id, strings.ToLower(p.id), p.name}
}

// TestDrillNoPersonalPlaintext publishes listings naming three people (a
// natural person listed publicly, one listed with restricted disclosure, the
// legal representative of a listed enterprise), lets the node issue its
// sanction notices, then calls every GET endpoint of the node's router
// (node.Routes, so a new endpoint is covered when it is added), with every
// identifier of those people and every index of the ledger, as every role:
// public, publisher, executor, auditor, admin, replica, member.
//
// Personal plaintext leaves the node only through the data-key vault
// (GET /v1/vault/..., to the submitting agency and the region's admin, with
// a purpose, logged: node/vault_test.go). This drill stores no data keys, so
// no route may reveal any (docs/API.md: auditors read "everything except
// personal plaintext"; the public sees masked data only, DOMAIN.md section
// 7): no answer may contain a citizen ID or a name that the request did not
// itself carry. Every answer to a certificate
// holder that carries a person's sealed data or keyed hash, except the
// access log itself, must have added an entry naming the caller to the
// access log (DOMAIN.md: every query of personal credit data is registered).
func TestDrillNoPersonalPlaintext(t *testing.T) {
	d := newDrill(t, func(c *node.Config) {
		c.RateLimit = node.RateLimitConfig{PerSecond: -1, PublicPerSecond: -1}
		c.Sanctions.Agencies = "" // the default: the dev directory, so notices are issued
	})
	ctx := context.Background()
	pub := d.creds["publisher"]
	mk := *pub.MatchKey
	a := newPerson(t, mk, 7001, "张三丰")
	b := newPerson(t, mk, 7002, "李四光")
	c := newPerson(t, mk, 7003, "王五福")
	people := []person{a, b, c}
	asPerson := func(p person, disclosure string) func(*schemas.Listing) {
		return func(l *schemas.Listing) {
			pp := p.p
			l.Subject = schemas.Subject{Type: schemas.SubjectNaturalPerson, Name: pp.NameMasked, Person: &pp}
			l.Disclosure = disclosure
		}
	}
	enterprise := func(l *schemas.Listing) {
		l.Subject.ResponsiblePersons = []schemas.ResponsiblePerson{{Role: "legal_representative", Person: c.p}}
	}
	var entUSCC string
	rs, err := pub.Submit(ctx, d.url,
		d.signed(1, pub, asPerson(a, "public")),
		d.signed(2, pub, asPerson(b, "restricted")),
		d.signed(3, pub, func(l *schemas.Listing) { enterprise(l); entUSCC = l.Subject.USCC }))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listings at %d, %d, %d", rs[0].Index, rs[1].Index, rs[2].Index)
	// Wait for the sanction notices to be issued.
	size, stable := d.size(), 0
	for stable < 5 {
		time.Sleep(100 * time.Millisecond)
		if s := d.size(); s == size {
			stable++
		} else {
			size, stable = s, 0
		}
	}
	if size <= rs[2].Index+1 {
		t.Fatalf("no sanction notices were issued (ledger size %d)", size)
	}

	subjects := []string{a.id, a.p.IDHash, b.id, b.p.IDHash, c.id, c.p.IDHash, entUSCC}
	var tiles []string
	for _, p := range []string{ledger.EntriesPath(0, int(size)), ledger.TilePath(0, 0, int(size))} {
		tiles = append(tiles, strings.TrimPrefix(p, "tile/"))
	}
	originHash := sha256.Sum256([]byte("creditx.330000/ledger")) // the witness's monitoring path (tlog-witness)
	expand := map[string][]string{"{code}": {"330000"}, "{id}": subjects, "{path...}": tiles, "{$}": {""}, "{hash}": {hex.EncodeToString(originHash[:])}}
	for i := range size {
		expand["{index}"] = append(expand["{index}"], strconv.FormatUint(i, 10))
	}
	var urls []string
	for _, rt := range d.n.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		if method != "GET" {
			continue
		}
		paths := []string{""}
		perSubject := true
		for _, seg := range strings.Split(strings.TrimPrefix(pattern, "/"), "/") {
			vals := []string{seg}
			if strings.HasPrefix(seg, "{") {
				var ok bool
				if vals, ok = expand[seg]; !ok {
					t.Fatalf("route %s: the drill does not know how to fill %s; teach it", rt, seg)
				}
				perSubject = perSubject && seg != "{index}" && seg != "{path...}"
			}
			var next []string
			for _, p := range paths {
				for _, v := range vals {
					if seg != "{path...}" {
						v = url.PathEscape(v)
					}
					next = append(next, p+"/"+v)
				}
			}
			paths = next
		}
		// Every query parameter any endpoint reads, with each identifier
		// where an endpoint takes one.
		qs := []string{subjects[0]}
		if perSubject {
			qs = subjects
		}
		for _, p := range paths {
			for _, s := range qs {
				q := url.Values{"purpose": {"audit"}, "agency": {d.creds["executor"].Identity.ID}, "subject": {s}, "q": {s}, "state": {"all"}}
				urls = append(urls, p+"?"+q.Encode())
			}
		}
	}

	// accessLog returns the access log's size and its entries from start.
	accessLog := func(start uint64) (uint64, []node.AccessRecord) {
		var al struct {
			Size    uint64            `json:"size"`
			Entries []json.RawMessage `json:"entries"`
		}
		if err := d.creds["auditor"].Get(ctx, fmt.Sprintf("%s/v1/access-log?start=%d", d.url, start), &al); err != nil {
			t.Fatal(err)
		}
		var out []node.AccessRecord
		for _, e := range al.Entries {
			var ar node.AccessRecord
			if err := json.Unmarshal(e, &ar); err != nil {
				t.Fatal(err)
			}
			out = append(out, ar)
		}
		return al.Size, out
	}
	logged, _ := accessLog(0)
	roles := []string{"public", "publisher", "executor", "auditor", "admin", "replica", "member"}
	requests, personal := 0, 0
	for _, u := range urls {
		for _, role := range roles {
			client := d.public
			if role != "public" {
				client = d.creds[role].Client
			}
			code, body := get(t, client, d.url+u)
			requests++
			sent, _ := url.QueryUnescape(u)
			for _, p := range people {
				for _, secret := range p.plaintext() {
					if bytes.Contains(body, []byte(secret)) && !strings.Contains(sent, secret) {
						t.Errorf("GET %s as %s (%d) reveals %q: %.300s", u, role, code, secret, body)
					}
				}
			}
			carries := false
			for _, p := range people {
				carries = carries || bytes.Contains(body, []byte(p.p.Sealed)) ||
					bytes.Contains(body, []byte(p.p.IDHash)) && !strings.Contains(sent, p.p.IDHash)
			}
			if role == "public" {
				continue
			}
			// Every access-log entry the request added names this caller
			// and the purpose given; an answer that carries personal data
			// must have added one. Not reads to log: the access log itself
			// (its entries name the persons read), and the public tlog-tiles
			// API, which serves the ledger's raw entries (ciphertext and
			// keyed hashes, never plaintext: checked above) to anyone for
			// verification.
			size, entries := accessLog(logged)
			for _, ar := range entries {
				if ar.Who != d.creds[role].Identity.ID || ar.Role != role2pki(role) || (ar.Purpose != "audit" && ar.Purpose != "sanction_notices") {
					t.Errorf("GET %s as %s: access-log entry %+v does not name the caller and purpose", u, role, ar)
				}
			}
			notLogged := strings.HasPrefix(u, "/v1/access-log") || strings.HasPrefix(u, "/audit") || strings.HasPrefix(u, "/ledger/")
			if code == http.StatusOK && carries && !notLogged {
				personal++
				if size == logged {
					t.Errorf("GET %s as %s returned personal data without an access-log entry", u, role)
				}
			}
			logged = size
		}
	}
	t.Logf("%d GET endpoints, %d requests, %d answers with personal data, %d access-log entries", len(urls), requests, personal, logged)
	if personal == 0 {
		t.Fatal("no answer carried personal data: the drill did not reach it")
	}
}

func role2pki(role string) string {
	switch role {
	case "publisher":
		return string(pki.RolePublish)
	case "executor":
		return string(pki.RoleExecute)
	case "auditor":
		return string(pki.RoleAudit)
	}
	return role
}
