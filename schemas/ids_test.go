package schemas

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCheckUSCC(t *testing.T) {
	tests := []struct {
		code   string
		reason string // "" = valid
	}{
		{"91350100M000100Y43", ""}, // DOMAIN.md example
		{usccZJEnv, ""},
		{usccHZChem, ""},
		{"9132010060804321XM", ""},
		{"91110000600037341N", "check character is N, expected L"}, // DOMAIN.md example
		{"91350100M0001TGQXM", "check character is M, expected 1"}, // Fujian pilot, allowed only via allow-list
		{"91350100M000100Y4", "length 17, want 18"},
		{"91350100M000100Y433", "length 19, want 18"},
		{"", "length 0, want 18"},
		{"9135A100M000100Y43", "position 5 must be a digit (division code)"},
		{"91350100I000100Y43", "character 'I' is not allowed in a USCC"},
		{"91350100O000100Y43", "character 'O' is not allowed in a USCC"},
		{"91350100m000100Y43", "character 'm' at position 9 must be upper case"},
		{"91350100M000100Y53", "organisation code check character (position 17) is 5, expected 4"},
		{"91350100M000100Y4三", "character '三' is not allowed in a USCC"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := CheckUSCC(tt.code)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckUSCC(%q) = %v, want nil", tt.code, err)
				}
				return
			}
			var ie *IDError
			if !errors.As(err, &ie) {
				t.Fatalf("CheckUSCC(%q) = %v, want *IDError", tt.code, err)
			}
			if ie.Kind != IDKindUSCC || ie.Value != tt.code {
				t.Errorf("IDError kind/value = %s/%q", ie.Kind, ie.Value)
			}
			if !strings.Contains(ie.Reason, tt.reason) {
				t.Errorf("reason = %q, want %q", ie.Reason, tt.reason)
			}
		})
	}
}

func TestCheckUSCCAllowing(t *testing.T) {
	allow := DefaultUSCCAllowList()
	if err := CheckUSCCAllowing("91350100M0001TGQXM", allow); err != nil {
		t.Errorf("allow-listed Fujian pilot code rejected: %v", err)
	}
	if err := CheckUSCCAllowing("91110000600037341N", allow); err == nil {
		t.Error("code not on the allow-list accepted")
	}
	if err := CheckUSCCAllowing("91350100M0001TGQXM", USCCAllowList{}); err == nil {
		t.Error("empty allow-list accepted the pilot code")
	}
	// A fresh copy each time: changing one does not change the next.
	delete(allow, "91350100M0001TGQXM")
	if _, ok := DefaultUSCCAllowList()["91350100M0001TGQXM"]; !ok {
		t.Error("DefaultUSCCAllowList shares state between calls")
	}
	// Even on the list, a code must have the USCC alphabet and length.
	if err := CheckUSCCAllowing("bad", USCCAllowList{"bad": "test"}); err == nil {
		t.Error("malformed allow-listed code accepted")
	}
}

func TestCheckCitizenID(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		id     string
		reason string
	}{
		{"11010519491231002X", ""}, // DOMAIN.md example
		{"11010519491231002x", ""}, // lower-case x normalized
		{" 11010519491231002X ", ""},
		{"440307200002290013", ""}, // leap day 2000
		{"810000199001010019", ""}, // Hong Kong residence permit
		{"11010519491231002Y", "position 18 must be a digit or X"},
		{"110105194912310021", "check character is 1, expected X"},
		{"1101051949123100", "length 16, want 18"},
		{"11010519491231A02X", "position 15 must be a digit"},
		{"990105194912310020", "province prefix 99 does not exist"},
		{"660105194912310020", "province prefix 66 does not exist"},
		{"110105194902300020", "birth date 19490230 (positions 7-14) is not a calendar date"},
		{"440307190002290013", "birth date 19000229 (positions 7-14) is not a calendar date"}, // 1900 not a leap year
		{"110105189912310020", "birth date 18991231 is before 1900"},
		{"110105202703010020", "birth date 20270301 is in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := checkCitizenIDAt(tt.id, now)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var ie *IDError
			if !errors.As(err, &ie) || ie.Kind != IDKindCitizenID {
				t.Fatalf("got %v, want *IDError of kind citizen_id", err)
			}
			if !strings.Contains(ie.Reason, tt.reason) {
				t.Errorf("reason = %q, want %q", ie.Reason, tt.reason)
			}
		})
	}
}

func TestCheckDivision(t *testing.T) {
	tests := []struct {
		code, province string
		ok             bool
	}{
		{"310000", "310000", true}, {"320100", "320000", true}, {"330302", "330000", true}, {"340100", "340000", true},
		{"810000", "810000", true}, {"000000", "", false}, {"990000", "", false}, {"33010", "", false},
		{"3301OO", "", false}, {"3301000", "", false},
	}
	for _, tt := range tests {
		err := CheckDivision(tt.code)
		if (err == nil) != tt.ok {
			t.Errorf("CheckDivision(%q) = %v, want ok=%v", tt.code, err, tt.ok)
		}
		if got := ProvinceOf(tt.code); got != tt.province {
			t.Errorf("ProvinceOf(%q) = %q, want %q", tt.code, got, tt.province)
		}
	}
}

func TestDetectIDKind(t *testing.T) {
	tests := []struct {
		s    string
		want IDKind
	}{
		{"91350100M000100Y43", IDKindUSCC},
		{"91110000600037341N", IDKindUSCC}, // shape only: wrong check still a USCC
		{usccZJEnv, IDKindUSCC},
		{"11010519491231002X", IDKindCitizenID},
		{"11010519491231002x", IDKindCitizenID},
		{"440307200002290013", IDKindCitizenID},
		{"hello", IDKindUnknown},
		{"91350100M000100Y4", IDKindUnknown},
		{"9135010IM000100Y43", IDKindUnknown},
	}
	for _, tt := range tests {
		if got := DetectIDKind(tt.s); got != tt.want {
			t.Errorf("DetectIDKind(%q) = %s, want %s", tt.s, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	ids := []struct{ in, want string }{
		{"11010519491231002X", "11***************X"},
		{"11010519491231002x", "11***************X"},
		{"12345", "*****"},
	}
	for _, tt := range ids {
		if got := MaskCitizenID(tt.in); got != tt.want {
			t.Errorf("MaskCitizenID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	names := []struct{ in, want string }{
		{"张三丰", "张**"}, {"张三", "张*"}, {"欧阳娜娜", "欧***"}, {"张", "*"}, {"", ""}, {"Li Lei", "L*****"},
	}
	for _, tt := range names {
		if got := MaskName(tt.in); got != tt.want {
			t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCheckUSCC checks that CheckUSCC never panics, that its errors are
// *IDError, and that changing the check character of a valid code makes it
// invalid.
func FuzzCheckUSCC(f *testing.F) {
	for _, s := range []string{"91350100M000100Y43", "91110000600037341N", "91350100M0001TGQXM", "", "I", "913501000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckUSCC(s)
		if err != nil {
			var ie *IDError
			if !errors.As(err, &ie) || ie.Reason == "" {
				t.Fatalf("error %v is not an *IDError with a reason", err)
			}
			return
		}
		if DetectIDKind(s) != IDKindUSCC {
			t.Fatalf("valid USCC %q not detected as one", s)
		}
		for _, c := range usccAlphabet {
			if byte(c) == s[17] {
				continue
			}
			if CheckUSCC(s[:17]+string(c)) == nil {
				t.Fatalf("%q and %q both valid", s, s[:17]+string(c))
			}
		}
	})
}

// FuzzCheckCitizenID checks that CheckCitizenID never panics, that valid
// IDs have exactly one valid check character and mask to 18 characters.
func FuzzCheckCitizenID(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "440307200002290013", "", "000000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := CheckCitizenID(s); err != nil {
			var ie *IDError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *IDError", err)
			}
			return
		}
		n := NormalizeCitizenID(s)
		for _, c := range "0123456789X" {
			if byte(c) != n[17] && CheckCitizenID(n[:17]+string(c)) == nil {
				t.Fatalf("%q and %q both valid", n, n[:17]+string(c))
			}
		}
		if m := MaskCitizenID(s); len(m) != 18 || strings.Count(m, "*") != 15 || m[:2] != n[:2] || m[17] != n[17] {
			t.Fatalf("MaskCitizenID(%q) = %q", s, m)
		}
	})
}

func ExampleCheckUSCC() {
	for _, code := range []string{"91350100M000100Y43", "91110000600037341N"} {
		if err := CheckUSCC(code); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(code, "valid")
	}
	// Output:
	// 91350100M000100Y43 valid
	// invalid uscc "91110000600037341N": check character is N, expected L
}
