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
