package access

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/pki"
)

// TestEncodeFieldOrder: the entry's members come in the documented order,
// and NewRecord's entries pass Check.
func TestEncodeFieldOrder(t *testing.T) {
	id := pki.Identity{Role: pki.RoleAudit, ID: "11330000MB0000039X", Name: "auditor", Serial: "0a"}
	rec := NewRecord(id, time.Date(2026, 12, 6, 8, 0, 0, 5, time.UTC), "record creditx.330000/ledger/12", "audit", nil)
	b, err := Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"at":"2026-12-06T08:00:00.000000005Z","role":"audit","who":"11330000MB0000039X","name":"auditor","cert_serial":"0a","what":"record creditx.330000/ledger/12","purpose":"audit","nonce":"` + rec.Nonce + `"}`
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	if err := Check(b); err != nil {
		t.Fatal(err)
	}
	rec.Lookup = &limits.LookupCharge{Key: limits.LookupIdentity(id), Day: "2026-12-06", N: 2, Cap: limits.DailyLookupCap}
	b, _ = Encode(rec)
	if s := string(b); !strings.Contains(s, `"nonce":"`+rec.Nonce+`","lookup":{`) || !strings.HasSuffix(s, "}}") {
		t.Fatalf("lookup not last: %s", b)
	}
	if err := Check(b); err != nil {
		t.Fatal(err)
	}
}

// TestCheckPurpose: codes of the catalogue pass; an empty or unknown one is
// a 400 that lists the codes.
func TestCheckPurpose(t *testing.T) {
	for p := range Purposes() {
		if perr := CheckPurpose(p, "x"); perr != nil {
			t.Errorf("%s: %v", p, perr.Error)
		}
	}
	for _, p := range []string{"", "curiosity"} {
		perr := CheckPurpose(p, "reading personal data")
		if perr == nil || perr.Status != http.StatusBadRequest || !strings.Contains(perr.Error, "approval, audit") {
			t.Errorf("%q: %+v", p, perr)
		}
	}
}

func TestPlaintextIDs(t *testing.T) {
	if k := PlaintextIDs("11010519491231002X", " 110105194912310021 ", "h1:00", "91330000MA0000000X"); k != 2 {
		t.Fatalf("%d plaintext IDs, want 2", k)
	}
}

// TestWriteLookupCap: a spent cap is 429 with Retry-After until 16:00 UTC.
func TestWriteLookupCap(t *testing.T) {
	w := httptest.NewRecorder()
	day := limits.LookupDay(time.Now())
	WriteLookupCap(w, &limits.LookupCapError{Key: "k", Day: day, Used: 1000, Asked: 1, Cap: 1000})
	secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 86400 {
		t.Fatalf("%d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if LookupRefusal(nil) != nil {
		t.Fatal("a nil error refused")
	}
}

// TestShortHashes: keyed hashes are cut to "h1:" and 32 hex digits,
// sorted, without duplicates.
func TestShortHashes(t *testing.T) {
	long := "h1:" + strings.Repeat("ab", 32)
	got := ShortHashes([]string{long, "h1:00", long[:len(long)-1] + "c"})
	want := []string{"h1:00", "h1:" + strings.Repeat("ab", 16)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}
