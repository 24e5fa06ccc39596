// Package trust says which keys to trust when verifying a ledger offline: each
// origin's note verifier key and, for credit ledgers, the credit office's
// anchor keys from which every agency key is derived (governance records in
// the ledger itself). It builds the per-entry checker that ledger.Verify and
// ledger.VerifyStore call: envelope, canonical form, schema validity, and an
// agency signature by a key that was registered and not revoked at the
// entry's index. A member's loop log (creditx.<code>/loop, loop.go) has a
// note key but no anchors or governance of its own: its entries are checked
// against the keyring its member's ledger Pipeline leaves (LoopKeys), with
// key validity judged by time (LoopNotChecked says what that misses).
//
// A trust file (trust.yaml) is:
//
//	origins:
//	  - origin: creditx.330000/ledger
//	    vkey: creditx.330000/ledger+1234abcd+AW...   # signed-note verifier key
//	    anchors:                                      # credit-office admin keys
//	      - {name: ..., uscc: ..., public_key: <base64 Ed25519>}
//	  - origin: creditx.330000/access                 # an access log: no anchors, entries are JSON
//	    vkey: ...
//	  - origin: creditx.330000/loop                   # a loop log: no anchors, keys of creditx.330000/ledger
//	    vkey: ...
package trust

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"
)

// FileName is the trust file written next to a generated ledger.
const FileName = "trust.yaml"

// Anchor is a credit-office admin key.
type Anchor struct {
	Name      string `yaml:"name"`
	USCC      string `yaml:"uscc"`
	Region    string `yaml:"region,omitempty"`
	PublicKey string `yaml:"public_key"`
}

// Origin is what is trusted for one log.
type Origin struct {
	Origin  string   `yaml:"origin"`
	VKey    string   `yaml:"vkey"`
	Anchors []Anchor `yaml:"anchors,omitempty"`
}

// File is a trust file.
type File struct {
	Origins []Origin `yaml:"origins"`
}

// Load reads a trust file strictly.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	d := yaml.NewDecoder(strings.NewReader(string(b)))
	d.KnownFields(true)
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, o := range f.Origins {
		if _, err := note.NewVerifier(o.VKey); err != nil {
			return nil, fmt.Errorf("%s: origins[%d].vkey: %w", path, i, err)
		}
	}
	return &f, nil
}

// Save writes f to path.
func (f *File) Save(path string) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ForDataDir finds the trust for a data directory: its trust.yaml if it has
// one, else a node's data directory (node.yaml with anchors, keys/log.vkey,
// keys/access.vkey, and keys/loop.vkey when node.yaml runs
// sanctions.loop_log; a loop key not named creditx.<region>/loop is an
// error).
func ForDataDir(dir string) (*File, error) {
	if f, err := Load(filepath.Join(dir, FileName)); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var cfg struct {
		Region    string   `yaml:"region"`
		Anchors   []Anchor `yaml:"anchors"`
		Sanctions struct {
			LoopLog bool `yaml:"loop_log"`
		} `yaml:"sanctions"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "node.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s has neither %s nor node.yaml: %w", dir, FileName, err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s/node.yaml: %w", dir, err)
	}
	f := &File{}
	for _, k := range []struct{ file, origin string }{{"log.vkey", schemas.LedgerOrigin(cfg.Region)}, {"access.vkey", schemas.AccessOrigin(cfg.Region)}} {
		v, err := os.ReadFile(filepath.Join(dir, "keys", k.file))
		if err != nil {
			return nil, err
		}
		o := Origin{Origin: k.origin, VKey: strings.TrimSpace(string(v))}
		if k.file == "log.vkey" {
			o.Anchors = cfg.Anchors
		}
		f.Origins = append(f.Origins, o)
	}
	// The loop log's key only when the node runs one (sanctions.loop_log):
	// every region is provisioned a loop key, and a trusted loop key tells
	// an auditor the member may keep notices there.
	if cfg.Sanctions.LoopLog {
		o, ok, err := DataDirLoop(dir)
		if err != nil {
			return nil, err
		}
		if want := schemas.LoopOrigin(cfg.Region); ok && o.Origin != want {
			return nil, fmt.Errorf("%s/keys/loop.vkey: key is named %q, want %q", dir, o.Origin, want)
		}
		if ok {
			f.Origins = append(f.Origins, o)
		}
	}
	return f, nil
}

// DataDirLoop is the trust for the loop log whose key is a node's data
// directory's keys/loop.vkey: the origin the key names (a key that is not a
// signed-note verifier key or not named creditx.<code>/loop is an error). ok
// is false when DIR has no keys/loop.vkey. verify uses it for a loop log
// DIR holds whose node no longer runs sanctions.loop_log.
func DataDirLoop(dir string) (Origin, bool, error) {
	path := filepath.Join(dir, "keys", "loop.vkey")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Origin{}, false, nil
	}
	if err != nil {
		return Origin{}, false, err
	}
	o := Origin{VKey: strings.TrimSpace(string(b))}
	v, err := o.Verifier()
	if err != nil {
		return Origin{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if o.Origin = v.Name(); !IsLoopOrigin(o.Origin) {
		return Origin{}, false, fmt.Errorf("%s: key is named %q, not a loop log creditx.<code>/loop", path, o.Origin)
	}
	return o, true, nil
}

// Lookup returns the trust for origin.
func (f *File) Lookup(origin string) (Origin, bool) {
	for _, o := range f.Origins {
		if o.Origin == origin {
			return o, true
		}
	}
	return Origin{}, false
}

// Verifier is the origin's note verifier.
func (o Origin) Verifier() (note.Verifier, error) { return note.NewVerifier(o.VKey) }

// IsAccessLog reports whether the origin is an access log (JSON entries, no
// agency signatures).
func (o Origin) IsAccessLog() bool { return strings.HasSuffix(o.Origin, "/access") }

// Checker returns the per-entry check for ledger verification, in index
// order (it keeps the keyring as governance records go by, so it must see
// every entry from 0 in order).
func (o Origin) Checker(opts *schemas.Options) (func(index uint64, entry []byte) error, error) {
	if o.IsAccessLog() {
		return func(index uint64, e []byte) error {
			var m map[string]any
			if err := json.Unmarshal(e, &m); err != nil {
				return fmt.Errorf("access log entry is not JSON: %w", err)
			}
			for _, k := range []string{"at", "role", "who", "what", "purpose"} {
				if _, ok := m[k]; !ok {
					return fmt.Errorf("access log entry lacks %q", k)
				}
			}
			return nil
		}, nil
	}
	kr, err := o.keyring()
	if err != nil {
		return nil, err
	}
	v := schemas.NewValidator(opts)
	return func(index uint64, e []byte) error {
		s, err := schemas.ParseSigned(e)
		if err != nil {
			return err
		}
		ki, err := kr.Lookup(s.KeyID, index)
		if err != nil {
			return fmt.Errorf("signing key %s at index %d: %w", s.KeyID, index, err)
		}
		if err := s.Verify(ki.Public); err != nil {
			return fmt.Errorf("signature by key %s (%s): %w", s.KeyID, ki.AgencyName, err)
		}
		rec, err := s.Decode()
		if err != nil {
			return err
		}
		if err := v.Validate(rec); err != nil {
			return fmt.Errorf("invalid %s: %w", rec.SchemaID(), err)
		}
		if sub := schemas.HeaderOf(rec).Submitter; sub != ki.AgencyUSCC {
			return fmt.Errorf("record names submitter %s but is signed with key %s of %s", sub, s.KeyID, ki.AgencyUSCC)
		}
		if g, ok := rec.(*schemas.Governance); ok {
			if !ki.Anchor {
				return fmt.Errorf("governance record signed with agency key %s, not a credit-office anchor", s.KeyID)
			}
			if err := kr.Apply(index, g, s.KeyID); err != nil {
				return fmt.Errorf("governance record not applicable: %w", err)
			}
		}
		return nil
	}, nil
}

// keyring is the origin's anchors as a fresh keyring.
func (o Origin) keyring() (*schemas.Keyring, error) {
	anchors, err := o.anchors()
	if err != nil {
		return nil, err
	}
	return schemas.NewKeyring(anchors)
}

// anchors decodes the origin's anchors.
func (o Origin) anchors() ([]schemas.Anchor, error) {
	var anchors []schemas.Anchor
	for i, a := range o.Anchors {
		pub, err := base64.StdEncoding.DecodeString(a.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("anchors[%d]: not a base64 Ed25519 key", i)
		}
		region := a.Region
		if region == "" {
			region, _, _ = schemas.ParseOrigin(o.Origin) // "" if not an origin
		}
		anchors = append(anchors, schemas.Anchor{KeyID: schemas.KeyID(pub), Public: pub, Name: a.Name, USCC: a.USCC, Region: region})
	}
	return anchors, nil
}
