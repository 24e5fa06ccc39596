package schemas

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const (
	testBase   = "1111111111111111111111111111111111111111111111111111111111111111"
	testResult = "2222222222222222222222222222222222222222222222222222222222222222"
)

func sampleJoin() *Governance {
	pub, _ := testKey(7)
	return &Governance{Header: hdr(), Action: ActionManifestPropose, ManifestPropose: &ManifestPropose{
		Base: testBase, SHA256: testResult,
		Change: &MembershipChange{Op: ChangeJoin, Code: "330100", Name: "杭州市", Endpoint: "https://hz.example:8443",
			LogVKey:     "creditx.330300/ledger+f21b640e+AY81dDL4iZ8U7fabZtSokzwsFo9x59mGOCVJPNB80B6A",
			WitnessVKey: "witness.330300+99b15baa+AZIdEr0qesCNBxbYzs5X0BzisQIRIwT1b1NpzRXeXsoM",
			CA:          "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
			Anchors:     []ChangeAnchor{{Name: "杭州市信用办", USCC: usccHZChem, PublicKey: base64.StdEncoding.EncodeToString(pub)}}},
	}}
}

func TestMembershipRecords(t *testing.T) {
	for _, r := range []Record{sampleJoin(),
		&Governance{Header: hdr(), Action: ActionManifestApprove, ManifestApprove: &ManifestApprove{SHA256: testResult}},
		&Governance{Header: hdr(), Action: ActionManifestPropose, ManifestPropose: &ManifestPropose{Base: testBase, SHA256: testResult,
			Change: &MembershipChange{Op: ChangeLeave, Code: "340000"}}},
		&Governance{Header: hdr(), Action: ActionManifestPropose, ManifestPropose: &ManifestPropose{Base: testBase, SHA256: testResult,
			Manifest: "version: 2\n"}},
	} {
		if err := Validate(r, nil); err != nil {
			t.Errorf("valid record refused: %v", err)
		}
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b); err != nil {
			t.Errorf("Decode(Encode): %v", err)
		}
	}
	p := func(f func(*ManifestPropose)) func() Record {
		return func() Record { g := sampleJoin(); f(g.ManifestPropose); return g }
	}
	for _, c := range []struct {
		name        string
		rec         func() Record
		field, rule string
	}{
		{"no base", p(func(m *ManifestPropose) { m.Base = "" }), "manifest_propose.base", "required"},
		{"bad hash", p(func(m *ManifestPropose) { m.SHA256 = "ABC" }), "manifest_propose.sha256", "sha256hex"},
		{"same hash", p(func(m *ManifestPropose) { m.SHA256 = testBase }), "manifest_propose.sha256", "ne"},
		{"both change and manifest", p(func(m *ManifestPropose) { m.Manifest = "version: 2" }), "manifest_propose.change", "required_without"},
		{"neither", p(func(m *ManifestPropose) { m.Change = nil }), "manifest_propose.change", "required_without"},
		{"bad op", p(func(m *ManifestPropose) { m.Change.Op = "merge" }), "manifest_propose.change.op", "oneof"},
		{"bad code", p(func(m *ManifestPropose) { m.Change.Code = "33010" }), "manifest_propose.change.code", "division"},
		{"join without ca", p(func(m *ManifestPropose) { m.Change.CA = "" }), "manifest_propose.change.ca", "required_if"},
		{"join http endpoint", p(func(m *ManifestPropose) { m.Change.Endpoint = "http://hz.example:80" }), "manifest_propose.change.endpoint", "startswith"},
		{"join bad vkey", p(func(m *ManifestPropose) { m.Change.LogVKey = "nope" }), "manifest_propose.change.log_vkey", "vkey"},
		{"join bad anchor", p(func(m *ManifestPropose) { m.Change.Anchors[0].PublicKey = "AAAA" }), "manifest_propose.change.anchors[0].public_key", "ed25519pub"},
		{"leave with endpoint", p(func(m *ManifestPropose) {
			m.Change.Op = ChangeLeave
			m.Change.Name, m.Change.LogVKey, m.Change.WitnessVKey, m.Change.CA, m.Change.Anchors = "", "", "", "", nil
		}), "manifest_propose.change.endpoint", "excluded_unless"},
		{"rotate_keys with nothing", p(func(m *ManifestPropose) { m.Change = &MembershipChange{Op: ChangeRotateKeys, Code: "330100"} }), "manifest_propose.change", "required_if"},
		{"approve bad hash", func() Record {
			return &Governance{Header: hdr(), Action: ActionManifestApprove, ManifestApprove: &ManifestApprove{SHA256: "x"}}
		}, "manifest_approve.sha256", "sha256hex"},
		{"approve without params", func() Record { return &Governance{Header: hdr(), Action: ActionManifestApprove} }, "manifest_approve", "required_if"},
	} {
		err := Validate(c.rec(), nil)
		var ve ValidationErrors
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want field errors", c.name, err)
			continue
		}
		found := false
		for _, fe := range ve {
			found = found || fe.Field == c.field && fe.Rule == c.rule
		}
		if !found {
			t.Errorf("%s: got %v, want %s (%s)", c.name, ve, c.field, c.rule)
		}
	}
}

// FuzzManifestPropose decodes and validates arbitrary governance records
// seeded with the membership actions: no panic, Decode errors are
// *DecodeError, and every accepted record re-encodes to the same bytes.
func FuzzManifestPropose(f *testing.F) {
	for _, r := range []Record{sampleJoin(),
		&Governance{Header: hdr(), Action: ActionManifestApprove, ManifestApprove: &ManifestApprove{SHA256: testResult}}} {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.Replace(b, []byte(`"join"`), []byte(`"leave"`), 1))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		out, err := Encode(r)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Decode/Encode not the identity: %v", err)
		}
		if err := Validate(r, nil); err != nil {
			var ve ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("validation error %T is not ValidationErrors", err)
			}
			for _, fe := range ve {
				if strings.TrimSpace(fe.Field) == "" && fe.Rule == "" {
					t.Fatalf("field error without field or rule: %v", fe)
				}
			}
		}
	})
}
