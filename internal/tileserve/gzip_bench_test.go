package tileserve

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// listingBundle is an entry bundle of n signed synthetic listings.
func listingBundle(tb testing.TB, n int) []byte {
	tb.Helper()
	_, priv, _ := ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	auth := schemas.Agency{Name: "浙江省生态环境厅", USCC: synth.EnterpriseUSCC("330000", 1)}
	var entries [][]byte
	for i := range n {
		l, err := synth.Listing(uint64(i), synth.Options{Region: "330000", Authority: auth})
		if err != nil {
			tb.Fatal(err)
		}
		e, err := schemas.Sign(l, priv)
		if err != nil {
			tb.Fatal(err)
		}
		entries = append(entries, e)
	}
	b, err := ledger.MarshalEntryBundle(entries)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkGzipLevel compresses a partial (16 entries) and a full (256)
// bundle of signed listings at BestSpeed (1) and the default (-1): "new"
// with a writer made per bundle (before), "pooled" as gzipBytes does.
func BenchmarkGzipLevel(b *testing.B) {
	for _, n := range []int{16, 256} {
		data := listingBundle(b, n)
		for _, level := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
			b.Run(fmt.Sprintf("entries=%d/level=%d/new", n, level), func(b *testing.B) {
				var out int
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					var buf bytes.Buffer
					zw, _ := gzip.NewWriterLevel(&buf, level)
					zw.Write(data)
					zw.Close()
					out = buf.Len()
				}
				b.ReportMetric(float64(out)/float64(len(data)), "ratio")
				b.ReportMetric(float64(out), "gzbytes")
			})
			b.Run(fmt.Sprintf("entries=%d/level=%d/pooled", n, level), func(b *testing.B) {
				var out int
				var c BundleCache
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					out = len(c.gzipBytes(data, level))
				}
				b.ReportMetric(float64(out)/float64(len(data)), "ratio")
				b.ReportMetric(float64(out), "gzbytes")
			})
		}
	}
}
