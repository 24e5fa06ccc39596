package selfservice

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
)

// The subject's Chinese page, /subject: a form to enter the token the credit
// office issued (kept in an HttpOnly, Secure, SameSite=Strict cookie for the
// token's lifetime), then the subject's listings, notices, objections and
// deadlines (the same view as GET /v1/subject, logged the same way), with an
// objection form per listing. No JavaScript: every action is a form POST to
// /subject answered with a redirect (303) or the page with field errors.

// Page is what the page "subject" shows besides the node's page header.
type Page struct {
	Self   *api.SubjectSelf
	Error  string
	Errors []api.FieldError
	Filed  string // index of the objection just filed
	Form   api.SubjectObjectionRequest
}

// ServePage is GET /subject.
func (d *Door) ServePage(w http.ResponseWriter, r *http.Request) {
	p := Page{Filed: r.URL.Query().Get("filed")}
	if _, err := r.Cookie(Cookie); err != nil && r.Header.Get("Authorization") == "" {
		d.Render(w, http.StatusOK, p) // the token form
		return
	}
	t, aerr := d.Token(r)
	if aerr != nil {
		p.Error = aerr.Error
		clearCookie(w)
		d.Render(w, aerr.Status, p)
		return
	}
	sv, ok := d.readSelf(w, r, t)
	if !ok {
		return
	}
	p.Self = sv
	w.Header().Set("Cache-Control", "no-store")
	d.Render(w, http.StatusOK, p)
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// ServePagePost is POST /subject: action login, logout or object.
func (d *Door) ServePagePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("action") {
	case "login":
		tok := strings.TrimSpace(r.PostForm.Get("token"))
		r.Header.Set("Authorization", "Bearer "+tok)
		t, aerr := d.Token(r)
		if aerr != nil {
			d.Render(w, aerr.Status, Page{Error: aerr.Error})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: Cookie, Value: tok, Path: "/", Expires: time.Unix(t.Expires, 0),
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/subject", http.StatusSeeOther)
	case "logout":
		clearCookie(w)
		http.Redirect(w, r, "/subject", http.StatusSeeOther)
	case "object":
		t, aerr := d.Token(r)
		if aerr != nil {
			d.Render(w, aerr.Status, Page{Error: aerr.Error})
			return
		}
		index, _ := strconv.ParseUint(r.PostForm.Get("index"), 10, 64)
		req := api.SubjectObjectionRequest{Origin: r.PostForm.Get("origin"), Index: index, Grounds: r.PostForm["grounds"], Statement: r.PostForm.Get("statement")}
		rc, aerr := d.File(r.Context(), t, req)
		if aerr != nil {
			sv, ok := d.readSelf(w, r, t)
			if !ok {
				return
			}
			d.Render(w, aerr.Status, Page{Self: sv, Error: aerr.Error, Errors: aerr.Errors, Form: req})
			return
		}
		http.Redirect(w, r, "/subject?filed="+strconv.FormatUint(rc.Index, 10), http.StatusSeeOther)
	default:
		http.Error(w, "action: want login, logout or object", http.StatusBadRequest)
	}
}
