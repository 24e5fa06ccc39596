package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	if got := LedgerOrigin("330000"); got != "creditx.330000/ledger" {
		t.Errorf("LedgerOrigin = %q", got)
	}
	if got := WitnessOrigin("310000"); got != "creditx.310000/witness" {
		t.Errorf("WitnessOrigin = %q", got)
	}
	if got := AccessOrigin("320100"); got != "creditx.320100/access" {
		t.Errorf("AccessOrigin = %q", got)
	}
	for _, o := range []string{LedgerOrigin("330000"), WitnessOrigin("310000"), AccessOrigin("320100"), "creditx.340000/a-1"} {
		code, name, err := ParseOrigin(o)
		if err != nil || OriginPrefix+code+"/"+name != o {
			t.Errorf("ParseOrigin(%q) = %q, %q, %v", o, code, name, err)
		}
	}
	if code, err := ParseLedgerOrigin("creditx.330000/ledger"); err != nil || code != "330000" {
		t.Errorf("ParseLedgerOrigin = %q, %v", code, err)
	}
	for o, want := range map[string]string{
		"":                       "does not start",
		"creditx330000/ledger":   "does not start",
		"Creditx.330000/ledger":  "does not start",
		"creditx.330000":         "no '/'",
		"creditx.33000/ledger":   "not 6 digits",
		"creditx.3300000/ledger": "not 6 digits",
		"creditx.33000a/ledger":  "not 6 digits",
		"creditx.030000/ledger":  "starts with 0",
		"creditx.330000/":        "1 to 32",
		"creditx.330000/" + strings.Repeat("a", 33): "1 to 32",
		"creditx.330000/Ledger":                     "other than",
		"creditx.330000/ledger/x":                   "other than",
	} {
		_, _, err := ParseOrigin(o)
		var oe *OriginError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOrigin(%q) = %v, want an OriginError saying %q", o, err, want)
		}
	}
	if _, err := ParseLedgerOrigin("creditx.330000/witness"); err == nil || !strings.Contains(err.Error(), "not a ledger") {
		t.Errorf("ParseLedgerOrigin(witness) = %v", err)
	}
}

// FuzzParseOrigin checks that ParseOrigin never panics, that what it accepts
// rebuilds to the same string, and that the ledger helpers agree with it.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"creditx.330000/ledger", "creditx.310000/witness", "creditx.320100/access",
		"creditx.000000/ledger", "creditx./ledger", "creditx.330000/", "x", "", "creditx.330000/le dger"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, name, err := ParseOrigin(s)
		if err != nil {
			var oe *OriginError
			if !errors.As(err, &oe) || oe.Origin != s {
				t.Fatalf("ParseOrigin(%q): error %v is not an OriginError for the input", s, err)
			}
			if _, lerr := ParseLedgerOrigin(s); lerr == nil {
				t.Fatalf("ParseLedgerOrigin(%q) accepted what ParseOrigin refused", s)
			}
			return
		}
		if OriginPrefix+code+"/"+name != s {
			t.Fatalf("ParseOrigin(%q) = %q, %q: does not rebuild the input", s, code, name)
		}
		lc, lerr := ParseLedgerOrigin(s)
		if (name == OriginLedger) != (lerr == nil) || lerr == nil && (lc != code || LedgerOrigin(lc) != s) {
			t.Fatalf("ParseLedgerOrigin(%q) = %q, %v; ParseOrigin name %q", s, lc, lerr, name)
		}
	})
}
