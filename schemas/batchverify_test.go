package schemas

import (
	"crypto/ed25519"
	"testing"

	"github.com/hdevalence/ed25519consensus"
)

// TestBatchVerifyAgreesWithConsensus: the per-key coalesced batch accepts
// exactly the batches ed25519consensus.BatchVerifier accepts: a valid batch
// from three keys, and each way of spoiling one item (R, s, s not
// canonical, the record, a signature moved to another entry of the same
// key, a key that did not sign).
func TestBatchVerifyAgreesWithConsensus(t *testing.T) {
	var pubs []ed25519.PublicKey
	var privs []ed25519.PrivateKey
	for i := range 3 {
		pub, priv := testKey(byte(10 + i))
		pubs, privs = append(pubs, pub), append(privs, priv)
	}
	var items []SigCheck
	for round := range 3 {
		for i, r := range allSamples() {
			k := (i + round) % 3
			entry, err := Sign(r, privs[k])
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSigned(entry)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, SigCheck{S: s, Pub: pubs[k]})
		}
	}
	consensus := func(items []SigCheck) bool {
		bv := ed25519consensus.NewBatchVerifier()
		for _, it := range items {
			bv.Add(it.Pub, signedMessage(it.S.Record), it.S.Sig)
		}
		return bv.Verify()
	}
	withSig := func(items []SigCheck, i int, f func(sig []byte)) []SigCheck {
		out := append([]SigCheck(nil), items...)
		s := *out[i].S
		s.Sig = append([]byte(nil), s.Sig...)
		f(s.Sig)
		out[i].S = &s
		return out
	}
	sameKey := -1
	for j := 1; j < len(items); j++ {
		if string(items[j].Pub) == string(items[0].Pub) {
			sameKey = j
			break
		}
	}
	if sameKey < 0 {
		t.Fatal("no two items signed by the same key")
	}
	cases := []struct {
		name  string
		items []SigCheck
		want  bool
	}{
		{"valid", items, true},
		{"R changed", withSig(items, 3, func(sig []byte) { sig[1] ^= 4 }), false},
		{"s changed", withSig(items, 4, func(sig []byte) { sig[40] ^= 1 }), false},
		{"s not canonical", withSig(items, 5, func(sig []byte) { sig[63] |= 0xf0 }), false},
		{"record changed", func() []SigCheck {
			out := append([]SigCheck(nil), items...)
			s := *out[6].S
			s.Record = append([]byte(nil), s.Record...)
			s.Record[len(s.Record)-2] ^= 1
			out[6].S = &s
			return out
		}(), false},
		{"signature of another entry of the same key", withSig(items, 0, func(sig []byte) { copy(sig, items[sameKey].S.Sig) }), false},
		{"other key", func() []SigCheck {
			out := append([]SigCheck(nil), items...)
			out[2].Pub = pubs[(indexOf(pubs, out[2].Pub)+1)%3]
			return out
		}(), false},
		{"one item", items[:1], true},
	}
	for _, tc := range cases {
		got, ref := batchVerify(tc.items), consensus(tc.items)
		if got != ref || got != tc.want {
			t.Errorf("%s: coalesced batch %v, ed25519consensus %v, want %v", tc.name, got, ref, tc.want)
		}
	}
}

func indexOf(pubs []ed25519.PublicKey, p ed25519.PublicKey) int {
	for i, q := range pubs {
		if string(q) == string(p) {
			return i
		}
	}
	return -1
}

// BenchmarkVerifyBatch128 is one pipeline batch (128 entries, one key):
// go test ./schemas -run '^$' -bench VerifyBatch128
func BenchmarkVerifyBatch128(b *testing.B) {
	pub, priv := testKey(20)
	var items []SigCheck
	for len(items) < 128 {
		for _, r := range allSamples() {
			entry, err := Sign(r, priv)
			if err != nil {
				b.Fatal(err)
			}
			s, _ := ParseSigned(entry)
			items = append(items, SigCheck{S: s, Pub: pub})
		}
	}
	items = items[:128]
	b.Run("coalesced", func(b *testing.B) {
		for b.Loop() {
			if !batchVerify(items) {
				b.Fatal("batch failed")
			}
		}
	})
	b.Run("ed25519consensus", func(b *testing.B) {
		for b.Loop() {
			bv := ed25519consensus.NewPreallocatedBatchVerifier(len(items))
			for _, it := range items {
				bv.Add(it.Pub, signedMessage(it.S.Record), it.S.Sig)
			}
			if !bv.Verify() {
				b.Fatal("batch failed")
			}
		}
	})
}
