package node_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// schemaAdoption is a schema_adopt governance record of mb created at at,
// signed by its credit-office anchor (admin).
func (mb *member) schemaAdoption(t *testing.T, schema string, at time.Time) []byte {
	t.Helper()
	admin := mb.creds["admin"]
	g := &schemas.Governance{Header: schemas.Header{Region: mb.code, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(at)},
		Action: schemas.ActionSchemaAdopt, SchemaAdopt: &schemas.SchemaAdopt{Schema: schema}}
	e, err := admin.Sign(g)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// indexed reports whether mb's /v1/check finds the listing of subject uscc
// (that is, whether the listing is in mb's subject index).
func (mb *member) indexed(t *testing.T, uscc string) bool {
	t.Helper()
	var res node.CheckAnswer
	if err := mb.creds["auditor"].Get(context.Background(), mb.n.URL()+"/v1/check?subject="+url.QueryEscape(uscc), &res); err != nil {
		t.Fatalf("%s /v1/check: %v", mb.code, err)
	}
	return res.Result == "restricted" && len(res.Listings) > 0
}

func adopted(st *node.ExchangeStatus, schema string) bool {
	return slices.ContainsFunc(st.AdoptedSchemas, func(a node.AdoptedSchema) bool { return a.Schema == schema })
}

// TestExchangeSchemaAdoption: the manifest does not accept listing/v1, so
// the other members store Zhejiang's listing but do not index it (flagged
// unaccepted); one schema_adopt record is not a quorum; once a second
// member's record is mirrored, every member has adopted listing/v1, indexes
// the flagged listing (it leaves the unaccepted count) and indexes new ones.
// A record of a version this build cannot decode is refused at admission
// with the field record.schema.
func TestExchangeSchemaAdoption(t *testing.T) {
	ms, _ := startConsortiumWith(t, append([]provision.MemberSpec(nil), deltaMembers[:3]...), func(m *exchange.Manifest) {
		m.AcceptedSchemas = slices.DeleteFunc(m.AcceptedSchemas, func(s string) bool { return s == schemas.SchemaListing })
	})
	ctx := context.Background()
	sh, js, zj := ms["310000"], ms["320000"], ms["330000"]

	// Admission: a version this build cannot decode is a 422 naming record.schema.
	e0, _ := zj.listing(t, 0)
	v2 := bytes.Replace(e0, []byte(`"schema":"listing/v1"`), []byte(`"schema":"listing/v2"`), 1)
	_, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), v2)
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != http.StatusUnprocessableEntity || len(se.Body.Errors) != 1 || se.Body.Errors[0].Field != "record.schema" {
		t.Fatalf("listing/v2 submission: %v, want 422 naming record.schema", err)
	}

	e1, l1 := zj.listing(t, 1)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "converged", func() bool { return converged(t, ms) })
	for _, other := range []*member{sh, js} {
		m := other.mirror(t, "330000")
		if m.Unaccepted != 1 || m.UnacceptedSchemas[schemas.SchemaListing] != 1 {
			t.Fatalf("%s mirror of 330000 before adoption: %+v, want the listing flagged", other.code, m)
		}
		if other.indexed(t, l1.Subject.USCC) {
			t.Fatalf("%s indexed a listing of a schema the consortium does not accept", other.code)
		}
		if st := other.status(t); len(st.AdoptedSchemas) != 0 || slices.Contains(st.AcceptedSchemas, schemas.SchemaListing) {
			t.Fatalf("%s status before adoption: %+v", other.code, st)
		}
	}
	if !zj.indexed(t, l1.Subject.USCC) {
		t.Fatal("the origin does not index its own listing")
	}

	// One member's adoption (recorded twice) is not a quorum of three.
	before := zj.status(t).Size
	for i := range 2 {
		at := time.Now().Add(-time.Duration(i) * time.Minute) // two distinct entries
		if _, err := zj.creds["admin"].Submit(ctx, zj.n.URL(), zj.schemaAdoption(t, schemas.SchemaListing, at)); err != nil {
			t.Fatal(err)
		}
	}
	if got := zj.status(t).Size; got < before+2 {
		t.Fatalf("own ledger grew from %d to %d, want two adoption records", before, got)
	}
	eventually(t, 20*time.Second, "converged", func() bool { return converged(t, ms) })
	for _, mb := range ms {
		if st := mb.status(t); len(st.AdoptedSchemas) != 0 {
			t.Fatalf("%s adopted with one member's records: %+v", mb.code, st.AdoptedSchemas)
		}
	}
	if sh.indexed(t, l1.Subject.USCC) || sh.mirror(t, "330000").Unaccepted != 1 {
		t.Fatal("310000 indexed the listing without a quorum")
	}

	// Jiangsu's record completes the quorum (two of three).
	if _, err := js.creds["admin"].Submit(ctx, js.n.URL(), js.schemaAdoption(t, schemas.SchemaListing, time.Now())); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "everyone adopts listing/v1", func() bool {
		for _, mb := range ms {
			if !adopted(mb.status(t), schemas.SchemaListing) {
				return false
			}
		}
		return true
	})
	for _, other := range []*member{sh, js} {
		if m := other.mirror(t, "330000"); m.Unaccepted != 0 {
			t.Errorf("%s mirror of 330000 after adoption: %+v, want the flagged listing indexed", other.code, m)
		}
		if !other.indexed(t, l1.Subject.USCC) {
			t.Errorf("%s does not index the listing flagged before the adoption", other.code)
		}
	}

	// New listings are indexed on arrival.
	e2, l2 := zj.listing(t, 2)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e2); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "converged", func() bool { return converged(t, ms) })
	for _, other := range []*member{sh, js} {
		if !other.indexed(t, l2.Subject.USCC) {
			t.Errorf("%s does not index a listing mirrored after the adoption", other.code)
		}
		if m := other.mirror(t, "330000"); m.Unaccepted != 0 {
			t.Errorf("%s mirror of 330000: %+v", other.code, m)
		}
	}
}
