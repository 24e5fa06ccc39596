package exchange

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func witnessVKey(t testing.TB, name string) (skey, vkey string) {
	t.Helper()
	skey, legacy, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err = CosignatureVKey(legacy)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

// TestPolicySpecExample parses tlog-policy's example ("a quorum defined
// using two levels of groups") and checks its meaning: "valid cosignatures
// from at least two of the X-witnesses, and from at least one of the
// Y-witnesses".
func TestPolicySpecExample(t *testing.T) {
	_, logVKey, _ := ledger.GenerateKey("example.com/log", rand.Reader)
	var b strings.Builder
	fmt.Fprintf(&b, "# example\nlog %s https://log.example\n", logVKey)
	for _, n := range []string{"X1", "X2", "X3"} {
		_, v := witnessVKey(t, "x.example/"+n)
		fmt.Fprintf(&b, "witness %s %s\n", n, v)
	}
	b.WriteString("group X-witnesses 2 X1 X2 X3\n")
	for _, n := range []string{"Y1", "Y2", "Y3"} {
		_, v := witnessVKey(t, "y.example/"+n)
		fmt.Fprintf(&b, "\twitness\t%s %s https://y.example/%s  \n", n, v, n)
	}
	b.WriteString("group Y-witnesses any Y1 Y2 Y3\n\n   # comment\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n")
	p, err := ParsePolicy([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != 1 || len(p.Witnesses) != 6 || p.Quorum() != "X-and-Y" || p.Witnesses[3].URL != "https://y.example/Y1" {
		t.Fatalf("parsed %+v", p)
	}
	for set, want := range map[string]bool{
		"X1 X2 Y1":    true,
		"X1 X3 Y3":    true,
		"X1 X2 X3":    false,
		"X1 Y1 Y2 Y3": false,
		"":            false,
	} {
		got := map[string]bool{}
		for _, n := range strings.Fields(set) {
			got[n] = true
		}
		if p.Satisfied(got) != want {
			t.Errorf("Satisfied(%s) = %v, want %v", set, !want, want)
		}
	}
	// "quorum none": no cosignature needed.
	none, err := ParsePolicy([]byte("quorum none\n"))
	if err != nil || !none.Satisfied(nil) {
		t.Fatalf("quorum none: %v", err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	_, w1 := witnessVKey(t, "w.example/1")
	_, w2 := witnessVKey(t, "w.example/2")
	_, logVKey, _ := ledger.GenerateKey("example.com/log", rand.Reader)
	// "Two vkeys are considered duplicate if they wrap the same underlying
	// public key, even if they differ by key name and key id."
	key64 := w1[strings.LastIndex(w1, "+")+1:]
	raw, _ := base64.StdEncoding.DecodeString(key64)
	renamed := fmt.Sprintf("other.example/w+%08x+%s", cosig.KeyID("other.example/w", raw), key64)
	for what, c := range map[string]struct {
		text string
		line int
	}{
		"no quorum":              {"witness A " + w1 + "\n", 0},
		"two quorums":            {"witness A " + w1 + "\nquorum A\nquorum A\n", 3},
		"undefined quorum":       {"quorum A\nwitness A " + w1 + "\n", 1},
		"forward group member":   {"group G any A\nwitness A " + w1 + "\nquorum G\n", 1},
		"name twice":             {"witness A " + w1 + "\nwitness A " + w2 + "\nquorum A\n", 2},
		"witness key twice":      {"witness A " + w1 + "\nwitness B " + w1 + "\nquorum A\n", 2},
		"key under another name": {"witness A " + w1 + "\nwitness B " + renamed + "\nquorum A\n", 2},
		"log key twice":          {"log " + logVKey + "\nlog " + logVKey + "\nquorum none\n", 2},
		"member in two groups":   {"witness A " + w1 + "\nwitness B " + w2 + "\ngroup G any A B\ngroup H any A\nquorum G\n", 4},
		"member twice in group":  {"witness A " + w1 + "\ngroup G any A A\nquorum G\n", 2},
		"k above n":              {"witness A " + w1 + "\ngroup G 2 A\nquorum G\n", 2},
		"k zero":                 {"witness A " + w1 + "\ngroup G 0 A\nquorum G\n", 2},
		"k signed":               {"witness A " + w1 + "\ngroup G +1 A\nquorum G\n", 2},
		"group without members":  {"group G any\nquorum none\n", 1},
		"none as member":         {"group G any none\nquorum G\n", 1},
		"none as witness name":   {"witness none " + w1 + "\nquorum none\n", 1},
		"unknown keyword":        {"witnesses A " + w1 + "\nquorum none\n", 1},
		"control character":      {"witness A " + w1 + "\r\nquorum A\n", 1},
		"witness with a log key": {"witness A " + logVKey[:strings.LastIndex(logVKey, "+")] + "+AAAA\nquorum A\n", 1},
		"bad url":                {"witness A " + w1 + " ftp://x\nquorum A\n", 1},
		"extra field":            {"witness A " + w1 + " https://x y\nquorum A\n", 1},
	} {
		_, err := ParsePolicy([]byte(c.text))
		var pe *PolicyError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a *PolicyError", what, err)
			continue
		}
		if pe.Line != c.line {
			t.Errorf("%s: error on line %d (%v), want line %d", what, pe.Line, err, c.line)
		}
	}
}

// TestPolicyCosigners: cosignature lines count for the policy witness whose
// key (name and key ID) made them, and only once they verified.
func TestPolicyCosigners(t *testing.T) {
	ls, lv := testLog(t, "330000")
	signed, _ := ledger.SignCheckpoint(ls, "creditx.330000/ledger", 4, tlog.Hash{4})
	cp, _ := ledger.OpenCheckpoint(signed, "creditx.330000/ledger", lv)
	var text strings.Builder
	var lines [][]byte
	for i, n := range []string{"A", "B", "C"} {
		sk, vk := witnessVKey(t, "w.example/"+n)
		fmt.Fprintf(&text, "witness %s %s\n", n, vk)
		cs, err := NewCosigner(sk)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			l, _ := cs.Cosign(cp.Note)
			lines = append(lines, l)
		}
	}
	text.WriteString("group G 2 A B C\nquorum G\n")
	p, err := ParsePolicy([]byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(AddSignatures(signed, lines...), note.VerifierList(append([]note.Verifier{lv}, p.Verifiers()...)...))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Cosigners(n, nil)
	if !got["A"] || !got["B"] || got["C"] || !p.Satisfied(got) {
		t.Fatalf("cosigners %v", got)
	}
	if got := p.Cosigners(n, map[string]bool{"A": true}); p.Satisfied(got) {
		t.Fatalf("excluding A still satisfied: %v", got)
	}
}

// TestManifestWitnessPolicy: a manifest's witness_policy names an external
// witness; a member's checkpoint is witnessed when the policy's quorum is
// met, the member's own witness never counting for itself.
func TestManifestWitnessPolicy(t *testing.T) {
	m := testManifest(t, "310000", "320000", "330000")
	extSkey, extVKey := witnessVKey(t, "auditor.example/witness")
	m.WitnessPolicy = fmt.Sprintf("witness sh %s\nwitness js %s\nwitness zj %s\n"+
		"witness auditor %s https://auditor.example/witness/\ngroup members any sh js zj\ngroup q all members auditor\nquorum q\n",
		m.Members[0].WitnessVKey, m.Members[1].WitnessVKey, m.Members[2].WitnessVKey, extVKey)
	m2, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	ext := m2.ExternalWitnesses()
	if len(ext) != 1 || ext[0].Name != "auditor" || ext[0].URL != "https://auditor.example/witness" {
		t.Fatalf("external witnesses %+v", ext)
	}
	ls, lv := testLog(t, "310000")
	m2.Members[0].logV = lv // the test's log key for 310000
	signed, _ := ledger.SignCheckpoint(ls, "creditx.310000/ledger", 3, tlog.Hash{3})
	cp, _ := ledger.OpenCheckpoint(signed, "creditx.310000/ledger", lv)
	cosign := func(skey string) []byte {
		cs, err := NewCosigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := cs.Cosign(cp.Note)
		return l
	}
	// testManifest does not keep the members' witness signing keys:
	// replace 310000's and 320000's with known ones.
	var skeys []string
	for i, code := range []string{"310000", "320000"} {
		sk, vk, _ := GenerateWitnessKey(code, rand.Reader)
		m.Members[i].WitnessVKey = vk
		skeys = append(skeys, sk)
	}
	m.WitnessPolicy = strings.Replace(strings.Replace(m.WitnessPolicy, m2.Members[0].WitnessVKey, m.Members[0].WitnessVKey, 1), m2.Members[1].WitnessVKey, m.Members[1].WitnessVKey, 1)
	if m2, err = ParseManifest(encode(t, m)); err != nil {
		t.Fatal(err)
	}
	m2.Members[0].logV = lv
	own, other, auditor := cosign(skeys[0]), cosign(skeys[1]), cosign(extSkey)
	for what, c := range map[string]struct {
		lines [][]byte
		want  bool
	}{
		"member and auditor":  {[][]byte{other, auditor}, true},
		"members only":        {[][]byte{other}, false},
		"auditor only":        {[][]byte{auditor}, false},
		"own witness counted": {[][]byte{own, auditor}, false},
	} {
		names, ok, err := m2.Witnessed("310000", AddSignatures(signed, c.lines...))
		if err != nil || ok != c.want {
			t.Errorf("%s: Witnessed = %v %v %v, want %v", what, names, ok, err, c.want)
		}
	}
	m.WitnessPolicy = "quorum nobody\n"
	var me *ManifestError
	if _, err := ParseManifest(encode(t, m)); !errors.As(err, &me) || me.Field != "witness_policy" {
		t.Fatalf("bad policy: %v", err)
	}
}
