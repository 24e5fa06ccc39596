package sidecar_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/creditx/creditx/anchor/sidecar"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// member is one consortium member of the fixture: a real ledger store
// served over HTTPS (tlog-tiles paths, as a node serves them) with a
// server certificate from the member's region CA.
type member struct {
	code string
	logS note.Signer
	logV note.Verifier
	wit  *exchange.Cosigner
	srv  *httptest.Server

	mu         sync.Mutex
	store      *ledger.Store
	served     []byte // the checkpoint the node serves
	corruptAll bool   // serve every hash tile with a flipped byte
}

func (m *member) origin() string { return schemas.LedgerOrigin(m.code) }

func (m *member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := "/ledger/" + m.code + "/"
	p, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case p == "checkpoint":
		w.Write(m.served)
	default:
		ref, err := ledger.ParseTilePath(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l := m.store.Log(m.origin())
		var b []byte
		if ref.Level < 0 {
			b, err = l.EntryBundle(ref.N, ref.Width)
		} else {
			b, err = l.Tile(ref.Level, ref.N, ref.Width)
			if err == nil && m.corruptAll {
				b = append([]byte(nil), b...)
				b[0] ^= 1
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	}
}

// reset replaces the member's ledger with a new, empty one (a member that
// rewrote its history).
func (m *member) reset(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m.mu.Lock()
	m.store = s
	m.mu.Unlock()
}

// grow appends n entries, signs a checkpoint and serves it with the
// cosignatures of the given witnesses.
func (m *member) grow(t *testing.T, n int, salt string, cosigners ...*member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var signed []byte
	err := m.store.Update(func(tx *ledger.Tx) error {
		lr := tx.Log(m.origin())
		var es [][]byte
		for i := range n {
			es = append(es, fmt.Appendf(nil, "%s entry %d of %s", salt, int(lr.Size())+i, m.code))
		}
		if _, err := tx.Append(m.origin(), es); err != nil {
			return err
		}
		lr = tx.Log(m.origin())
		root, err := lr.TreeHash(lr.Size())
		if err != nil {
			return err
		}
		if signed, err = ledger.SignCheckpoint(m.logS, m.origin(), lr.Size(), root); err != nil {
			return err
		}
		return tx.SetCheckpoint(m.origin(), signed, m.logV)
	})
	if err != nil {
		t.Fatal(err)
	}
	n0, err := note.Open(signed, note.VerifierList(m.logV))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cosigners {
		line, err := w.wit.Cosign(n0)
		if err != nil {
			t.Fatal(err)
		}
		signed = exchange.AddSignatures(signed, line)
	}
	m.served = signed
}

type fixture struct {
	m       *exchange.Manifest
	members map[string]*member
	client  *http.Client
}

func newFixture(t *testing.T, codes ...string) *fixture {
	fx := &fixture{members: map[string]*member{}}
	man := &exchange.Manifest{Version: 1, WitnessQuorum: 2, AcceptedSchemas: []string{"listing/v1"}}
	for _, code := range codes {
		ca, err := pki.NewCA(code, "test CA "+code, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RoleMember, Region: code, Kind: pki.KindMember, ID: code, Name: "node " + code}, []string{"127.0.0.1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		m := &member{code: code}
		skey, vkey, err := ledger.GenerateKey(m.origin(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m.logS, _ = note.NewSigner(skey)
		m.logV, _ = note.NewVerifier(vkey)
		wskey, wvkey, err := exchange.GenerateWitnessKey(code, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if m.wit, err = exchange.NewCosigner(wskey); err != nil {
			t.Fatal(err)
		}
		m.reset(t)
		m.srv = httptest.NewUnstartedServer(m)
		m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		m.srv.StartTLS()
		t.Cleanup(m.srv.Close)
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		man.Members = append(man.Members, exchange.Member{Code: code, Name: "member " + code, Endpoint: m.srv.URL,
			LogVKey: vkey, WitnessVKey: wvkey, CA: string(ca.CertPEM()), Status: exchange.StatusActive,
			Anchors: []exchange.Anchor{{Name: "office", USCC: "11" + code + "MB0000010X", PublicKey: base64.StdEncoding.EncodeToString(pub)}}})
		fx.members[code] = m
	}
	b, err := man.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if fx.m, err = exchange.ParseManifest(b); err != nil {
		t.Fatal(err)
	}
	// The sidecar trusts the members' region CAs from the manifest only.
	fx.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: fx.m.CAPool()}}}
	return fx
}

func (fx *fixture) others(code string) []*member {
	var out []*member
	for c, m := range fx.members {
		if c != code {
			out = append(out, m)
		}
	}
	return out
}

func round(t *testing.T, l *sidecar.Loop) (map[string]sidecar.Outcome, error) {
	t.Helper()
	os, err := l.Round(context.Background())
	out := map[string]sidecar.Outcome{}
	for _, o := range os {
		out[o.Member] = o
	}
	return out, err
}

func latestSize(t *testing.T, b *anchor.Memory, code string) uint64 {
	t.Helper()
	a, err := b.Latest(context.Background(), code)
	if errors.Is(err, anchor.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return a.Size
}

func TestRound(t *testing.T) {
	fx := newFixture(t, "310000", "320000", "330000")
	zj, js, sh := fx.members["330000"], fx.members["320000"], fx.members["310000"]
	for _, m := range fx.members {
		m.grow(t, 5, "v1", fx.others(m.code)...)
	}
	backend := anchor.NewMemory()
	l, err := sidecar.New(sidecar.Config{Manifest: fx.m, Backend: backend, Client: fx.client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	// 1. every witnessed checkpoint is anchored, with its cosignatures' hash
	out, err := round(t, l)
	if err != nil {
		t.Fatalf("first round: %v", err)
	}
	for code := range fx.members {
		if !out[code].Wrote || latestSize(t, backend, code) != 5 {
			t.Errorf("%s: %+v, anchored size %d; want written at 5", code, out[code], latestSize(t, backend, code))
		}
	}
	a, _ := backend.Latest(context.Background(), "330000")
	n, _ := note.Open(zj.served, note.VerifierList(zj.logV))
	if a.CosigHash != anchor.CosigHash(n, zj.logV) || a.CosigHash == anchor.CosigHash(&note.Note{}, zj.logV) {
		t.Error("the anchor does not carry the hash of the checkpoint's cosignatures")
	}

	// 2. nothing new: nothing submitted
	if out, err = round(t, l); err != nil || out["330000"].Wrote || out["330000"].Skipped != "up to date" {
		t.Fatalf("second round: %+v, %v", out["330000"], err)
	}

	// 3. growth across a tile boundary is anchored with a consistency proof
	// (which the chaincode checks); a checkpoint short of the quorum is not
	// anchored
	zj.grow(t, 300, "v1", fx.others(zj.code)...)
	js.grow(t, 3, "v1", sh) // one cosignature, quorum 2
	out, err = round(t, l)
	if err != nil {
		t.Fatalf("third round: %v", err)
	}
	if !out["330000"].Wrote || latestSize(t, backend, "330000") != 305 {
		t.Errorf("330000 after growth: %+v, anchored %d", out["330000"], latestSize(t, backend, "330000"))
	}
	if out["320000"].Wrote || !strings.HasPrefix(out["320000"].Skipped, "not witnessed: 1 cosignature") || latestSize(t, backend, "320000") != 5 {
		t.Errorf("320000 short of quorum: %+v, anchored %d", out["320000"], latestSize(t, backend, "320000"))
	}

	// 4. tiles that do not match the checkpoint are refused before anything
	// is submitted
	zj.grow(t, 10, "v1", fx.others(zj.code)...)
	zj.corruptAll = true
	out, err = round(t, l)
	if err == nil || out["330000"].Err == nil || !strings.Contains(out["330000"].Err.Error(), "consistency proof") || latestSize(t, backend, "330000") != 305 {
		t.Fatalf("corrupt tiles: %+v, %v, anchored %d", out["330000"], err, latestSize(t, backend, "330000"))
	}
	zj.corruptAll = false

	// 5. a member that rewrote its history: a fork at a larger size, then a
	// rollback below its anchor, are reported with the evidence and not
	// submitted
	sh.reset(t)
	sh.grow(t, 9, "v2", fx.others(sh.code)...)
	out, err = round(t, l)
	var me *sidecar.MismatchError
	if !errors.As(err, &me) || me.Anchored.Member != "310000" || me.Size != 9 || !strings.Contains(me.Reason, "fork") {
		t.Fatalf("fork: %v, want a MismatchError for 310000 at 9", err)
	}
	if !out["330000"].Wrote {
		t.Errorf("one member's fork stopped another's anchoring: %+v", out["330000"])
	}
	sh.reset(t)
	sh.grow(t, 3, "v3", fx.others(sh.code)...)
	if _, err = round(t, l); !errors.As(err, &me) || !strings.Contains(me.Reason, "rollback") {
		t.Fatalf("rollback: %v, want a MismatchError", err)
	}
	if latestSize(t, backend, "310000") != 5 {
		t.Fatalf("310000 anchor moved to %d", latestSize(t, backend, "310000"))
	}

	// 6. a checkpoint not signed by the manifest's log key is refused
	forger := fx.members["320000"]
	forger.served = zj.served // another member's checkpoint
	if out, _ = round(t, l); out["320000"].Err == nil || !strings.Contains(out["320000"].Err.Error(), "checkpoint") {
		t.Fatalf("checkpoint of another origin: %+v", out["320000"])
	}
}

func TestRun(t *testing.T) {
	fx := newFixture(t, "310000", "320000", "330000")
	for _, m := range fx.members {
		m.grow(t, 2, "v1", fx.others(m.code)...)
	}
	backend := anchor.NewMemory()
	l, err := sidecar.New(sidecar.Config{Manifest: fx.m, Backend: backend, Client: fx.client, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	zj := fx.members["330000"]
	zj.grow(t, 7, "v1", fx.others(zj.code)...)
	deadline := time.Now().Add(10 * time.Second)
	for latestSize(t, backend, "330000") != 9 {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not anchor the new checkpoint; anchored %d", latestSize(t, backend, "330000"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := sidecar.New(sidecar.Config{Backend: anchor.NewMemory()}); err == nil || !strings.Contains(err.Error(), "Manifest") {
		t.Errorf("no manifest: %v", err)
	}
	if _, err := sidecar.New(sidecar.Config{Manifest: &exchange.Manifest{}}); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Errorf("no backend: %v", err)
	}
}
