package sanctions

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/creditx/creditx/sanctions/catalogue"
)

// CatalogueSet is the set of measures catalogue versions a member knows,
// by SHA-256 of their file bytes (catalogue.Catalogue.Digest): the embedded
// default, the catalogue configured as the initial one, and every file
// listed for adoption. A catalogue_adopt governance record can only adopt
// a member of the set (node admission refuses another digest).
//
// Guarantees: two files with the same digest are the same catalogue (added
// once); two different digests with the same version are refused (a version
// names one text, catalogue package doc). A CatalogueSet is immutable after
// NewCatalogueSet and safe for concurrent use.
type CatalogueSet struct {
	byDigest map[string]*catalogue.Catalogue
	order    []*catalogue.Catalogue // version order, then digest
}

// NewCatalogueSet builds a set from catalogues (nil entries skipped).
func NewCatalogueSet(cats ...*catalogue.Catalogue) (*CatalogueSet, error) {
	s := &CatalogueSet{byDigest: map[string]*catalogue.Catalogue{}}
	byVersion := map[string]string{}
	var errs []error
	for _, c := range cats {
		if c == nil {
			continue
		}
		if _, ok := s.byDigest[c.Digest()]; ok {
			continue
		}
		if d, ok := byVersion[c.Version()]; ok {
			errs = append(errs, fmt.Errorf("sanctions: catalogue version %s has two texts (sha256 %s and %s); a changed file needs a new version", c.Version(), d, c.Digest()))
			continue
		}
		byVersion[c.Version()] = c.Digest()
		s.byDigest[c.Digest()] = c
		s.order = append(s.order, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(s.order, func(a, b *catalogue.Catalogue) int {
		return cmp.Or(cmp.Compare(a.Version(), b.Version()), cmp.Compare(a.Digest(), b.Digest()))
	})
	return s, nil
}

// LoadCatalogueSet loads every file in paths (catalogue.Load) and builds a
// set of them and extra. A file that does not load fails the whole set,
// naming the file.
func LoadCatalogueSet(paths []string, extra ...*catalogue.Catalogue) (*CatalogueSet, error) {
	cats := slices.Clone(extra)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("sanctions: measures catalogue %s: %w", p, err)
		}
		c, err := catalogue.Load(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("sanctions: measures catalogue %s: %w", p, err)
		}
		cats = append(cats, c)
	}
	return NewCatalogueSet(cats...)
}

// ByDigest returns the catalogue with SHA-256 digest (lower-case hex).
func (s *CatalogueSet) ByDigest(digest string) (*catalogue.Catalogue, bool) {
	c, ok := s.byDigest[digest]
	return c, ok
}

// ByVersion returns the catalogue of version v.
func (s *CatalogueSet) ByVersion(v string) (*catalogue.Catalogue, bool) {
	for _, c := range s.order {
		if c.Version() == v {
			return c, true
		}
	}
	return nil, false
}

// All returns the catalogues in version order.
func (s *CatalogueSet) All() []*catalogue.Catalogue { return slices.Clone(s.order) }

// WithCatalogue returns an engine configured as e but with catalogue c (a
// new engine: the measure tables are built from c). e is unchanged.
func (e *Engine) WithCatalogue(c *catalogue.Catalogue) (*Engine, error) {
	cfg := e.cfg
	cfg.Catalogue = c
	return NewEngine(cfg)
}
