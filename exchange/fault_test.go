package exchange

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Fault tests of the runtime, in the manner of sunlight's: every storage
// step of the runtime is a Host.Propose (a raft commit applied to
// ledger.db), and each one is made to fail once before it persists (nothing
// applied, an error returned) and once after it persists (applied and
// durable, but the answer lost). After every step the invariants are
// checked against what is durable:
//
//   - no checkpoint is cosigned twice at different roots (the witness);
//   - no mirrored entry is counted (indexed) before its batch verified
//     against the checkpoint, nor counted twice after a retried batch;
//   - no acknowledgement is lost: whatever was acknowledged (a cosignature
//     answered, a mirror batch reported committed, an alert recorded) is
//     durable.

// fault is where the n-th Propose fails.
type fault int

const (
	failBefore fault = iota + 1 // nothing applied, error returned
	failAfter                   // applied and committed, error returned
)

func (f fault) String() string { return map[fault]string{failBefore: "before", failAfter: "after"}[f] }

// faultHost is fakeHost with the n-th Propose (counting from 0) failing as
// at says.
type faultHost struct {
	*fakeHost
	calls int
	at    map[int]fault
}

var errInjected = errors.New("injected storage failure")

func (h *faultHost) Propose(ctx context.Context, c Command) (Result, error) {
	n := h.calls
	h.calls++
	switch h.at[n] {
	case failBefore:
		return Result{}, fmt.Errorf("propose %d (%v): %w", n, c.Op, errInjected)
	case failAfter:
		if _, err := h.fakeHost.Propose(ctx, c); err != nil {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("propose %d (%v) committed, answer lost: %w", n, c.Op, errInjected)
	}
	return h.fakeHost.Propose(ctx, c)
}

// faultFixture is two members, 310000 (whose ledger is witnessed and
// mirrored) and 330000 (this runtime), with the keys the tests sign with.
type faultFixture struct {
	m       *Manifest
	logS    note.Signer // 310000's log key
	logV    note.Verifier
	witness *Cosigner // 330000's witness key
	origin  string    // 310000's ledger
	src     *ledger.Store
}

func newFaultFixture(t *testing.T) *faultFixture {
	t.Helper()
	fx := &faultFixture{m: &Manifest{Version: 1, WitnessQuorum: 1, AcceptedSchemas: []string{"listing/v1", "governance/v1"}}, origin: schemas.LedgerOrigin("310000")}
	for i, code := range []string{"310000", "330000"} {
		ca, err := pki.NewCA(code, "test CA "+code, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ls, lv, err := ledger.GenerateKey(schemas.LedgerOrigin(code), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ws, wv, err := GenerateWitnessKey(code, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		fx.m.Members = append(fx.m.Members, Member{Code: code, Name: "member " + code, Endpoint: fmt.Sprintf("https://127.0.0.1:%d443", i+1),
			LogVKey: lv, WitnessVKey: wv, CA: string(ca.CertPEM()), Status: StatusActive,
			Anchors: []Anchor{{Name: "office", USCC: "11" + code + "MB0000010X", PublicKey: base64.StdEncoding.EncodeToString(pub)}}})
		if code == "310000" {
			if fx.logS, err = note.NewSigner(ls); err != nil {
				t.Fatal(err)
			}
			if fx.logV, err = note.NewVerifier(lv); err != nil {
				t.Fatal(err)
			}
		} else if fx.witness, err = NewCosigner(ws); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if fx.m, err = ParseManifest(encode(t, fx.m)); err != nil {
		t.Fatal(err)
	}
	// 310000's own ledger, the source of what is witnessed and mirrored.
	if fx.src, err = ledger.Open(filepath.Join(t.TempDir(), "src.db"), ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.src.Close() })
	var entries [][]byte
	for i := range 10 {
		entries = append(entries, fmt.Appendf(nil, "entry %d of 310000", i))
	}
	if err := fx.src.Update(func(tx *ledger.Tx) error { _, err := tx.Append(fx.origin, entries); return err }); err != nil {
		t.Fatal(err)
	}
	return fx
}

// checkpoint is 310000's signed checkpoint at size.
func (fx *faultFixture) checkpoint(t *testing.T, size uint64) []byte {
	t.Helper()
	root, err := fx.src.Log(fx.origin).TreeHash(size)
	if err != nil {
		t.Fatal(err)
	}
	return fx.sign(t, size, root)
}

func (fx *faultFixture) sign(t *testing.T, size uint64, root tlog.Hash) []byte {
	t.Helper()
	cp, err := ledger.SignCheckpoint(fx.logS, fx.origin, size, root)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// runtime is 330000's runtime on a fresh host failing as at says.
func (fx *faultFixture) runtime(t *testing.T, at map[int]fault) (*Runtime, *faultHost) {
	t.Helper()
	h := &faultHost{fakeHost: newFakeHost(t), at: at}
	h.peers[fx.origin] = fx.logV
	x, err := NewOffline(fx.m, "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.cosigner = fx.witness
	return x, h
}

// TestWitnessFaults has 310000 push checkpoints of size 4 and 8 to 330000's
// witness the way the push loop does (on 409 learn the size, on 503 retry),
// then submit a checkpoint of size 8 at another root (a split view), with
// each storage step failing before and after it persists.
func TestWitnessFaults(t *testing.T) {
	fx := newFaultFixture(t)
	mb, _ := fx.m.Member("310000")
	tg := WitnessTarget{Origin: fx.origin, V: fx.logV, Member: mb}
	forged := fx.sign(t, 8, tlog.Hash{8}) // signed by 310000's key, another tree

	for n := range 3 { // witness 4, witness 8, the alert on the split view
		for _, f := range []fault{failBefore, failAfter} {
			t.Run(fmt.Sprintf("propose %d fails %v", n, f), func(t *testing.T) {
				x, h := fx.runtime(t, map[int]fault{n: f})
				acked := map[uint64]tlog.Hash{} // size -> root answered with a cosignature
				submit := func(cp []byte) int {
					old := uint64(0)
					for attempt := 0; attempt < 6; attempt++ {
						a := AddCheckpoint{OldSize: old, Checkpoint: cp}
						c, err := ledger.OpenCheckpoint(cp, fx.origin, fx.logV)
						if err != nil {
							t.Fatal(err)
						}
						if old > 0 && old < c.Size {
							if a.Proof, err = fx.src.Log(fx.origin).ConsistencyProof(old, c.Size); err != nil {
								t.Fatal(err)
							}
						}
						w := httptest.NewRecorder()
						x.ServeCosign(t.Context(), w, tg, a)
						switch w.Code {
						case http.StatusOK:
							if _, err := note.Open(append(append([]byte(nil), cp...), w.Body.Bytes()...), note.VerifierList(fx.logV, fx.m.Members[1].WitnessVerifier())); err != nil {
								t.Fatalf("answered cosignature does not verify: %v", err)
							}
							if r, ok := acked[c.Size]; ok && r != c.Root {
								t.Fatalf("cosigned size %d at two roots", c.Size)
							}
							acked[c.Size] = c.Root
							return w.Code
						case http.StatusConflict:
							fmt.Sscan(w.Body.String(), &old)
						case http.StatusServiceUnavailable:
							// not committed, or committed with the answer lost: retry
						default:
							return w.Code
						}
						checkWitnessInvariants(t, h.fakeHost, fx.origin, acked)
					}
					return 0
				}
				for _, size := range []uint64{4, 8} {
					if code := submit(fx.checkpoint(t, size)); code != http.StatusOK {
						t.Fatalf("checkpoint %d: answered %d after retries, want 200", size, code)
					}
					checkWitnessInvariants(t, h.fakeHost, fx.origin, acked)
				}
				if code := submit(forged); code == http.StatusOK {
					t.Fatal("a second root at size 8 was cosigned")
				}
				checkWitnessInvariants(t, h.fakeHost, fx.origin, acked)
				if h.calls <= n {
					t.Fatalf("only %d proposes: the fault at %d was never reached", h.calls, n)
				}
			})
		}
	}
}

// checkWitnessInvariants: the durable witness state is at or after every
// acknowledged cosignature (none lost) and agrees with each at its size.
func checkWitnessInvariants(t *testing.T, h *fakeHost, origin string, acked map[uint64]tlog.Hash) {
	t.Helper()
	var ws WitnessState
	if err := h.store.View(func(tx *ledger.ReadTx) (err error) { ws, err = ReadWitnessState(tx, origin); return err }); err != nil {
		t.Fatal(err)
	}
	for size, root := range acked {
		if ws.Size < size {
			t.Fatalf("cosignature of size %d answered, durable witness state is at %d (acknowledgement lost)", size, ws.Size)
		}
		if ws.Size == size && ws.Root != root {
			t.Fatalf("durable witness state at size %d has another root than the one cosigned", size)
		}
	}
}

// TestMirrorAppendFaults mirrors 310000's ten entries in batches of three
// as the mirror loop commits them (each batch verified by the apply
// function against the checkpoint through a consistency proof), retrying
// from the durable frontier after a failure, with each storage step failing
// before and after it persists; and offers a tampered batch, which must
// change nothing.
func TestMirrorAppendFaults(t *testing.T) {
	fx := newFaultFixture(t)
	const size = 10
	cp := fx.checkpoint(t, size)
	src := fx.src.Log(fx.origin)
	batch := func(start uint64) Command {
		end := min(start+3, size)
		c := Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: cp, First: start}
		for i := start; i < end; i++ {
			e, err := src.Entry(i)
			if err != nil {
				t.Fatal(err)
			}
			c.Entries = append(c.Entries, e)
		}
		if end < size {
			p, err := src.ConsistencyProof(end, size)
			if err != nil {
				t.Fatal(err)
			}
			c.Proof = p
		}
		return c
	}
	for n := range 4 {
		for _, f := range []fault{failBefore, failAfter} {
			t.Run(fmt.Sprintf("propose %d fails %v", n, f), func(t *testing.T) {
				x, h := fx.runtime(t, map[int]fault{n: f})
				var reported uint64 // entries the loop saw committed (what it counts as mirrored)
				for step := 0; step < 10; step++ {
					var fr *Frontier
					if err := h.View(func(tx *ledger.ReadTx) (err error) { fr, err = readFrontier(tx, fx.origin); return err }); err != nil {
						t.Fatal(err)
					}
					if fr.Size() == size {
						break
					}
					// a tampered copy of the next batch first: refused, nothing written
					bad := batch(fr.Size())
					bad.Entries = append([][]byte(nil), bad.Entries...)
					bad.Entries[0] = []byte("not what 310000 logged")
					if res, err := x.propose(t.Context(), bad); err == nil && res.Refused == nil {
						t.Fatal("a tampered batch was applied")
					}
					checkMirrorInvariants(t, h.fakeHost, src, fx.origin, reported)
					c := batch(fr.Size())
					res, err := x.propose(t.Context(), c)
					switch {
					case errors.Is(err, errInjected):
					case err != nil:
						t.Fatal(err)
					case res.Refused != nil && !errors.Is(res.Refused, ErrStaleMirror):
						t.Fatalf("batch at %d refused: %v", c.First, res.Refused)
					case res.Refused == nil:
						reported = res.Size
					}
					checkMirrorInvariants(t, h.fakeHost, src, fx.origin, reported)
				}
				var got []byte
				if err := h.View(func(tx *ledger.ReadTx) (err error) { got, err = tx.Log(fx.origin).Checkpoint(); return err }); err != nil {
					t.Fatalf("mirror has no checkpoint after catching up: %v", err)
				}
				if !bytes.Equal(got, cp) {
					t.Fatal("mirror's stored checkpoint is not the one mirrored to")
				}
			})
		}
	}
}

// checkMirrorInvariants: the mirror is a verified prefix of the source
// (same tree hash at its size), its log and frontier agree, every stored
// entry was indexed exactly once and nothing else was, and nothing the
// loop saw committed is missing.
func checkMirrorInvariants(t *testing.T, h *fakeHost, src *ledger.Log, origin string, reported uint64) {
	t.Helper()
	err := h.store.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(origin)
		fr, err := readFrontier(tx, origin)
		if err != nil {
			return err
		}
		if lr.Size() != fr.Size() {
			return fmt.Errorf("mirror log size %d, frontier size %d", lr.Size(), fr.Size())
		}
		if got := h.indexed[origin]; got != lr.Size() {
			return fmt.Errorf("%d entries indexed, %d stored", got, lr.Size())
		}
		if lr.Size() < reported {
			return fmt.Errorf("the loop saw %d committed, the mirror holds %d (acknowledgement lost)", reported, lr.Size())
		}
		if lr.Size() == 0 {
			return nil
		}
		mine, err := lr.TreeHash(lr.Size())
		if err != nil {
			return err
		}
		theirs, err := src.TreeHash(lr.Size())
		if err != nil {
			return err
		}
		if mine != theirs {
			return fmt.Errorf("mirror at size %d is not the source's tree", lr.Size())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAlertFaults raises a bad-entry alert with its storage step failing
// before and after it persists, then again (the mirror loop raises it again
// when it refetches the same entry): the alert is recorded exactly once and
// mirroring of the origin stops, whichever step failed.
func TestAlertFaults(t *testing.T) {
	fx := newFaultFixture(t)
	ev := Evidence{Kind: AlertBadEntry, Origin: fx.origin, Index: 3, Reason: "leaf hash mismatch",
		Items: [][]byte{fx.checkpoint(t, 10), []byte("bad entry")}}
	for _, f := range []fault{failBefore, failAfter} {
		t.Run("fails "+f.String(), func(t *testing.T) {
			x, h := fx.runtime(t, map[int]fault{0: f})
			x.raiseAlert(ev)
			var alerts []AlertView
			if err := h.View(func(tx *ledger.ReadTx) (err error) { alerts, err = ReadAlerts(tx); return err }); err != nil {
				t.Fatal(err)
			}
			if want := map[fault]int{failBefore: 0, failAfter: 1}[f]; len(alerts) != want {
				t.Fatalf("after the first raise: %d alerts, want %d", len(alerts), want)
			}
			x.raiseAlert(ev) // found again at the next fetch
			if err := h.View(func(tx *ledger.ReadTx) (err error) { alerts, err = ReadAlerts(tx); return err }); err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts after raising it again, want exactly 1", len(alerts))
			}
			if stopped, err := x.mirrorStopped(fx.origin); err != nil || !stopped {
				t.Fatalf("mirrorStopped = %v, %v; want stopped by the bad-entry alert", stopped, err)
			}
			res, err := x.propose(t.Context(), Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: fx.checkpoint(t, 10)})
			if err != nil || !errors.Is(res.Err(), ErrMirrorStopped) {
				t.Fatalf("mirror-append after the alert = %v, %v; want refused, stopped", res.Err(), err)
			}
		})
	}
}
