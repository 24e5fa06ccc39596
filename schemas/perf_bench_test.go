package schemas

import (
	"strings"
	"testing"
)

func BenchmarkParseSignedListing(b *testing.B) {
	_, priv := testKey(1)
	entry, err := Sign(sampleListing(), priv)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(entry)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSigned(entry); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNotice(b *testing.B) {
	enc, err := Encode(sampleNotice())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// The Ref benchmarks run the implementation before the fast paths
// (reference_test.go) on the same inputs, for a comparison under the same
// machine load.

func BenchmarkRefEncodeListing(b *testing.B) {
	l := sampleListing()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refEncode(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefDecodeListing(b *testing.B) {
	enc, err := Encode(sampleListing())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refDecode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefParseSignedListing(b *testing.B) {
	_, priv := testKey(1)
	entry, err := Sign(sampleListing(), priv)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(entry)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refParseSigned(entry); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckPlaintextListing: admission's plaintext scan of one listing.
func BenchmarkCheckPlaintextListing(b *testing.B) {
	l := sampleListing()
	want := len(CheckPlaintext(l))
	for b.Loop() {
		if errs := CheckPlaintext(l); len(errs) != want {
			b.Fatal(errs)
		}
	}
}

// BenchmarkCheckPlaintextCleanListing: the same scan of a listing it passes
// (the sample's id_masked has the earlier form, which CheckPlaintext refuses).
func BenchmarkCheckPlaintextCleanListing(b *testing.B) {
	l := sampleListing()
	l.Subject.ResponsiblePersons[0].Person.IDMasked = MaskCitizenID("11010519491231002X")
	if errs := CheckPlaintext(l); errs != nil {
		b.Fatal(errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if errs := CheckPlaintext(l); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkParseDecodeListing: admission's envelope parse and strict decode
// of one signed listing in one pass (ParseSigned then Decode:
// BenchmarkParseSignedListing + BenchmarkDecodeListing).
func BenchmarkParseDecodeListing(b *testing.B) {
	_, priv := testKey(1)
	entry, err := Sign(sampleListing(), priv)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ParseDecode(entry); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateAndPlaintextPadded: admission's two scans of a clean
// listing padded like creditx bench's (about 700 bytes of CJK text in the
// reason, doc numbers with 13-digit sequence numbers).
func BenchmarkValidateAndPlaintextPadded(b *testing.B) {
	l := sampleListing()
	l.Subject.ResponsiblePersons[0].Person.IDMasked = MaskCitizenID("11010519491231002X")
	l.Decision.DocNo = "列入决定〔2026〕1796609263001号"
	l.Reason += "。" + strings.Repeat("详", 230)
	v := NewValidator(nil)
	if err := v.Validate(l); err != nil {
		b.Fatal(err)
	}
	if errs := CheckPlaintext(l); errs != nil {
		b.Fatal(errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v.Validate(l) != nil || CheckPlaintext(l) != nil {
			b.Fatal("refused")
		}
	}
}
