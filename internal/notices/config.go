package notices

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
)

// Config configures joint punishment on this member's node (the sanctions:
// section of the node's configuration; node.SanctionsConfig).
type Config struct {
	// Agencies is the YAML directory of this member's executing agencies
	// (sanctions.LoadAgencies); default "keys/agencies.yaml". Without it the
	// node issues no notices but still answers checks.
	Agencies string `yaml:"agencies"`
	// IssuerKey is the credit office's record-signing key (PKCS#8 PEM) that
	// signs sanction notices; it must be a registered anchor or agency key of
	// this region. Default "keys/issuer.key".
	IssuerKey string `yaml:"issuer_key"`
	// IssuerUSCC is the credit office's USCC (the notices' submitter).
	IssuerUSCC string `yaml:"issuer_uscc"`
	// Catalogue is the measures catalogue file in force until a
	// catalogue_adopt is applied; empty means the embedded default.
	Catalogue string `yaml:"catalogue"`
	// Catalogues lists further catalogue files a catalogue_adopt governance
	// record may adopt (by SHA-256; catalogue.go). Every member should list
	// the same files. Default none: only the embedded and initial ones.
	Catalogues []string `yaml:"catalogues"`
	// LoopLog writes this member's sanction notices and their feedback to
	// its loop log, creditx.<code>/loop, instead of its ledger (issue 20;
	// loop.go). Default false: notices and feedback in the ledger, as
	// every ledger written before. Notices already in the ledger stay there
	// and are read, answered and audited as before.
	LoopLog bool `yaml:"loop_log,omitempty"`
	// LoopKey signs the loop log's checkpoints (read only with LoopLog).
	// Default "keys/loop.key".
	LoopKey string `yaml:"loop_key,omitempty"`
}

// Engines are what this member judges and issues with, loaded once at start.
type Engines struct {
	// Engine is the engine of the initial catalogue (embedded calendar).
	Engine *sanctions.Engine
	// Signer signs this member's notices; nil: no notices are issued (no
	// agency directory).
	Signer *client.Credentials
	// Cats are the known catalogues and Engines an engine for each, by digest.
	Cats    *sanctions.CatalogueSet
	Engines map[string]*sanctions.Engine
}

// Load reads the catalogues, the agency directory and the issuer key of cfg
// for region. A missing agency directory is not an error (no signer).
func Load(cfg Config, region string) (*Engines, error) {
	cat, err := catalogue.Default()
	if cfg.Catalogue != "" {
		f, ferr := os.Open(cfg.Catalogue)
		if ferr != nil {
			return nil, ferr
		}
		cat, err = catalogue.Load(f)
		f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("measures catalogue: %w", err)
	}
	cal, err := workdays.Default()
	if err != nil {
		return nil, err
	}
	s := &Engines{}
	ag := sanctions.NoAgencies(region)
	if b, err := os.ReadFile(cfg.Agencies); err == nil {
		if ag, err = sanctions.LoadAgencies(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("executing agencies %s: %w", cfg.Agencies, err)
		}
		k, err := client.ReadSignKey(cfg.IssuerKey)
		if err != nil {
			return nil, fmt.Errorf("sanctions issuer key: %w", err)
		}
		s.Signer = &client.Credentials{Dir: cfg.IssuerKey, SignKey: k}
		s.Signer.Identity.ID = cfg.IssuerUSCC
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	def, err := catalogue.Default()
	if err != nil {
		return nil, err
	}
	if s.Cats, err = sanctions.LoadCatalogueSet(cfg.Catalogues, def, cat); err != nil {
		return nil, fmt.Errorf("sanctions.catalogues: %w", err)
	}
	if s.Engine, err = sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: ag, Region: region, Issuer: cfg.IssuerUSCC}); err != nil {
		return nil, err
	}
	s.Engines = map[string]*sanctions.Engine{}
	for _, c := range s.Cats.All() {
		if s.Engines[c.Digest()], err = s.Engine.WithCatalogue(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Waker wakes long-polling readers whenever the FSM applied something.
// The zero value is ready to use.
type Waker struct {
	mu      sync.Mutex
	changed chan struct{} // closed by Notify; nil until the next Wait
}

// Notify wakes every reader waiting on a channel from Wait. Called after
// every applied batch: with nobody waiting it allocates nothing.
func (w *Waker) Notify() {
	w.mu.Lock()
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
	w.mu.Unlock()
}

// Wait returns a channel closed at the next Notify. Take it before
// reading: an apply after the read then wakes the reader.
func (w *Waker) Wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.changed == nil {
		w.changed = make(chan struct{})
	}
	return w.changed
}
