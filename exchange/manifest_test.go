package exchange

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testManifest builds a valid manifest of the given members.
func testManifest(t testing.TB, codes ...string) *Manifest {
	t.Helper()
	m := &Manifest{Version: 1, AcceptedSchemas: []string{"listing/v1", "governance/v1"}}
	for i, code := range codes {
		ca, err := pki.NewCA(code, "test CA "+code, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, lv, err := ledger.GenerateKey(schemas.LedgerOrigin(code), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, wv, err := GenerateWitnessKey(code, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var loopV string
		if i%2 == 0 { // every other member has a loop log: the key is optional
			if _, loopV, err = ledger.GenerateKey(schemas.LoopOrigin(code), rand.Reader); err != nil {
				t.Fatal(err)
			}
		}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		m.Members = append(m.Members, Member{Code: code, Name: "member " + code, Endpoint: "https://127.0.0.1:" + string(rune('1'+i)) + "443",
			LogVKey: lv, LoopVKey: loopV, WitnessVKey: wv, CA: string(ca.CertPEM()), Status: StatusActive,
			Anchors: []Anchor{{Name: "office", USCC: "11" + code + "MB0000010X", PublicKey: base64.StdEncoding.EncodeToString(pub)}}})
	}
	return m
}

func encode(t testing.TB, m *Manifest) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseManifestValid(t *testing.T) {
	m := testManifest(t, "310000", "320000", "330000", "340000")
	got, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if got.WitnessQuorum != DefaultWitnessQuorum {
		t.Errorf("witness_quorum = %d, want the default %d", got.WitnessQuorum, DefaultWitnessQuorum)
	}
	zj, ok := got.MemberByOrigin("creditx.330000/ledger")
	if !ok || zj.Code != "330000" || zj.LogVerifier().Name() != "creditx.330000/ledger" || zj.WitnessVerifier().Name() != "creditx.330000/witness" {
		t.Fatalf("MemberByOrigin = %+v, %v", zj, ok)
	}
	if lv := zj.LoopVerifier(); lv == nil || lv.Name() != "creditx.330000/loop" || zj.LoopOrigin() != lv.Name() {
		t.Errorf("330000's loop verifier = %v, want one named creditx.330000/loop", lv)
	}
	if sh, _ := got.MemberByOrigin("creditx.320000/ledger"); sh.LoopVerifier() != nil {
		t.Error("320000 has no loop_vkey but a loop verifier")
	}
	if others := got.Others("330000"); len(others) != 3 || others[0].Code != "310000" {
		t.Errorf("Others = %d members", len(others))
	}
	if !got.Accepts("listing/v1") || got.Accepts("listing/v2") {
		t.Error("Accepts does not follow accepted_schemas")
	}
	// The round trip keeps the meaning.
	again, err := ParseManifest(encode(t, got))
	if err != nil || len(again.Members) != 4 || again.WitnessQuorum != got.WitnessQuorum {
		t.Fatalf("re-parse: %v", err)
	}
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	os.WriteFile(path, encode(t, m), 0o644)
	if _, err := LoadManifest(path); err != nil {
		t.Fatal(err)
	}
}

func TestParseManifestErrors(t *testing.T) {
	other := testManifest(t, "350000")
	tests := []struct {
		name, field string
		mutate      func(m *Manifest)
	}{
		{"version", "version", func(m *Manifest) { m.Version = 0 }},
		{"negative quorum", "witness_quorum", func(m *Manifest) { m.WitnessQuorum = -1 }},
		{"quorum too large", "witness_quorum", func(m *Manifest) { m.WitnessQuorum = 3 }},
		{"no schemas", "accepted_schemas", func(m *Manifest) { m.AcceptedSchemas = nil }},
		{"bad schema", "accepted_schemas[0]", func(m *Manifest) { m.AcceptedSchemas[0] = "listing/1" }},
		{"duplicate schema", "accepted_schemas[1]", func(m *Manifest) { m.AcceptedSchemas[1] = m.AcceptedSchemas[0] }},
		{"no members", "members", func(m *Manifest) { m.Members = nil }},
		{"code", "members[0].code", func(m *Manifest) { m.Members[0].Code = "31000" }},
		{"duplicate code", "members[1].code", func(m *Manifest) {
			m.Members[1].Code, m.Members[1].LogVKey, m.Members[1].WitnessVKey, m.Members[1].CA = m.Members[0].Code, m.Members[0].LogVKey, m.Members[0].WitnessVKey, m.Members[0].CA
		}},
		{"name", "members[0].name", func(m *Manifest) { m.Members[0].Name = "" }},
		{"endpoint scheme", "members[0].endpoint", func(m *Manifest) { m.Members[0].Endpoint = "http://127.0.0.1:1443" }},
		{"endpoint path", "members[0].endpoint", func(m *Manifest) { m.Members[0].Endpoint = "https://127.0.0.1:1443/x" }},
		{"endpoint port", "members[0].endpoint", func(m *Manifest) { m.Members[0].Endpoint = "https://127.0.0.1" }},
		{"duplicate endpoint", "members[1].endpoint", func(m *Manifest) { m.Members[1].Endpoint = m.Members[0].Endpoint }},
		{"log key", "members[0].log_vkey", func(m *Manifest) { m.Members[0].LogVKey = "nonsense" }},
		{"log key of another member", "members[0].log_vkey", func(m *Manifest) { m.Members[0].LogVKey = m.Members[1].LogVKey }},
		{"loop key", "members[0].loop_vkey", func(m *Manifest) { m.Members[0].LoopVKey = "nonsense" }},
		{"loop key is the ledger's", "members[0].loop_vkey", func(m *Manifest) { m.Members[0].LoopVKey = m.Members[0].LogVKey }},
		{"loop key of another member", "members[0].loop_vkey", func(m *Manifest) { m.Members[0].LoopVKey = m.Members[2].LoopVKey }},
		{"witness key", "members[0].witness_vkey", func(m *Manifest) { m.Members[0].WitnessVKey = m.Members[0].LogVKey }},
		{"ca not pem", "members[0].ca", func(m *Manifest) { m.Members[0].CA = "x" }},
		{"ca of another region", "members[0].ca", func(m *Manifest) { m.Members[0].CA = other.Members[0].CA }},
		{"two certificates", "members[0].ca", func(m *Manifest) { m.Members[0].CA += m.Members[1].CA }},
		{"status", "members[0].status", func(m *Manifest) { m.Members[0].Status = "paused" }},
		{"no anchors", "members[0].anchors", func(m *Manifest) { m.Members[0].Anchors = nil }},
		{"anchor key", "members[0].anchors[0].public_key", func(m *Manifest) { m.Members[0].Anchors[0].PublicKey = "AAAA" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := testManifest(t, "310000", "320000", "330000")
			tc.mutate(m)
			_, err := ParseManifest(encode(t, m))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *ManifestError", err)
			}
			if me.Field != tc.field {
				t.Errorf("field = %q (%v), want %q", me.Field, err, tc.field)
			}
		})
	}
	for name, doc := range map[string]string{
		"unknown field": "version: 1\nwitness_quorum: 1\nfoo: 2\n",
		"two documents": string(encode(t, testManifest(t, "310000", "320000"))) + "---\nversion: 2\n",
		"not yaml":      "{",
		"wrong type":    "version: one\n",
	} {
		if _, err := ParseManifest([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "manifest: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(encode(f, testManifest(f, "310000", "320000")))
	f.Add([]byte("version: 1\nmembers: []\n"))
	f.Add([]byte("version: 1\naccepted_schemas: [listing/v1]\nmembers: [{code: \"310000\"}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error is not a *ManifestError: %v", err)
			}
			return
		}
		// An accepted manifest re-encodes to an equivalent one.
		again, err := ParseManifest(encode(t, m))
		if err != nil {
			t.Fatalf("accepted manifest does not re-parse: %v", err)
		}
		if len(again.Members) != len(m.Members) || again.Version != m.Version || again.WitnessQuorum != m.WitnessQuorum {
			t.Fatal("re-parsed manifest differs")
		}
	})
}

func TestEffective(t *testing.T) {
	m := testManifest(t, "310000", "320000", "330000", "330100", "320500")
	m.Founders = []string{"310000", "320000", "330000"}
	m, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	hz, _ := m.Member("330100")
	sz, _ := m.Member("320500")
	approve := func(by string, mb *Member) Approval {
		return Approval{By: by, Code: mb.Code, Endpoint: mb.Endpoint, LogVKey: mb.LogVKey, WitnessVKey: mb.WitnessVKey}
	}
	wrongKey := approve("320000", hz)
	wrongKey.LogVKey = sz.LogVKey
	tests := []struct {
		name      string
		approvals []Approval
		want      []string
	}{
		{"founders only", nil, []string{"310000", "320000", "330000"}},
		{"one of three approvals is not a quorum", []Approval{approve("310000", hz)}, []string{"310000", "320000", "330000"}},
		{"two of three", []Approval{approve("310000", hz), approve("320000", hz)}, []string{"310000", "320000", "330000", "330100"}},
		{"same approver twice", []Approval{approve("310000", hz), approve("310000", hz)}, []string{"310000", "320000", "330000"}},
		{"approval of other keys", []Approval{approve("310000", hz), wrongKey}, []string{"310000", "320000", "330000"}},
		{"self approval", []Approval{approve("310000", hz), approve("330100", hz)}, []string{"310000", "320000", "330000"}},
		{"approved member approves the next", []Approval{approve("310000", hz), approve("320000", hz),
			approve("310000", sz), approve("320000", sz), approve("330100", sz)}, []string{"310000", "320000", "330000", "330100", "320500"}},
		{"removal by two of three others", []Approval{{By: "310000", Code: "330000", Remove: true}, {By: "320000", Code: "330000", Remove: true}},
			[]string{"310000", "320000"}},
		{"removal by one", []Approval{{By: "310000", Code: "330000", Remove: true}}, []string{"310000", "320000", "330000"}},
		{"votes of a non-member", []Approval{approve("999999", hz), approve("310000", hz)}, []string{"310000", "320000", "330000"}},
	}
	for _, tc := range tests {
		got := m.Effective(tc.approvals)
		if len(got) != len(tc.want) {
			t.Errorf("%s: effective = %v, want %v", tc.name, got, tc.want)
			continue
		}
		for _, c := range tc.want {
			if !got[c] {
				t.Errorf("%s: %s not effective (%v)", tc.name, c, got)
			}
		}
	}
	if !m.IsFounder("310000") || m.IsFounder("330100") {
		t.Error("IsFounder")
	}
	m.Founders = []string{"310000", "999999"}
	if _, err := ParseManifest(encode(t, m)); err == nil {
		t.Error("unknown founder accepted")
	}
}

func TestAccepted(t *testing.T) {
	m := testManifest(t, "310000", "320000", "330000", "330100", "340000")
	m.Founders = []string{"310000", "320000", "330000"}
	m.Members[4].Status = StatusRemoved
	m.AcceptedSchemas = []string{"listing/v1", "governance/v1"}
	m, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	hz, _ := m.Member("330100")
	approveHZ := []Approval{
		{By: "310000", Code: hz.Code, Endpoint: hz.Endpoint, LogVKey: hz.LogVKey, WitnessVKey: hz.WitnessVKey},
		{By: "320000", Code: hz.Code, Endpoint: hz.Endpoint, LogVKey: hz.LogVKey, WitnessVKey: hz.WitnessVKey},
	}
	remove320 := []Approval{{By: "310000", Code: "320000", Remove: true}, {By: "330000", Code: "320000", Remove: true}}
	adopt := func(schema string, by ...string) []Adoption {
		var out []Adoption
		for _, b := range by {
			out = append(out, Adoption{By: b, Schema: schema})
		}
		return out
	}
	base := []string{"listing/v1", "governance/v1"}
	tests := []struct {
		name      string
		approvals []Approval
		adoptions []Adoption
		want      []string
		refused   []string // reasons' schema ids, in order
	}{
		{"manifest only", nil, nil, base, nil},
		{"quorum: two of three founders", nil, adopt("repair/v1", "310000", "330000"), append(base, "repair/v1"), nil},
		{"one of three is not a quorum", nil, adopt("repair/v1", "310000"), base, nil},
		{"duplicate approvals from one member count once", nil, adopt("repair/v1", "310000", "310000", "310000"), base, nil},
		{"a candidate not yet approved does not count", nil, adopt("repair/v1", "310000", "330100"), base, nil},
		{"an approved member counts, and raises the quorum", approveHZ, adopt("repair/v1", "310000", "330100"), base, nil},
		{"three of four effective members", approveHZ, adopt("repair/v1", "310000", "330100", "320000"), append(base, "repair/v1"), nil},
		{"a member removed by status does not count", nil, adopt("repair/v1", "310000", "340000"), base, nil},
		{"a member removed by member_remove does not count", remove320, adopt("repair/v1", "310000", "320000"), base, nil},
		{"after a removal, one of two is not a quorum", remove320, adopt("repair/v1", "330000"), base, nil},
		{"after a removal, two of two are", remove320, adopt("repair/v1", "330000", "310000"), append(base, "repair/v1"), nil},
		{"a code that is not a member does not count", nil, adopt("repair/v1", "310000", "999999"), base, nil},
		{"votes for different versions do not add up", nil, append(adopt("repair/v1", "310000"), adopt("feedback/v1", "320000")...), base, nil},
		{"adopting an accepted version changes nothing", nil, adopt("listing/v1", "310000", "320000"), base, nil},
		{"malformed id refused", nil, adopt("repair/1", "310000", "320000"), base, []string{"repair/1", "repair/1"}},
		{"upper case refused", nil, adopt("Repair/v1", "310000"), base, []string{"Repair/v1"}},
		{"leading zero refused", nil, adopt("repair/v01", "310000"), base, []string{"repair/v01"}},
		{"empty refused", nil, adopt("", "310000"), base, []string{""}},
		{"unknown version refused", nil, adopt("listing/v2", "310000", "320000", "330000"), base, []string{"listing/v2", "listing/v2", "listing/v2"}},
		{"a refused adoption does not spoil a good one", nil, append(adopt("listing/v2", "310000"), adopt("repair/v1", "310000", "320000")...),
			append(base, "repair/v1"), []string{"listing/v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, refused := m.Accepted(tc.approvals, tc.adoptions)
			if len(got) != len(tc.want) {
				t.Errorf("accepted = %v, want %v", got, tc.want)
			}
			for _, s := range tc.want {
				if !got[s] {
					t.Errorf("%s not accepted (%v)", s, got)
				}
			}
			if len(refused) != len(tc.refused) {
				t.Fatalf("refused = %v, want %d refusals", refused, len(tc.refused))
			}
			for i, err := range refused {
				var ae *AdoptionError
				if !errors.As(err, &ae) {
					t.Fatalf("refusal %v is not an *AdoptionError", err)
				}
				if ae.Field != "schema_adopt.schema" || !strings.Contains(ae.Reason, `"`+tc.refused[i]+`"`) || ae.By == "" {
					t.Errorf("refusal %d = %+v, want field schema_adopt.schema naming %q", i, ae, tc.refused[i])
				}
			}
			// The manifest alone is unchanged.
			if m.Accepts("repair/v1") {
				t.Error("Accepts changed")
			}
		})
	}
}

// tlog-cosignature: "Ed25519 public keys MAY be encoded as vkeys with
// signature type 0x04"; signed-note: "The key name and ID MUST match those
// used in the signatures". The manifest's witness_vkey is that vkey, and an
// older manifest's type 0x01 vkey still reads as the same witness.
func TestWitnessVKeyMatchesCosignatureLines(t *testing.T) {
	skey, vkey, err := GenerateWitnessKey("310000", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name, rest, _ := strings.Cut(vkey, "+")
	id, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	if name != schemas.WitnessOrigin("310000") || len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("witness vkey %q is not a type 0x04 cosignature vkey", vkey)
	}
	cs, err := NewCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	ls, lv := testLog(t, "330000")
	signed, _ := ledger.SignCheckpoint(ls, "creditx.330000/ledger", 3, tlog.Hash{1})
	cp, _ := ledger.OpenCheckpoint(signed, "creditx.330000/ledger", lv)
	line, err := cs.Cosign(cp.Note)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(string(line), "— "+name+" ")))
	if got := fmt.Sprintf("%08x", raw[:4]); got != id {
		t.Fatalf("cosignature line key ID %s, vkey key ID %s", got, id)
	}
	v, err := ParseWitnessVKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(AddSignatures(signed, line), note.VerifierList(lv, v)); err != nil {
		t.Fatalf("cosignature does not verify with the published vkey: %v", err)
	}
	// Older manifests published the type 0x01 vkey of the same key.
	pub := key[1:]
	legacyKey := append([]byte{0x01}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), legacyKey...))
	legacy := fmt.Sprintf("%s+%08x+%s", name, h[:4], base64.StdEncoding.EncodeToString(legacyKey))
	lvk, err := ParseWitnessVKey(legacy)
	if err != nil || lvk.KeyHash() != v.KeyHash() {
		t.Fatalf("legacy vkey: %v", err)
	}
	if c, err := CosignatureVKey(legacy); err != nil || c != vkey {
		t.Fatalf("CosignatureVKey(legacy) = %q, %v; want %q", c, err, vkey)
	}
	m := testManifest(t, "310000", "320000")
	m.Members[0].WitnessVKey = "creditx.310000/witness+00000000+" + key64
	b, _ := m.Encode()
	var me *ManifestError
	if _, err := ParseManifest(b); !errors.As(err, &me) || me.Field != "members[0].witness_vkey" {
		t.Fatalf("a witness vkey with a wrong key ID: %v", err)
	}
}
