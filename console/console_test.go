package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRender: a page is sent with the no-script policy and the status
// asked for; a page whose data does not fit its template is a 500 with
// nothing of the page.
func TestRender(t *testing.T) {
	p := New([]string{"fact_error"})
	w := httptest.NewRecorder()
	p.Render(w, http.StatusTeapot, "record", struct {
		Base
		Problem string
	}{Base{Title: "记录 <record>", Region: "330000"}, "无此记录"})
	if w.Code != http.StatusTeapot || !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("status %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	if b := w.Body.String(); !strings.Contains(b, "记录 &lt;record&gt;") || strings.Contains(b, "<record>") {
		t.Errorf("title not escaped: %.300s", b)
	}
	w = httptest.NewRecorder()
	p.Render(w, http.StatusOK, "status", struct{ Base }{})
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "<html") {
		t.Errorf("a template failure: %d %.200s", w.Code, w.Body.String())
	}
}

func TestLabels(t *testing.T) {
	for code, want := range map[string]string{"active": "公示中", "environment": "生态环境", "organisation": "组织", "no_such_code": "no_such_code"} {
		if got := Zh(code); got != want {
			t.Errorf("Zh(%q) = %q, want %q", code, got, want)
		}
	}
	if MemberCode("creditx.330000/ledger") != "330000" || MemberCode("x") != "x" {
		t.Error("MemberCode")
	}
}

// TestBarChart: the longest bar is full width, the others in proportion,
// one row each; all zero draws empty bars.
func TestBarChart(t *testing.T) {
	c := NewBarChart([]Bar{{Value: 10}, {Value: 5}, {Value: 0}})
	if c.Bars[0].W != 300 || c.Bars[1].W != 150 || c.Bars[2].W != 0 || c.Bars[2].Y != 52 || c.Height != 78 {
		t.Errorf("chart %+v", c)
	}
	if z := NewBarChart([]Bar{{Value: 0}}); z.Bars[0].W != 0 {
		t.Errorf("all zero: %+v", z)
	}
}
