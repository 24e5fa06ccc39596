package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// fixtureAt is 60 days after the fixture's records: every feedback
// deadline (10 days after each notice) has passed.
var fixtureAt = fixtureBase.AddDate(0, 0, 60)

func runDir(t *testing.T, dir string) (*Report, error) {
	t.Helper()
	in, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), in, Options{At: fixtureAt})
}

func TestCleanFixturePasses(t *testing.T) {
	const per = 4
	fx := buildFixture(t, per, fixtureOpts{})
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("clean fixture: %v", err)
	}
	if !rep.OK || len(rep.Failures) != 0 {
		t.Fatalf("clean fixture not OK: %+v", rep.Failures)
	}
	if len(rep.Copies) != 9 {
		t.Fatalf("%d copies, want 9 (3 ledgers x 3 holders)", len(rep.Copies))
	}
	full := 0
	for _, c := range rep.Copies {
		if !c.Witnessed || len(c.Cosigners) != 2 || c.KeySource != "trust" {
			t.Errorf("copy %s@%s: witnessed=%v cosigners=%v key=%s", c.Origin, c.Holder, c.Witnessed, c.Cosigners, c.KeySource)
		}
		m := fx.member(codeOf(c.Origin))
		want := uint64(len(m.entries))
		if fx.members[(indexOf(fx, m)+1)%3].code == c.Holder {
			want = uint64(m.phase1) // the lagging mirror
		}
		if c.Size != want {
			t.Errorf("copy %s@%s: size %d, want %d", c.Origin, c.Holder, c.Size, want)
		}
		if c.Full {
			full++
		}
	}
	if full != 3 {
		t.Errorf("%d copies fully checked, want one per ledger (3)", full)
	}
	l := rep.Loop
	if l.Listings != 3*per || l.Notices != 3*3*per || l.Feedback != 3*(3*per-1) {
		t.Errorf("loop counts: %d listings, %d notices, %d feedback", l.Listings, l.Notices, l.Feedback)
	}
	for mi, m := range l.Members {
		wantLag := float64((mi + 1) * 3600) // member mi issues its notices mi+1 hours after each listing
		if m.Member != fx.members[mi].code || m.Reached != 3*per || m.LagP50 != wantLag || m.LagMax != wantLag {
			t.Errorf("member %+v: want %s reached %d lag %v", m, fx.members[mi].code, 3*per, wantLag)
		}
		if m.InTime != 3*per-1 || m.Overdue != 1 || m.Late != 0 || m.Pending != 0 {
			t.Errorf("member %s: in time %d, overdue %d, late %d, pending %d; want %d, 1, 0, 0", m.Member, m.InTime, m.Overdue, m.Late, m.Pending, 3*per-1)
		}
	}
	if len(l.OverdueItems) != 3 {
		t.Errorf("%d overdue items, want 3 (the last notice of each member)", len(l.OverdueItems))
	}
	for _, it := range l.OverdueItems {
		if want := fx.where[fmt.Sprintf("notice %s/%d", it.Member, 3*per-1)]; it.Index != want || it.Origin != "creditx."+it.Member+"/ledger" {
			t.Errorf("overdue item %+v, want index %d", it, want)
		}
	}
	if len(l.Detail) != 3*per || len(l.Detail[0].Members) != 3 {
		t.Errorf("detail rows %d", len(l.Detail))
	}
}

func indexOf(fx *fixture, m *member) int {
	for i, x := range fx.members {
		if x == m {
			return i
		}
	}
	return -1
}

// entryBundleFile returns the path of the (last) entry bundle holding
// entry i of a tree of the given size.
func entryBundleFile(dir string, i, size uint64) string {
	n := i / ledger.TileWidth
	w := ledger.TileWidth
	if n == size/ledger.TileWidth {
		w = int(size % ledger.TileWidth)
	}
	return filepath.Join(dir, filepath.FromSlash(ledger.EntriesPath(n, w)))
}

// rewriteBundle applies f to the entries of the bundle at p.
func rewriteBundle(t *testing.T, p string, f func([][]byte) [][]byte) {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	es, err := ledger.ParseEntryBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, e := range f(es) {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTamperDrills(t *testing.T) {
	const per = 3
	tests := []struct {
		name   string
		opts   fixtureOpts
		tamper func(t *testing.T, fx *fixture)
		// want describes the first failure, from the fixture
		want func(fx *fixture) Failure
		// reason must contain this
		reason string
	}{
		{
			name: "edit an entry in one member's data",
			tamper: func(t *testing.T, fx *fixture) {
				m := fx.member("320000")
				i := fx.where["listing 320000/1"]
				rewriteBundle(t, entryBundleFile(fx.tree("320000", "320000"), i, uint64(len(m.entries))), func(es [][]byte) [][]byte {
					e := es[i%ledger.TileWidth]
					j := bytes.Index(e, []byte(`"reason":"`)) + 12
					e[j] ^= 0x01 // one bit of the listing's reason text
					return es
				})
			},
			want: func(fx *fixture) Failure {
				return Failure{Check: CheckTree, Origin: "creditx.320000/ledger", Holder: "320000", Index: int64(fx.where["listing 320000/1"])}
			},
			reason: "leaf hash does not match",
		},
		{
			name: "drop an entry from a mirror",
			tamper: func(t *testing.T, fx *fixture) {
				m := fx.member("310000")
				size := uint64(len(m.entries))
				rewriteBundle(t, entryBundleFile(fx.tree("330000", "310000"), size-1, size), func(es [][]byte) [][]byte { return es[:len(es)-1] })
			},
			want: func(fx *fixture) Failure {
				return Failure{Check: CheckTree, Origin: "creditx.310000/ledger", Holder: "330000", Index: int64(len(fx.member("310000").entries) - 1)}
			},
			reason: "missing",
		},
		{
			name: "forge a cosignature",
			tamper: func(t *testing.T, fx *fixture) {
				p := filepath.Join(fx.tree("310000", "320000"), ledger.ExportCheckpointFile)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(string(b), "\n")
				found := false
				for k, l := range lines {
					if rest, ok := strings.CutPrefix(l, "— creditx.330000/witness "); ok {
						sig, _ := base64.StdEncoding.DecodeString(rest)
						sig[len(sig)-1] ^= 0x80
						lines[k] = "— creditx.330000/witness " + base64.StdEncoding.EncodeToString(sig)
						found = true
					}
				}
				if !found {
					t.Fatal("no cosignature line by creditx.330000/witness")
				}
				os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
			},
			want: func(fx *fixture) Failure {
				return Failure{Check: CheckCosignature, Origin: "creditx.320000/ledger", Holder: "310000", Index: -1}
			},
			reason: "cosignature by creditx.330000/witness",
		},
		{
			name: "backdate a feedback record",
			opts: fixtureOpts{backdateFeedback: true},
			want: func(fx *fixture) Failure {
				return Failure{Check: CheckCausality, Origin: "creditx.320000/ledger", Holder: "320000", Index: int64(fx.where["feedback 320000/0"])}
			},
			reason: "backdated",
		},
		{
			name: "register a key after the records it signed",
			opts: fixtureOpts{lateKey: true},
			want: func(fx *fixture) Failure {
				return Failure{Check: CheckRecord, Origin: "creditx.330000/ledger", Holder: "330000", Index: int64(fx.where["listing 330000/0"])}
			},
			reason: "unknown agency key",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := buildFixture(t, per, tc.opts)
			if tc.tamper != nil {
				tc.tamper(t, fx)
			}
			rep, err := runDir(t, fx.dir)
			var ie *IntegrityError
			if !errors.As(err, &ie) {
				t.Fatalf("Run: %v, want *IntegrityError", err)
			}
			if rep == nil || rep.OK {
				t.Fatal("report says OK")
			}
			want := tc.want(fx)
			got := ie.First
			got.Reason = ""
			if got != want {
				t.Errorf("first failure %+v\nwant %+v\nall: %v", ie.First, want, rep.Failures)
			}
			if len(rep.Failures) != 1 || ie.Count != 1 {
				t.Errorf("%d failures, want exactly the one planted: %v", len(rep.Failures), rep.Failures)
			}
			if tc.opts == (fixtureOpts{}) && rep.Loop.Listings != 3*per {
				// the records themselves are intact: a good copy stands in for the bad one
				t.Errorf("closed loop saw %d listings, want %d", rep.Loop.Listings, 3*per)
			}
			if !strings.Contains(ie.First.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", ie.First.Reason, tc.reason)
			}
			var txt bytes.Buffer
			rep.WriteText(&txt)
			if !strings.Contains(txt.String(), "FAILED") || !strings.Contains(txt.String(), ie.First.String()) {
				t.Errorf("summary does not name the failure:\n%s", txt.String())
			}
		})
	}
}

func TestReportsSelfContained(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	if err := rep.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML contains %q: not self-contained", bad)
		}
	}
	for _, want := range []string{"PASSED", "<svg", "creditx.310000/ledger", "creditx.330000/ledger", "Overdue items", "median 1.0h", "median 3.0h"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	var j bytes.Buffer
	if err := rep.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !back.OK || len(back.Copies) != 9 || back.Loop.Notices != 18 || !back.At.Equal(fixtureAt) {
		t.Errorf("JSON round trip: ok=%v copies=%d notices=%d at=%v", back.OK, len(back.Copies), back.Loop.Notices, back.At)
	}
}

func TestTrustFallbackToTreeVKey(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{})
	os.Remove(filepath.Join(fx.dir, ManifestFile))
	rep, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Copies[0].KeySource != "tree vkey (not independent)" || len(rep.Warnings) < 2 {
		t.Errorf("key source %q, warnings %v: the report must say the keys were not independent", rep.Copies[0].KeySource, rep.Warnings)
	}
}

func TestWrongTrustedKey(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{})
	other := newMember(t, "310000")
	p := filepath.Join(fx.dir, ManifestFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(fx.member("310000").logV), []byte(other.logV), 1), 0o644)
	_, err := runDir(t, fx.dir)
	var ie *IntegrityError
	if !errors.As(err, &ie) || ie.First.Origin != "creditx.310000/ledger" || ie.First.Check != CheckCheckpoint {
		t.Fatalf("Run with a different trusted log key: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{})
	in, err := FromDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, in, Options{At: time.Now()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a cancelled context: %v", err)
	}
}

// TestFromNodes audits ledgers read through the tlog-tiles HTTP API (a
// static server over one holder's trees, as a node serves /ledger/<code>/).
func TestFromNodes(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	mux := http.NewServeMux()
	mux.Handle("/ledger/", http.StripPrefix("/ledger/", http.FileServer(http.Dir(filepath.Join(fx.dir, "310000")))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr, err := LoadManifest(filepath.Join(fx.dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	in, err := FromNodes(context.Background(), srv.Client(), []string{srv.URL}, []string{"310000", "320000", "330000", "340000"}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Copies) != 3 {
		t.Fatalf("%d copies from the node, want 3 (340000 is not served)", len(in.Copies))
	}
	rep, err := Run(context.Background(), in, Options{At: fixtureAt})
	if err != nil {
		t.Fatalf("live audit: %v", err)
	}
	if rep.Loop.Listings != 6 || rep.Copies[0].Holder != srv.URL {
		t.Errorf("live audit: %d listings, holder %q", rep.Loop.Listings, rep.Copies[0].Holder)
	}
}

func TestEmptyReportRenders(t *testing.T) {
	var r Report
	for name, w := range map[string]func(*bytes.Buffer) error{
		"html": func(b *bytes.Buffer) error { return r.WriteHTML(b) },
		"text": func(b *bytes.Buffer) error { return r.WriteText(b) },
		"json": func(b *bytes.Buffer) error { return r.WriteJSON(b) },
	} {
		var b bytes.Buffer
		if err := w(&b); err != nil || b.Len() == 0 {
			t.Errorf("%s of an empty report: %v", name, err)
		}
	}
}

// TestWitnessPolicy: with a witness_policy in the manifest the audit checks
// the policy's quorum, not a count of members: the fixture's checkpoints
// (cosigned by the two other members) meet "members 2 of 3", and fail a
// policy that also requires a witness outside the consortium.
func TestWitnessPolicy(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	path := filepath.Join(fx.dir, ManifestFile)
	base, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, extV, err := note.GenerateKey(rand.Reader, "auditor.example/witness")
	if err != nil {
		t.Fatal(err)
	}
	var members strings.Builder
	for _, m := range fx.members {
		fmt.Fprintf(&members, "  witness m%s %s\n", m.code, m.witV)
	}
	for _, c := range []struct {
		policy string
		ok     bool
	}{
		{"  group members 2 m310000 m320000 m330000\n  quorum members\n", true},
		{"  witness ext " + extV + " https://auditor.example/witness\n  group members 2 m310000 m320000 m330000\n  group q all members ext\n  quorum q\n", false},
		{"  group members all m310000 m320000 m330000\n  quorum members\n", false}, // the own witness never counts
	} {
		if err := os.WriteFile(path, append(append([]byte(nil), base...), "witness_policy: |\n"+members.String()+c.policy...), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := runDir(t, fx.dir)
		if (err == nil) != c.ok || rep == nil {
			t.Fatalf("policy\n%s: err = %v, want failure %v", c.policy, err, !c.ok)
		}
		if rep.OK != c.ok {
			t.Fatalf("policy\n%s: report OK = %v, want %v; failures %+v", c.policy, rep.OK, c.ok, rep.Failures)
		}
		for _, cp := range rep.Copies {
			if cp.Witnessed != c.ok || len(cp.Cosigners) != 2 || slices.Contains(cp.Cosigners, "m"+codeOf(cp.Origin)) {
				t.Fatalf("copy %s@%s: witnessed %v, cosigners %v", cp.Origin, cp.Holder, cp.Witnessed, cp.Cosigners)
			}
		}
	}
}
