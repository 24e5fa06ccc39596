package node

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The subject's Chinese page, /subject: a form to enter the token the credit
// office issued (kept in an HttpOnly, Secure, SameSite=Strict cookie for the
// token's lifetime), then the subject's listings, notices, objections and
// deadlines (the same view as GET /v1/subject, logged the same way), with an
// objection form per listing. No JavaScript: every action is a form POST to
// /subject answered with a redirect (303) or the page with field errors.

type subjectPage struct {
	pageBase
	Self   *SubjectSelf
	Error  string
	Errors []FieldError
	Filed  string // index of the objection just filed
	Form   SubjectObjectionRequest
}

func (n *Node) handleSubjectPage(w http.ResponseWriter, r *http.Request) {
	p := subjectPage{pageBase: n.base("本人信用记录 My records"), Filed: r.URL.Query().Get("filed")}
	if _, err := r.Cookie(subjectCookie); err != nil && r.Header.Get("Authorization") == "" {
		n.render(w, "subject", p) // the token form
		return
	}
	t, aerr := n.subjectToken(r)
	if aerr != nil {
		p.Error = aerr.Error
		clearSubjectCookie(w)
		n.renderStatus(w, aerr.Status, "subject", p)
		return
	}
	sv, ok := n.readSubjectSelf(w, r, t)
	if !ok {
		return
	}
	p.Self = sv
	w.Header().Set("Cache-Control", "no-store")
	n.render(w, "subject", p)
}

func clearSubjectCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: subjectCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func (n *Node) handleSubjectPagePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("action") {
	case "login":
		tok := strings.TrimSpace(r.PostForm.Get("token"))
		r.Header.Set("Authorization", "Bearer "+tok)
		t, aerr := n.subjectToken(r)
		if aerr != nil {
			n.renderStatus(w, aerr.Status, "subject", subjectPage{pageBase: n.base("本人信用记录 My records"), Error: aerr.Error})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: subjectCookie, Value: tok, Path: "/", Expires: time.Unix(t.Expires, 0),
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/subject", http.StatusSeeOther)
	case "logout":
		clearSubjectCookie(w)
		http.Redirect(w, r, "/subject", http.StatusSeeOther)
	case "object":
		t, aerr := n.subjectToken(r)
		if aerr != nil {
			n.renderStatus(w, aerr.Status, "subject", subjectPage{pageBase: n.base("本人信用记录 My records"), Error: aerr.Error})
			return
		}
		index, _ := strconv.ParseUint(r.PostForm.Get("index"), 10, 64)
		req := SubjectObjectionRequest{Origin: r.PostForm.Get("origin"), Index: index, Grounds: r.PostForm["grounds"], Statement: r.PostForm.Get("statement")}
		rc, aerr := n.fileObjection(r.Context(), t, req)
		if aerr != nil {
			sv, ok := n.readSubjectSelf(w, r, t)
			if !ok {
				return
			}
			n.renderStatus(w, aerr.Status, "subject", subjectPage{pageBase: n.base("本人信用记录 My records"), Self: sv, Error: aerr.Error, Errors: aerr.Errors, Form: req})
			return
		}
		http.Redirect(w, r, "/subject?filed="+strconv.FormatUint(rc.Index, 10), http.StatusSeeOther)
	default:
		http.Error(w, "action: want login, logout or object", http.StatusBadRequest)
	}
}
