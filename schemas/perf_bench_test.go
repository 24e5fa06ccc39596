package schemas

import "testing"

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
