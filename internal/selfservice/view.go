package selfservice

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
	"golang.org/x/mod/sumdb/tlog"
)

// Self builds the subject's view at time at, and the keyed hashes of the
// natural persons it names.
func (d *Door) Self(t *subjecttoken.Token, at time.Time) (*api.SubjectSelf, []string, error) {
	sv := &api.SubjectSelf{Subject: t.Subject, Kind: t.Kind, Name: t.Name, Serial: t.Serial,
		Expires: time.Unix(t.Expires, 0).UTC().Format(time.RFC3339), Status: "not_listed", Listings: []api.SubjectListing{}}
	var persons []string
	if t.Kind == subjecttoken.Person {
		persons = append(persons, t.Subject)
	}
	err := d.Ledger.View(func(tx *ledger.ReadTx) error {
		for _, le := range d.Ledger.Listings(tx, t.Subject) {
			e, err := tx.Log(le.Origin).Entry(le.Index)
			if err != nil {
				return err
			}
			l, err := schemas.DecodeListing(e)
			if err != nil {
				continue
			}
			sl, err := d.listing(tx, t, le, e, l, at)
			if err != nil {
				return err
			}
			persons = append(persons, disclose.Persons(l)...)
			if sl.Restricts {
				sv.Status = "listed"
			}
			sv.Listings = append(sv.Listings, sl)
		}
		return nil
	})
	return sv, persons, err
}

func (d *Door) listing(tx *ledger.ReadTx, t *subjecttoken.Token, le Ref, e []byte, l *schemas.Listing, at time.Time) (api.SubjectListing, error) {
	lh := tlog.RecordHash(e)
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return api.SubjectListing{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(s.Record, &m); err != nil {
		return api.SubjectListing{}, err
	}
	disclose.StripPersonal(m)
	masked, _ := json.Marshal(m)
	sl := api.SubjectListing{Origin: le.Origin, Index: le.Index, LeafHash: hex.EncodeToString(lh[:]), As: "subject",
		Name: l.Subject.Name, Domain: l.Domain, Programme: l.Programme.Code, Authority: l.Authority.Name,
		ListedOn: l.ListedOn.String(), Until: l.PublicityEnd.String(), Record: masked,
		Objections: []api.SubjectObjection{}, Deadlines: []api.SubjectDeadline{}, Notices: []api.SubjectNotice{}}
	if le.Responsible {
		sl.As = "responsible_person"
	}
	if l.Subject.Person != nil {
		sl.Name = l.Subject.Person.NameMasked
	}
	h, eng, err := d.Ledger.History(tx, le, l)
	if err != nil {
		return api.SubjectListing{}, err
	}
	st, err := eng.State(h, at)
	if err != nil {
		sl.State, sl.Reason = "unknown", err.Error()
		return sl, nil
	}
	sl.State, sl.Reason, sl.Disclosed, sl.Restricts = st.State, st.Reason, st.Disclosed, st.Restricts
	sl.CanObject = st.State == sanctions.StateActive || st.State == sanctions.StateSuspended || st.State == "not_yet_listed"
	for _, o := range st.Objections {
		so := api.SubjectObjection{Origin: o.Ref.Origin, Index: o.Ref.Index, FiledAt: o.FiledAt.String(), Grounds: o.Grounds, Outcome: o.Outcome}
		if o.Decision != nil {
			so.Decision = fmt.Sprintf("%s#%d", o.Decision.Origin, o.Decision.Index)
		}
		sl.Objections = append(sl.Objections, so)
	}
	for _, dl := range st.Deadlines {
		sd := api.SubjectDeadline{What: dl.What, Objection: fmt.Sprintf("%s#%d", dl.Objection.Origin, dl.Objection.Index),
			Met: dl.Met, Overdue: dl.Overdue, Provisional: dl.Provisional, Unknown: dl.Unknown}
		if !dl.Due.IsZero() {
			sd.Due = dl.Due.String()
		}
		if !dl.Done.IsZero() {
			sd.Done = dl.Done.String()
		}
		sl.Deadlines = append(sl.Deadlines, sd)
	}
	for _, nt := range d.Ledger.Notices(tx, le) {
		if nt.Notice.Target.USCC != t.Subject && nt.Notice.Target.IDHash != t.Subject {
			continue // addressed to someone else (another responsible person)
		}
		ns := sanctions.NoticeStatus(nt.Effective, nt.Feedback, st, at)
		sl.Notices = append(sl.Notices, api.SubjectNotice{Origin: nt.Origin, Index: nt.Index, Agency: nt.Notice.ExecutingAgency.Name,
			Measure: nt.Notice.Measure.Text, Start: nt.Notice.Start.String(), End: nt.Notice.End.String(), State: ns.State})
	}
	return sl, nil
}

// ServeSelf is GET /v1/subject.
func (d *Door) ServeSelf(w http.ResponseWriter, r *http.Request) {
	t, aerr := d.Token(r)
	if aerr != nil {
		httpx.WriteErr(w, aerr)
		return
	}
	sv, ok := d.readSelf(w, r, t)
	if !ok {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, sv)
}

// readSelf builds the view and logs it as a personal-data read if it
// names a natural person; it writes the error answer and returns false on
// failure (nothing is sent unless the read was logged).
func (d *Door) readSelf(w http.ResponseWriter, r *http.Request, t *subjecttoken.Token) (*api.SubjectSelf, bool) {
	sv, persons, err := d.Self(t, time.Now())
	if err != nil {
		httpx.WriteErr(w, d.ReadError("subject "+t.Subject, err))
		return nil, false
	}
	if len(persons) > 0 && !d.LogPersons(w, r, Identity(t), "subject self-view "+t.Subject, persons, "subject_access") {
		return nil, false
	}
	return sv, true
}
