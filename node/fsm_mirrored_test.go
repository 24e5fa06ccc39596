package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestMirroredSchemaIsEntrySchema: the schema id the FSM's schema filter
// reads from a mirrored entry's parse is the one exchange.EntrySchema reads
// from its bytes, for a record that decodes (listing, governance), one of
// a schema this build does not decode, and bytes that are no entry.
func TestMirroredSchemaIsEntrySchema(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	auth := schemas.Agency{Name: "x", USCC: synth.EnterpriseUSCC("330000", 1)}
	l, err := synth.Listing(3, synth.Options{Region: "330000", Authority: auth, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	listing, err := schemas.Sign(l, priv)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	unknown := []byte(`{"key":"` + schemas.KeyID(pub) + `","record":{"schema":"nope/v9"},"sig":"` +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + `"}`)
	for name, tc := range map[string]struct {
		e    []byte
		want string
	}{
		"listing": {listing, schemas.SchemaListing},
		"unknown": {unknown, "nope/v9"},
		"garbage": {[]byte("not json"), "?"},
		"empty":   {[]byte(`{"key":"k","record":{},"sig":""}`), "?"},
	} {
		got := mirroredSchema(index.Parse(tc.e), tc.e)
		if got != tc.want || got != exchange.EntrySchema(tc.e) {
			t.Errorf("%s: mirroredSchema %q, EntrySchema %q, want %q", name, got, exchange.EntrySchema(tc.e), tc.want)
		}
	}
}
