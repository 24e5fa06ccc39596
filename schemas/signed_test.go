package schemas

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKeyID(t *testing.T) {
	pub := bytes.Repeat([]byte{7}, 32)
	// Computed with Python's hashlib, independently of this code.
	if got := KeyID(pub); got != "5907fcd4415dad17" {
		t.Errorf("KeyID = %s", got)
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv := testKey(1)
	otherPub, _ := testKey(2)
	for _, r := range allSamples() {
		entry, err := Sign(r, priv)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := Encode(r)
		want := `{"key":"` + KeyID(pub) + `","record":` + string(rec) + `,"sig":"`
		if !strings.HasPrefix(string(entry), want) || !strings.HasSuffix(string(entry), `"}`) {
			t.Fatalf("entry form: %s", entry)
		}
		s, err := ParseSigned(entry)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(pub); err != nil {
			t.Errorf("%s: Verify: %v", r.SchemaID(), err)
		}
		// The signature is over the domain-separated record bytes.
		if !ed25519.Verify(pub, append([]byte("creditx/record/v1\n"), rec...), s.Sig) {
			t.Error("signature is not over creditx/record/v1 || record")
		}
		if err := s.Verify(otherPub); err == nil {
			t.Error("verified under another key")
		}
		got, err := s.Decode()
		if err != nil || got.SchemaID() != r.SchemaID() {
			t.Errorf("Decode: %v", err)
		}
	}
}

func TestVerifyTampered(t *testing.T) {
	pub, priv := testKey(1)
	entry, err := Sign(sampleFeedback(), priv)
	if err != nil {
		t.Fatal(err)
	}
	// Change one byte of the record while keeping it canonical.
	tampered := bytes.Replace(entry, []byte(`"index":1`), []byte(`"index":2`), 1)
	s, err := ParseSigned(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(pub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered record: %v, want ErrBadSignature", err)
	}
	s, _ = ParseSigned(entry)
	s.Sig[0] ^= 1
	if err := s.Verify(pub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered signature: %v, want ErrBadSignature", err)
	}
}

func TestParseSignedRejects(t *testing.T) {
	_, priv := testKey(1)
	entry, err := Sign(sampleFeedback(), priv)
	if err != nil {
		t.Fatal(err)
	}
	e := string(entry)
	sig := e[len(e)-90 : len(e)-2]
	tests := []struct{ name, in, want string }{
		{"empty", "", "too short"},
		{"whitespace", strings.Replace(e, `"record":`, `"record": `, 1), "not canonical"},
		{"trailing newline", e + "\n", "sig"},
		{"upper-case key id", strings.Replace(e, e[8:24], strings.ToUpper("abcdef0123456789"), 1), "key"},
		{"reordered", `{"record":` + e[strings.Index(e, `"record":`)+9:], "starts with"},
		{"sig not base64", strings.Replace(e, sig, strings.Repeat("!", 88), 1), "sig"},
		{"sig url base64", strings.Replace(e, sig, strings.NewReplacer("+", "-", "/", "_").Replace(sig)+"", 1), "sig"},
		{"record not object", e[:35] + `[]` + e[len(e)-98:], "record"},
		{"record without schema", e[:35] + `{"a":1}` + e[len(e)-98:], "record.schema"},
		{"record unsorted", strings.Replace(strings.Replace(e, `{"acted_at":"2026-03-05T09:30:00Z",`, `{`, 1), `"created_at"`, `"acted_at":"2026-03-05T09:30:00Z","created_at"`, 1), "not canonical"},
		{"record duplicate key", strings.Replace(e, `"outcome":"applied"`, `"outcome":"applied","outcome":"refused"`, 1), "duplicate key"},
		{"invalid utf8", strings.Replace(e, "CG-2026", "CG-\xff", 1), "invalid UTF-8"},
		{"too big", e[:35] + `{"schema":"` + strings.Repeat("a", MaxEntrySize) + `"}` + e[len(e)-98:], "more than the maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSigned([]byte(tt.in))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("ParseSigned = %v, want *DecodeError", err)
			}
			if !strings.Contains(de.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", de.Error(), tt.want)
			}
		})
	}
	// A record of a schema adopted later still parses; Decode reports it.
	future := `{"key":"` + e[8:24] + `","record":{"schema":"listing/v2"},"sig":"` + sig + `"}`
	s, err := ParseSigned([]byte(future))
	if err != nil {
		t.Fatalf("future schema: %v", err)
	}
	if _, err := s.Decode(); !errors.Is(err, ErrUnknownSchema) {
		t.Errorf("Decode future schema: %v, want ErrUnknownSchema", err)
	}
}

func TestSignRejects(t *testing.T) {
	_, priv := testKey(1)
	if _, err := Sign(sampleFeedback(), priv[:10]); err == nil {
		t.Error("short private key accepted")
	}
	big := sampleFeedback()
	big.Reason = strings.Repeat("a", MaxEntrySize-300)
	if _, err := Sign(big, priv); err == nil || !strings.Contains(err.Error(), "maximum") {
		t.Errorf("oversized entry: %v", err)
	}
}

// FuzzParseSigned checks that ParseSigned never panics and that every
// accepted entry is reproduced exactly from its parts.
func FuzzParseSigned(f *testing.F) {
	_, priv := testKey(1)
	for _, r := range allSamples()[:4] {
		entry, err := Sign(r, priv)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(entry)
	}
	f.Add([]byte(`{"key":"0123456789abcdef","record":{"schema":"x"},"sig":"` + strings.Repeat("A", 86) + `=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSigned(b)
		if err != nil {
			return
		}
		again := `{"key":"` + s.KeyID + `","record":` + string(s.Record) + `,"sig":"` + base64.StdEncoding.EncodeToString(s.Sig) + `"}`
		if again != string(b) {
			t.Fatalf("entry not reproduced from its parts:\n in  %q\n out %q", b, again)
		}
		if len(s.Sig) != ed25519.SignatureSize || len(s.KeyID) != 16 {
			t.Fatalf("bad parts: %d-byte sig, key %q", len(s.Sig), s.KeyID)
		}
	})
}

func ExampleSign() {
	seed := bytes.Repeat([]byte{1}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed) // in production: the agency's key
	pub := priv.Public().(ed25519.PublicKey)

	rec := &ObjectionDecision{
		Header:    Header{Region: "330000", Submitter: "11330000002534129D", CreatedAt: NewTime(fixedNow)},
		Objection: Ref{Origin: "creditx.330000/ledger", Index: 7, Hash: strings.Repeat("0f", 32)},
		Decision:  "rejected",
		DecidedAt: NewTime(fixedNow),
		Authority: Agency{Name: "浙江省生态环境厅", USCC: "11330000002534129D"},
	}
	if err := Validate(rec, nil); err != nil {
		fmt.Println(err)
		return
	}
	entry, err := Sign(rec, priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := ParseSigned(entry)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("key", s.KeyID == KeyID(pub), "verify", s.Verify(pub))
	r, _ := s.Decode()
	fmt.Println(r.Kind(), r.(*ObjectionDecision).Decision)
	// Output:
	// key true verify <nil>
	// objection_decision rejected
}

// TestVerifyBatch: a batch of valid signatures (two keys) verifies; one
// changed signature, or a key that is not the entry's, is reported at its
// own position only, with the error Verify gives.
func TestVerifyBatch(t *testing.T) {
	pub1, priv1 := testKey(1)
	pub2, priv2 := testKey(2)
	var items []SigCheck
	for i, r := range allSamples() {
		priv, pub := priv1, pub1
		if i%2 == 1 {
			priv, pub = priv2, pub2
		}
		entry, err := Sign(r, priv)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSigned(entry)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, SigCheck{S: s, Pub: pub})
	}
	if len(items) < 4 {
		t.Fatalf("only %d samples", len(items))
	}
	for i, err := range VerifyBatch(items) {
		if err != nil {
			t.Fatalf("valid batch: item %d: %v", i, err)
		}
	}
	if errs := VerifyBatch(nil); len(errs) != 0 {
		t.Fatalf("empty batch: %v", errs)
	}
	for _, tc := range []struct {
		name  string
		spoil func(items []SigCheck) []SigCheck
		bad   int
		want  string
	}{
		{"signature changed", func(items []SigCheck) []SigCheck {
			s := *items[2].S
			s.Sig = append([]byte(nil), s.Sig...)
			s.Sig[5] ^= 1
			items[2].S = &s
			return items
		}, 2, ErrBadSignature.Error()},
		{"record changed", func(items []SigCheck) []SigCheck {
			s := *items[3].S
			s.Record = append([]byte(nil), s.Record...)
			s.Record[len(s.Record)-2] ^= 1
			items[3].S = &s
			return items
		}, 3, ErrBadSignature.Error()},
		{"other key", func(items []SigCheck) []SigCheck {
			items[1].Pub = pub1
			return items
		}, 1, "not"},
	} {
		errs := VerifyBatch(tc.spoil(slices.Clone(items)))
		for i, err := range errs {
			if (i == tc.bad) != (err != nil) {
				t.Errorf("%s: item %d: %v", tc.name, i, err)
			}
		}
		if errs[tc.bad] == nil || !strings.Contains(errs[tc.bad].Error(), tc.want) {
			t.Errorf("%s: item %d: %v, want %q", tc.name, tc.bad, errs[tc.bad], tc.want)
		}
	}
}

// parseThenDecode is what ParseDecode must return: ParseSigned, then Decode.
func parseThenDecode(b []byte) (*Signed, Record, error) {
	s, err := ParseSigned(b)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Decode()
	if err != nil {
		return s, nil, err
	}
	return s, r, nil
}

// FuzzParseDecode checks that ParseDecode returns what ParseSigned followed
// by Decode returns, for every input: the same entry parts, record and
// error, including where the envelope parses and the record does not.
func FuzzParseDecode(f *testing.F) {
	_, priv := testKey(1)
	for _, r := range allSamples() {
		entry, err := Sign(r, priv)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(entry)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkParseDecode(t, b) })
}

func checkParseDecode(t *testing.T, b []byte) {
	t.Helper()
	s, r, err := ParseDecode(b)
	ws, wr, werr := parseThenDecode(b)
	if !sameError(err, werr) || !reflect.DeepEqual(s, ws) || !reflect.DeepEqual(r, wr) {
		t.Fatalf("ParseDecode(%q) = %+v, %+v, %v\nParseSigned+Decode %+v, %+v, %v", b, s, r, err, ws, wr, werr)
	}
}

// TestParseDecodeMatches runs the differential check on every sample entry
// and on spoiled ones: each refusal ParseSigned or Decode gives comes back
// the same, at the same stage (no Signed where the envelope fails).
func TestParseDecodeMatches(t *testing.T) {
	_, priv := testKey(1)
	var inputs []string
	for _, r := range allSamples() {
		entry, err := Sign(r, priv)
		if err != nil {
			t.Fatal(err)
		}
		e := string(entry)
		inputs = append(inputs, e,
			strings.Replace(e, `"record":`, `"record": `, 1),          // not canonical
			strings.Replace(e, `"schema":"`, `"schema":"x`, 1),        // unknown schema
			strings.Replace(e, `,"schema":`, `,"zz":1,"schema":`, 1),  // unknown field
			strings.Replace(e, `"region":"330000"`, `"region":""`, 1), // empty value present
			e[:len(e)-2]+"=\"}", // bad sig
			strings.Replace(e, `"created_at":"`, `"created_at":"x`, 1), // bad time
			strings.Replace(e, `{"key":"`, `{"key":"A`, 1),             // bad key id
			e[:35]+`{"a":1}`+e[len(e)-98:],                             // no schema
		)
	}
	var decodeFails, envelopeFails int
	for _, in := range inputs {
		checkParseDecode(t, []byte(in))
		s, _, err := ParseDecode([]byte(in))
		switch {
		case err != nil && s == nil:
			envelopeFails++
		case err != nil:
			decodeFails++
		}
	}
	if decodeFails == 0 || envelopeFails == 0 {
		t.Fatalf("spoiled inputs: %d decode failures, %d envelope failures; want both kinds", decodeFails, envelopeFails)
	}
}

// TestDecodeListing: a listing decodes; any other kind of record is refused
// with an error naming the kind it is, and an entry that does not parse
// with ParseDecode's error; DecodeEntry agrees on each.
func TestDecodeListing(t *testing.T) {
	_, priv := testKey(1)
	var listings, others int
	for _, r := range allSamples() {
		entry, err := Sign(r, priv)
		if err != nil {
			t.Fatal(err)
		}
		l, err := DecodeListing(entry)
		if _, isListing := r.(*Listing); isListing {
			listings++
			if err != nil || l == nil {
				t.Fatalf("listing: %v", err)
			}
		} else {
			others++
			if err == nil || !strings.Contains(err.Error(), r.Kind()) {
				t.Fatalf("%s: err = %v, want it named", r.Kind(), err)
			}
		}
		if rec := DecodeEntry(entry); rec == nil || rec.Kind() != r.Kind() {
			t.Fatalf("DecodeEntry(%s) = %v", r.Kind(), rec)
		}
	}
	if listings == 0 || others == 0 {
		t.Fatalf("samples: %d listings, %d others; want both", listings, others)
	}
	if _, err := DecodeListing([]byte("not an entry")); err == nil {
		t.Fatal("garbage decoded as a listing")
	}
	if DecodeEntry([]byte("not an entry")) != nil {
		t.Fatal("garbage decoded as a record")
	}
}
