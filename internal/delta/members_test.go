package delta

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMembers(t *testing.T) {
	all := Members(0)
	if len(all) != 45 || Max != 45 {
		t.Fatalf("%d members, want 45", len(all))
	}
	seen := map[string]bool{}
	cities := map[string]int{}
	for i, m := range all {
		if len(m.Code) != 6 || strings.Trim(m.Code, "0123456789") != "" {
			t.Errorf("%d: code %q is not six digits", i, m.Code)
			continue
		}
		if seen[m.Code] {
			t.Errorf("code %s twice", m.Code)
		}
		seen[m.Code] = true
		prov := m.Code[:2]
		if !strings.Contains(" 31 32 33 34 ", " "+prov+" ") {
			t.Errorf("%s: not in the Delta's provinces", m.Code)
		}
		switch {
		case m.Province():
			if i >= 4 || !(strings.HasSuffix(m.Zh, "省") || m.Zh == "上海市") {
				t.Errorf("%s %s: provinces come first and are named 省 (or 上海市)", m.Code, m.Zh)
			}
		case m.Code[4:] != "00":
			t.Errorf("%s: a prefecture-level code ends in 00", m.Code)
		default:
			if !strings.HasSuffix(m.Zh, "市") && !strings.HasSuffix(m.Zh, "市辖区") {
				t.Errorf("%s %s: a city's name ends in 市", m.Code, m.Zh)
			}
			cities[prov]++
		}
		if m.En == "" || !utf8.ValidString(m.Zh) || m.Zh == "" {
			t.Errorf("%s: missing name", m.Code)
		}
	}
	for prov, want := range map[string]int{"32": 13, "33": 11, "34": 16, "31": 1} {
		if cities[prov] != want {
			t.Errorf("province %s0000: %d cities, want %d", prov, cities[prov], want)
		}
	}
	for code, zh := range map[string]string{"320100": "南京市", "330100": "杭州市", "340100": "合肥市", "341000": "黄山市", "341800": "宣城市", "321300": "宿迁市", "331100": "丽水市"} {
		if m, ok := Lookup(code); !ok || m.Zh != zh {
			t.Errorf("Lookup(%s) = %v, %v; want %s", code, m, ok, zh)
		}
	}
	if _, ok := Lookup("341400"); ok {
		t.Error("341400 (巢湖, abolished 2011) is listed")
	}
	if all[len(all)-1].Code != "310100" {
		t.Error("the Shanghai city-level stand-in must be last (N <= 44 uses real divisions only)")
	}
	if got := Members(16); len(got) != 16 || got[0].Code != "310000" {
		t.Errorf("Members(16) = %d members starting %v", len(got), got[0])
	}
}
