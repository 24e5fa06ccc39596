package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, r := range allSamples() {
		t.Run(r.SchemaID(), func(t *testing.T) {
			b, err := Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(r)): %v", err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("Decode(Encode(r)) = %+v, want %+v", got, r)
			}
			b2, err := Encode(got)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("Encode not deterministic: %s vs %s (%v)", b, b2, err)
			}
		})
	}
}

// TestRoundTripProperty puts random strings (control characters, HTML
// characters, quotes, U+2028, astral runes) into every string field of a
// listing and checks Decode(Encode(r)) == r and Encode(Decode(b)) == b.
func TestRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ09 \"\\/<>&\u2028\u2029\x00\x01\x1f\t\n\r\u00e9中𝄞\u007f\ufffd")
	randString := func() string {
		n := 1 + rng.IntN(12)
		var sb strings.Builder
		for range n {
			sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for i := range 500 {
		l := sampleListing()
		l.Reason = randString()
		l.Subject.Name = randString()
		l.Remedies = randString()
		l.LegalBasis = append(l.LegalBasis, LegalBasis{Law: randString(), Article: randString()})
		l.Evidence[0].Name = randString()
		b, err := Encode(l)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("case %d: Decode(%q): %v", i, b, err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Fatalf("case %d: round trip changed the record", i)
		}
		if b2, _ := Encode(got); !bytes.Equal(b, b2) {
			t.Fatalf("case %d: re-encoding differs", i)
		}
	}
}

func TestCanonicalizeTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/listing_*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	domains := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(raw); err == nil {
			t.Errorf("%s: pretty-printed file accepted by strict Decode", f)
		}
		canon, err := Canonicalize(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		r, err := Decode(canon)
		if err != nil {
			t.Fatalf("%s: Decode(Canonicalize): %v", f, err)
		}
		if err := Validate(r, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		domains[r.(*Listing).Domain] = true
	}
	for _, dom := range []string{"environment", "tourism", "food_drug", "product_quality"} {
		if !domains[dom] {
			t.Errorf("no valid testdata listing for domain %s", dom)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Encode(sampleFeedback())
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := []struct {
		name, in, field, reason string
	}{
		{"whitespace", strings.Replace(s, `":`, `": `, 1), "", "not canonical"},
		{"trailing newline", s + "\n", "", "not canonical"},
		{"trailing data", s + "{}", "", "trailing data"},
		{"unsorted", `{"schema":"feedback/v1","acted_at":"2026-03-05T09:30:00Z"}`, "", "not canonical"},
		{"duplicate key", strings.Replace(s, `{"acted_at"`, `{"acted_at":"x","acted_at"`, 1), "acted_at", "duplicate key"},
		{"float", strings.Replace(s, `"index":1`, `"index":1.0`, 1), "notice.index", "not an integer"},
		{"exponent", strings.Replace(s, `"index":1`, `"index":1e0`, 1), "notice.index", "not an integer"},
		{"leading zero", strings.Replace(s, `"index":1`, `"index":01`, 1), "", "invalid JSON"},
		{"negative index", strings.Replace(s, `"index":1`, `"index":-1`, 1), "notice.index", "cannot be a uint64"},
		{"string index", strings.Replace(s, `"index":1`, `"index":"1"`, 1), "notice.index", "cannot be a uint64"},
		{"invalid utf8", strings.Replace(s, "CG-2026", "CG-\xff", 1), "", "invalid UTF-8"},
		{"unknown field", strings.Replace(s, `{"acted_at"`, `{"aaa":1,"acted_at"`, 1), "aaa", "unknown field"},
		{"unknown schema", strings.Replace(s, "feedback/v1", "feedback/v9", 1), "schema", "not a known schema"},
		{"schema not string", strings.Replace(s, `"feedback/v1"`, `7`, 1), "schema", "must be a string"},
		{"no schema", `{"region":"330000"}`, "schema", "required"},
		{"array", `[]`, "", "must be a JSON object"},
		{"empty", ``, "", "invalid JSON"},
		{"empty value present", strings.Replace(s, `"case_ref":"CG-2026-001"`, `"case_ref":""`, 1), "", "empty values must be omitted"},
		{"escaped ascii", strings.Replace(s, `"applied"`, `"\u0061pplied"`, 1), "", "not canonical"},
		{"html escape", strings.Replace(s, `CG-2026-001`, `CG\u003c`, 1), "", "not canonical"},
		{"time offset", strings.Replace(s, `2026-03-05T09:30:00Z`, `2026-03-05T17:30:00+08:00`, 1), "acted_at", "want RFC 3339 UTC"},
		{"time fraction", strings.Replace(s, `2026-03-05T09:30:00Z`, `2026-03-05T09:30:00.5Z`, 1), "acted_at", "want RFC 3339 UTC"},
		{"time lower z", strings.Replace(s, `2026-03-05T09:30:00Z`, `2026-03-05t09:30:00z`, 1), "", "want RFC 3339 UTC"},
		{"time not string", strings.Replace(s, `"2026-03-05T09:30:00Z"`, `1772703000`, 1), "", "must be a string"},
		{"too big", `{"schema":"feedback/v1","reason":"` + strings.Repeat("a", MaxRecordSize) + `"}`, "", "more than the maximum"},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), "", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode accepted %q as %+v", tt.in, r)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if (tt.field != "" && de.Field != tt.field) || !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("got field %q reason %q; want field %q reason containing %q", de.Field, de.Reason, tt.field, tt.reason)
			}
		})
	}
	if _, err := Decode([]byte(strings.Replace(s, "feedback/v1", "feedback/v9", 1))); !errors.Is(err, ErrUnknownSchema) {
		t.Errorf("unknown schema: %v, want ErrUnknownSchema", err)
	}
}

func TestDateTime(t *testing.T) {
	for _, bad := range []string{"2026-3-1", "2026-02-30", "20260301", "2026-03-01T00:00:00Z", " 2026-03-01"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"2026-03-01T08:00:00", "2026-03-01T08:00:00.000Z", "2026-03-01 08:00:00Z", "2026-03-01T08:00:60Z"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
	if got := tm("2026-03-01T08:00:00Z").Date().String(); got != "2026-03-01" {
		t.Errorf("Time.Date = %s", got)
	}
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// re-encodes to exactly the same bytes.
func FuzzDecode(f *testing.F) {
	for _, r := range allSamples() {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"listing/v1"}`))
	f.Add([]byte(`{"schema":"feedback/v1","notice":{"index":0}}`))
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
		if err != nil {
			t.Fatalf("Encode of decoded record: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Decode/Encode not the identity:\n in  %q\n out %q", b, out)
		}
		_ = Validate(r, nil) // must not panic
	})
}

func ExampleEncode() {
	fb := &Feedback{
		Header:  Header{Region: "310000", Submitter: "11310000425001324B", CreatedAt: NewTime(fixedNow)},
		Notice:  Ref{Origin: "creditx.330000/ledger", Index: 42, Hash: strings.Repeat("ab", 32)},
		Agency:  Agency{Name: "上海市财政局", USCC: "11310000425001324B"},
		Outcome: "applied",
		ActedAt: NewTime(fixedNow),
	}
	b, err := Encode(fb)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"acted_at":"2026-03-01T00:00:00Z","agency":{"name":"上海市财政局","uscc":"11310000425001324B"},"created_at":"2026-03-01T00:00:00Z","notice":{"hash":"abababababababababababababababababababababababababababababababab","index":42,"origin":"creditx.330000/ledger"},"outcome":"applied","region":"310000","schema":"feedback/v1","submitter":"11310000425001324B"}
}
