package exchange

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/internal/sigmemo"
	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"
)

// Manifest is the consortium manifest: who the members are, how to reach
// them, their keys, and the agreed policy. It is a YAML document:
//
//	version: 3                  # integer >= 1; a new manifest must have a larger version
//	witness_quorum: 2           # cosignatures by OTHER members that make a checkpoint witnessed; default 2
//	accepted_schemas:           # record schema ids indexed by every member, e.g. listing/v1;
//	                            # governance may adopt more (schema_adopt, see Accepted)
//	  - listing/v1
//	witness_policy: |           # optional C2SP tlog-policy (see Policy); if set, it replaces
//	                            # witness_quorum: a member's checkpoint is witnessed when the
//	                            # cosignatures of the policy's witnesses, less the member's own
//	                            # witness, meet its quorum. Witnesses outside the consortium
//	                            # (an auditor's, a public network's) carry the URL of their
//	                            # tlog-witness submission prefix; members push to them over HTTPS
//	                            # without a client certificate
//	  witness 310000 creditx.310000/witness+<id>+<key>
//	  witness auditor auditor.example/witness+<id>+<key> https://auditor.example/witness
//	  group members 2 310000 320000 330000
//	  group all-of-it all members auditor
//	  quorum all-of-it
//	founders: ["310000", ...]   # optional; default: every active member. Other active
//	                            # members take part only once approved (see Effective)
//	members:
//	  - code: "330000"          # GB/T 2260 province-level code; unique
//	    name: Zhejiang
//	    endpoint: https://zj.example:8443   # HTTP/3 (UDP) and HTTPS (TCP) on this port
//	    log_vkey: creditx.330000/ledger+<hash>+<key>        # signed-note Ed25519 vkey
//	    witness_vkey: creditx.330000/witness+<hash>+<key>   # tlog-cosignature vkey: type 0x04 (Ed25519
//	                            # cosignature/v1) with the key ID of its cosignature lines; a type 0x01
//	                            # Ed25519 vkey of an older manifest is read as the same key (ParseWitnessVKey)
//	    ca: |                   # PEM of the member's region CA
//	      -----BEGIN CERTIFICATE-----
//	    anchors:                # the member's credit-office admin keys
//	      - {name: ..., uscc: ..., public_key: <std base64 Ed25519>}
//	    status: active          # active | removed
//
// Unknown fields are errors. Versioning rule: fields may only be added with a
// default that keeps the meaning of older manifests; a change of meaning
// needs a new top-level key.
type Manifest struct {
	Version         int      `yaml:"version"`
	WitnessQuorum   int      `yaml:"witness_quorum"`
	AcceptedSchemas []string `yaml:"accepted_schemas"`
	WitnessPolicy   string   `yaml:"witness_policy,omitempty"`
	Founders        []string `yaml:"founders,omitempty"`
	Members         []Member `yaml:"members"`

	policy *Policy // parsed WitnessPolicy, nil if none
	// With a policy, fixed by validate: the policy's name for each
	// member's witness (member code -> policy name), and the policy
	// names that are a member's witness. Witnessed runs on every push
	// and every status read: no vkey is decoded there.
	policyNameOf  map[string]string
	policyMembers map[string]bool
}

// Member is one consortium member as the manifest describes it.
type Member struct {
	Code     string `yaml:"code"`
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"`
	LogVKey  string `yaml:"log_vkey"`
	// LoopVKey, optional, verifies the checkpoints of the member's loop log
	// (creditx.<code>/loop: its sanction notices and their feedback, issue
	// 20); a member without one has no loop log the others can follow.
	LoopVKey    string   `yaml:"loop_vkey,omitempty"`
	WitnessVKey string   `yaml:"witness_vkey"`
	CA          string   `yaml:"ca"`
	Anchors     []Anchor `yaml:"anchors"`
	Status      string   `yaml:"status"`

	logV     note.Verifier
	loopV    note.Verifier
	witnessV note.Verifier
	caCert   *x509.Certificate
}

// Anchor is a credit-office admin key of a member.
type Anchor struct {
	Name      string `yaml:"name"`
	USCC      string `yaml:"uscc"`
	PublicKey string `yaml:"public_key"`
}

// Member statuses.
const (
	StatusActive  = "active"
	StatusRemoved = "removed"
)

// DefaultWitnessQuorum is the witness_quorum of a manifest that sets none.
const DefaultWitnessQuorum = 2

// MaxManifestSize bounds a manifest file.
const MaxManifestSize = 1 << 20

// ManifestError says which field of a manifest is wrong and why.
type ManifestError struct {
	Field  string // e.g. "members[2].log_vkey"
	Reason string
}

func (e *ManifestError) Error() string { return "manifest: " + e.Field + ": " + e.Reason }

func merr(field, format string, args ...any) error {
	return &ManifestError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// LoadManifest reads and parses a manifest file.
func LoadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest parses and validates a manifest (see Manifest for the
// format). Every error is a *ManifestError.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, merr("", "%d bytes, the limit is %d", len(b), MaxManifestSize)
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	var m Manifest
	if err := d.Decode(&m); err != nil {
		return nil, merr("", "not a valid YAML manifest: %v", err)
	}
	var extra any
	if err := d.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, merr("", "more than one YAML document")
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version < 1 {
		return merr("version", "must be an integer >= 1, got %d", m.Version)
	}
	if m.WitnessQuorum == 0 {
		m.WitnessQuorum = DefaultWitnessQuorum
	}
	if m.WitnessQuorum < 0 {
		return merr("witness_quorum", "must be >= 1, got %d", m.WitnessQuorum)
	}
	if len(m.AcceptedSchemas) == 0 {
		return merr("accepted_schemas", "at least one schema id is required")
	}
	for i, s := range m.AcceptedSchemas {
		if !validSchemaID(s) {
			return merr(fmt.Sprintf("accepted_schemas[%d]", i), "%q is not a schema id like listing/v1", s)
		}
		if slices.Index(m.AcceptedSchemas, s) != i {
			return merr(fmt.Sprintf("accepted_schemas[%d]", i), "%q is listed twice", s)
		}
	}
	if len(m.Members) == 0 {
		return merr("members", "at least one member is required")
	}
	codes, endpoints := map[string]bool{}, map[string]bool{}
	active := 0
	for i := range m.Members {
		mb := &m.Members[i]
		if err := mb.validate(fmt.Sprintf("members[%d]", i)); err != nil {
			return err
		}
		if codes[mb.Code] {
			return merr(fmt.Sprintf("members[%d].code", i), "%s is listed twice", mb.Code)
		}
		codes[mb.Code] = true
		if endpoints[mb.Endpoint] {
			return merr(fmt.Sprintf("members[%d].endpoint", i), "%s is used by another member", mb.Endpoint)
		}
		endpoints[mb.Endpoint] = true
		if mb.Status == StatusActive {
			active++
		}
	}
	for i, f := range m.Founders {
		if mb, ok := m.Member(f); !ok || mb.Status != StatusActive {
			return merr(fmt.Sprintf("founders[%d]", i), "%q is not an active member", f)
		}
		if slices.Index(m.Founders, f) != i {
			return merr(fmt.Sprintf("founders[%d]", i), "%q is listed twice", f)
		}
	}
	if m.WitnessPolicy != "" {
		p, err := ParsePolicy([]byte(m.WitnessPolicy))
		if err != nil {
			return merr("witness_policy", "%v", err)
		}
		m.policy, m.policyNameOf, m.policyMembers = p, map[string]string{}, map[string]bool{}
		for i := range m.Members {
			if w, ok := p.WitnessByKey(m.Members[i].WitnessVKey); ok {
				m.policyNameOf[m.Members[i].Code] = w.Name
				m.policyMembers[w.Name] = true
				// One key, one memory of accepted cosignatures (sigmemo):
				// the policy's verifier of a member's witness is the
				// member's (the same name and public key, cosig.Same).
				w.Verifier = m.Members[i].witnessV
			}
		}
		return nil
	}
	if active > 1 && m.WitnessQuorum > active-1 {
		return merr("witness_quorum", "%d cosignatures by other members cannot be reached with %d active members", m.WitnessQuorum, active)
	}
	return nil
}

func (mb *Member) validate(at string) error {
	if len(mb.Code) != 6 || strings.Trim(mb.Code, "0123456789") != "" || mb.Code[0] == '0' {
		return merr(at+".code", "%q is not a 6-digit division code", mb.Code)
	}
	if mb.Name == "" {
		return merr(at+".name", "required")
	}
	u, err := url.Parse(mb.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return merr(at+".endpoint", "%q is not https://host:port", mb.Endpoint)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return merr(at+".endpoint", "%q has no port", mb.Endpoint)
	}
	mb.Endpoint = "https://" + u.Host
	// Each key remembers the signatures it accepted (sigmemo): a checkpoint
	// re-opened with one more cosignature checks only the new line.
	if mb.logV, err = note.NewVerifier(strings.TrimSpace(mb.LogVKey)); err != nil {
		return merr(at+".log_vkey", "not a signed-note verifier key: %v", err)
	}
	mb.logV = sigmemo.Wrap(mb.logV)
	if mb.logV.Name() != schemas.LedgerOrigin(mb.Code) {
		return merr(at+".log_vkey", "key is named %q, want %q", mb.logV.Name(), schemas.LedgerOrigin(mb.Code))
	}
	if strings.TrimSpace(mb.LoopVKey) != "" {
		if mb.loopV, err = note.NewVerifier(strings.TrimSpace(mb.LoopVKey)); err != nil {
			return merr(at+".loop_vkey", "not a signed-note verifier key: %v", err)
		}
		mb.loopV = sigmemo.Wrap(mb.loopV)
		if mb.loopV.Name() != schemas.LoopOrigin(mb.Code) {
			return merr(at+".loop_vkey", "key is named %q, want %q", mb.loopV.Name(), schemas.LoopOrigin(mb.Code))
		}
	}
	if mb.witnessV, err = cosig.Parse(mb.WitnessVKey); err != nil {
		return merr(at+".witness_vkey", "%v", err)
	}
	mb.witnessV = sigmemo.Wrap(mb.witnessV)
	if mb.witnessV.Name() != schemas.WitnessOrigin(mb.Code) {
		return merr(at+".witness_vkey", "key is named %q, want %q", mb.witnessV.Name(), schemas.WitnessOrigin(mb.Code))
	}
	blk, rest := pem.Decode([]byte(mb.CA))
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return merr(at+".ca", "must be exactly one PEM CERTIFICATE block")
	}
	if mb.caCert, err = x509.ParseCertificate(blk.Bytes); err != nil {
		return merr(at+".ca", "%v", err)
	}
	if !mb.caCert.IsCA {
		return merr(at+".ca", "certificate is not a CA")
	}
	if o := mb.caCert.Subject.Organization; len(o) != 1 || o[0] != "creditx "+mb.Code {
		return merr(at+".ca", "CA subject O is %q, want [\"creditx %s\"]", o, mb.Code)
	}
	switch mb.Status {
	case StatusActive:
		if len(mb.Anchors) == 0 {
			return merr(at+".anchors", "an active member needs at least one credit-office admin key")
		}
	case StatusRemoved:
	default:
		return merr(at+".status", "%q is not active or removed", mb.Status)
	}
	for j, a := range mb.Anchors {
		pub, err := base64.StdEncoding.DecodeString(a.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return merr(fmt.Sprintf("%s.anchors[%d].public_key", at, j), "not a std base64 Ed25519 public key")
		}
		if a.Name == "" || a.USCC == "" {
			return merr(fmt.Sprintf("%s.anchors[%d]", at, j), "name and uscc are required")
		}
	}
	return nil
}

// Member returns the member with code, active or not.
func (m *Manifest) Member(code string) (*Member, bool) {
	for i := range m.Members {
		if m.Members[i].Code == code {
			return &m.Members[i], true
		}
	}
	return nil, false
}

// MemberByOrigin returns the member whose ledger has origin.
func (m *Manifest) MemberByOrigin(origin string) (*Member, bool) {
	code, err := schemas.ParseLedgerOrigin(origin)
	if err != nil {
		return nil, false
	}
	return m.Member(code)
}

// Others returns the active members other than code, in manifest order.
func (m *Manifest) Others(code string) []*Member {
	var out []*Member
	for i := range m.Members {
		if mb := &m.Members[i]; mb.Code != code && mb.Status == StatusActive {
			out = append(out, mb)
		}
	}
	return out
}

// IsFounder reports whether code takes part without approval: it is an
// active member listed in founders, or founders is empty.
func (m *Manifest) IsFounder(code string) bool {
	mb, ok := m.Member(code)
	if !ok || mb.Status != StatusActive {
		return false
	}
	return len(m.Founders) == 0 || slices.Contains(m.Founders, code)
}

// Approval is a governance decision about a member, as found in one
// member's ledger: Approve (member_approve, with the keys and endpoint it
// approves) or Remove (member_remove).
type Approval struct {
	By          string // code of the member whose ledger holds the record
	Code        string // the member approved or removed
	Remove      bool
	Endpoint    string
	LogVKey     string
	WitnessVKey string
}

// Effective returns the members that take part now, given the approvals
// found in the ledgers: founders, plus every other active member approved
// (member_approve naming exactly its manifest endpoint and keys) by more
// than half of the members already effective, repeated until nothing
// changes; minus every member whose removal (member_remove) more than half
// of the other effective members recorded. Removed members (status) never
// take part. The result is deterministic for a given manifest and set of
// approvals.
func (m *Manifest) Effective(approvals []Approval) map[string]bool {
	eff := map[string]bool{}
	for i := range m.Members {
		if m.IsFounder(m.Members[i].Code) {
			eff[m.Members[i].Code] = true
		}
	}
	votes := func(code string, remove bool, match func(a Approval) bool) int {
		by := map[string]bool{}
		for _, a := range approvals {
			if a.Code == code && a.Remove == remove && eff[a.By] && a.By != code && match(a) {
				by[a.By] = true
			}
		}
		return len(by)
	}
	for changed := true; changed; {
		changed = false
		for i := range m.Members {
			mb := &m.Members[i]
			if eff[mb.Code] || mb.Status != StatusActive {
				continue
			}
			n := votes(mb.Code, false, func(a Approval) bool {
				return strings.TrimSuffix(a.Endpoint, "/") == mb.Endpoint && strings.TrimSpace(a.LogVKey) == strings.TrimSpace(mb.LogVKey) &&
					cosig.Same(a.WitnessVKey, mb.WitnessVKey)
			})
			if 2*n > len(eff) {
				eff[mb.Code], changed = true, true
			}
		}
	}
	var removed []string
	for code := range eff {
		if n := votes(code, true, func(Approval) bool { return true }); 2*n > len(eff)-1 {
			removed = append(removed, code)
		}
	}
	for _, code := range removed {
		delete(eff, code)
	}
	return eff
}

// validSchemaID reports whether s is a schema id: a kind of lower-case
// letters and underscores, "/v", and a version number >= 1 without leading
// zeros (listing/v1).
func validSchemaID(s string) bool {
	kind, ver, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimPrefix(ver, "v"))
	return ok && kind != "" && strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz_") == "" && strings.HasPrefix(ver, "v") && err == nil && n >= 1 && "v"+strconv.Itoa(n) == ver
}

// Adoption is a schema_adopt governance record as found in one member's
// ledger (signed by that member's credit-office anchor: only such records
// reach a ledger's governance index).
type Adoption struct {
	By     string // code of the member whose ledger holds the record
	Schema string // the schema id it adopts, e.g. "listing/v2"
}

// AdoptionError is why an adoption is not counted: the schema id it names
// is malformed, or not one this version of creditx can decode.
type AdoptionError struct {
	By     string // the member whose record it is
	Field  string // "schema_adopt.schema"
	Reason string
}

func (e *AdoptionError) Error() string {
	return "schema_adopt by " + e.By + ": " + e.Field + ": " + e.Reason
}

// Accepted returns the schema ids whose mirrored entries are indexed: the
// manifest's accepted_schemas plus every schema id adopted by governance.
// A schema id is adopted when more than half of the effective members
// (Effective(approvals)) each recorded at least one schema_adopt naming it:
// the quorum that approves a member. Several records by one member count
// once; records by a member that is not effective (a candidate not yet
// approved, a member removed by status or by member_remove, a code not in
// the manifest) do not count.
//
// An adoption naming a malformed schema id, or one that schemas.KnownSchemas
// does not list (this version cannot decode its entries, so indexing them is
// impossible), is refused: it is returned as an *AdoptionError and not
// counted. Once the software knows the version, the same records count.
//
// Adoption is not sticky: if removals drop the adopters below the quorum,
// the schema id is no longer in the result. The result is deterministic for
// a given manifest, approvals, adoptions and software version; the order of
// approvals and adoptions does not matter, and refused lists the refused
// adoptions in their order.
func (m *Manifest) Accepted(approvals []Approval, adoptions []Adoption) (accepted map[string]bool, refused []error) {
	eff := m.Effective(approvals)
	accepted = make(map[string]bool, len(m.AcceptedSchemas))
	for _, s := range m.AcceptedSchemas {
		accepted[s] = true
	}
	known := schemas.KnownSchemas()
	votes := map[string]map[string]bool{}
	for _, a := range adoptions {
		switch {
		case !validSchemaID(a.Schema):
			refused = append(refused, &AdoptionError{By: a.By, Field: "schema_adopt.schema", Reason: fmt.Sprintf("%q is not a schema id like listing/v2", a.Schema)})
			continue
		case !slices.Contains(known, a.Schema):
			refused = append(refused, &AdoptionError{By: a.By, Field: "schema_adopt.schema", Reason: fmt.Sprintf("%q is not a schema this version of creditx can decode", a.Schema)})
			continue
		case !eff[a.By]:
			continue
		}
		if votes[a.Schema] == nil {
			votes[a.Schema] = map[string]bool{}
		}
		votes[a.Schema][a.By] = true
	}
	for s, by := range votes {
		if 2*len(by) > len(eff) {
			accepted[s] = true
		}
	}
	return accepted, refused
}

// Accepts reports whether schema id is in accepted_schemas (the manifest
// alone; Accepted adds the versions adopted by governance).
func (m *Manifest) Accepts(schema string) bool { return slices.Contains(m.AcceptedSchemas, schema) }

// CAPool returns a pool of every member's region CA (active or removed:
// removal is enforced per request, not by the handshake).
func (m *Manifest) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	for i := range m.Members {
		p.AddCert(m.Members[i].caCert)
	}
	return p
}

// Encode returns the manifest as YAML (ParseManifest(Encode()) is equivalent).
func (m *Manifest) Encode() ([]byte, error) { return yaml.Marshal(m) }

// Origin is the origin line of the member's ledger.
func (mb *Member) Origin() string { return schemas.LedgerOrigin(mb.Code) }

// LogVerifier verifies the member's checkpoints.
func (mb *Member) LogVerifier() note.Verifier { return mb.logV }

// LoopOrigin is the origin line of the member's loop log.
func (mb *Member) LoopOrigin() string { return schemas.LoopOrigin(mb.Code) }

// LoopVerifier verifies the checkpoints of the member's loop log; nil when
// the manifest gives the member no loop_vkey.
func (mb *Member) LoopVerifier() note.Verifier { return mb.loopV }

// WitnessVerifier verifies the member's tlog-cosignature/v1 cosignatures.
func (mb *Member) WitnessVerifier() note.Verifier { return mb.witnessV }

// CACert is the member's region CA certificate.
func (mb *Member) CACert() *x509.Certificate { return mb.caCert }

// AnchorKeys decodes the member's anchors (validated by ParseManifest).
func (mb *Member) AnchorKeys() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(mb.Anchors))
	for i, a := range mb.Anchors {
		out[i], _ = base64.StdEncoding.DecodeString(a.PublicKey)
	}
	return out
}

// Policy is the parsed witness_policy, or nil if the manifest has none.
func (m *Manifest) Policy() *Policy { return m.policy }

// ExternalWitnesses are the policy's witnesses that are no member's witness
// and have a URL: the ones a member pushes its checkpoints to over HTTPS.
func (m *Manifest) ExternalWitnesses() []PolicyWitness {
	if m.policy == nil {
		return nil
	}
	var out []PolicyWitness
	for _, w := range m.policy.Witnesses {
		if w.URL != "" && !m.policyMembers[w.Name] {
			out = append(out, w)
		}
	}
	return out
}

// WitnessVerifiers are every witness key that may cosign member code's
// checkpoints: the other members' and, with a policy, its witnesses.
func (m *Manifest) WitnessVerifiers(code string) []note.Verifier {
	var out []note.Verifier
	for i := range m.Members {
		if mb := &m.Members[i]; mb.Code != code {
			out = append(out, mb.WitnessVerifier())
		}
	}
	if m.policy != nil {
		for _, w := range m.policy.Witnesses {
			if !m.policyMembers[w.Name] {
				out = append(out, w.Verifier)
			}
		}
	}
	return out
}

// Witnessed verifies member code's signed checkpoint (its log key and every
// known witness key: a bad cosignature by a known key is an error) and
// returns the witnesses that cosigned it and whether they make it witnessed:
// with a witness_policy, the policy names of its cosigning witnesses other
// than the member's own witness and whether they meet the policy's quorum;
// without, the key names of the other members' witnesses and whether they
// are at least witness_quorum.
func (m *Manifest) Witnessed(code string, signed []byte) (cosigners []string, ok bool, err error) {
	mb, found := m.Member(code)
	if !found {
		return nil, false, fmt.Errorf("manifest: no member %s", code)
	}
	return m.witnessedBy(code, mb.LogVerifier(), signed)
}

// witnessedBy is Witnessed for a log of member code signed by key v (its
// ledger's or its loop log's, loop_witness.go).
func (m *Manifest) witnessedBy(code string, v note.Verifier, signed []byte) (cosigners []string, ok bool, err error) {
	if m.policy == nil {
		names, err := CountCosignatures(signed, v, m.WitnessVerifiers(code))
		return names, err == nil && len(names) >= m.WitnessQuorum, err
	}
	vs := append([]note.Verifier{v}, m.WitnessVerifiers(code)...)
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, false, err
	}
	exclude := map[string]bool{}
	if name, ok := m.policyNameOf[code]; ok {
		exclude[name] = true
	}
	set := m.policy.Cosigners(n, exclude)
	for _, w := range m.policy.Witnesses {
		if set[w.Name] {
			cosigners = append(cosigners, w.Name)
		}
	}
	return cosigners, m.policy.Satisfied(set), nil
}
