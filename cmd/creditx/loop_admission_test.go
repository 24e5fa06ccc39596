package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// Issue 12 items 2-3 on a live node: listings that can yield no joint
// punishment as filed got OK receipts; each is now refused with a field
// error and nothing is written. A catalogue_adopt with an arbitrary hash is
// refused; the embedded catalogue's digest is accepted.
func TestAdmissionRefusesSilentFailures(t *testing.T) {
	n, dir := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agencies := filepath.Join(dir, "agencies")
	if err := n.SeedDev(ctx, agencies); err != nil {
		t.Fatal(err)
	}
	pub, err := client.LoadCredentials(filepath.Join(agencies, "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "sample", "listing", "--creds", filepath.Join(agencies, "publisher"), "--node", n.URL(), "--n", "3")
	if err != nil {
		t.Fatal(err)
	}
	sample := func() *schemas.Listing {
		rec, err := schemas.Decode(compact(t, out))
		if err != nil {
			t.Fatal(err)
		}
		return rec.(*schemas.Listing)
	}
	submit := func(l *schemas.Listing) error {
		e, err := pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pub.Submit(ctx, n.URL(), e)
		return err
	}
	if err := submit(sample()); err != nil {
		t.Fatalf("the valid sample listing was refused: %v", err)
	}
	cases := []struct {
		name, field string
		mut         func(l *schemas.Listing)
	}{
		{"unknown programme", "record.programme.code", func(l *schemas.Listing) { l.Programme.Code = "ZJ-NOPE" }},
		{"publicity to 2099", "record.publicity_end", func(l *schemas.Listing) { l.PublicityEnd = schemas.NewDate(2099, 12, 31) }},
		{"listed in 2099", "record.listed_on", func(l *schemas.Listing) {
			l.ListedOn, l.PublicityEnd = schemas.NewDate(2099, 1, 1), schemas.NewDate(2100, 1, 1)
		}},
		{"created in the future", "record.created_at", func(l *schemas.Listing) { l.CreatedAt = schemas.NewTime(time.Now().Add(48 * time.Hour)) }},
	}
	for _, c := range cases {
		l := sample()
		l.Reason += " " + c.name // a different record each time
		c.mut(l)
		if err := submit(l); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want a refusal on %s", c.name, err, c.field)
		}
	}

	admin, err := client.LoadCredentials(filepath.Join(agencies, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	adopt := func(version, sha string) error {
		g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
			Action: schemas.ActionCatalogueAdopt, CatalogueAdopt: &schemas.CatalogueAdopt{Version: version, SHA256: sha}}
		e, err := admin.Sign(g)
		if err != nil {
			t.Fatal(err)
		}
		_, err = admin.Submit(ctx, n.URL(), e)
		return err
	}
	if err := adopt(cat.Version(), strings.Repeat("ab", 32)); err == nil || !strings.Contains(err.Error(), "record.catalogue_adopt.sha256") {
		t.Errorf("arbitrary catalogue hash: %v", err)
	}
	if err := adopt("1999.1", cat.Digest()); err == nil || !strings.Contains(err.Error(), "record.catalogue_adopt.version") {
		t.Errorf("wrong version for the digest: %v", err)
	}
	if err := adopt(cat.Version(), cat.Digest()); err != nil {
		t.Errorf("the embedded catalogue's digest: %v", err)
	}
}
