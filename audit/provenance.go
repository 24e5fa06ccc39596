package audit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Provenance answers, for one ledger entry, who, when, what and what each
// region did about it, from the same inputs as Run (a demo output, a bundle
// or live nodes) and the independent trust only. Every claim it makes is
// backed by a check it ran:
//
//   - the entry's ledger is read in full from its holder's copy and
//     recomputed (ledger.Verify: every leaf against the hash tiles, the tree
//     against the checkpoint root, signed by the origin's trusted log key);
//     every entry's agency signature is verified against the keyring built
//     from the trusted anchors and the governance records before it, which is
//     how the signer's key, its registering record and the registering
//     anchor are known;
//   - the checkpoint's cosignatures are verified with the trusted witness
//     keys and counted against the quorum (witness_policy or witness_quorum);
//   - an inclusion proof of the entry is recomputed from the tiles;
//   - each mirror's checkpoint is verified and the entry's leaf is proved in
//     the mirror's tree;
//   - records that refer to the entry (notices, objections, repairs,
//     corrections) and to those (feedback, decisions) are read from verified
//     ledgers, and their Ref hash is compared with the leaf hash.
//
// How it fails: the first check that fails is returned as a
// *ProvenanceError naming the step and the ledger; nothing partial is
// reported as established.
type Provenance struct {
	Origin   string          `json:"origin"`
	Member   string          `json:"member"`
	Index    uint64          `json:"index"`
	LeafHash string          `json:"leaf_hash"`
	Schema   string          `json:"schema"`
	Summary  string          `json:"summary"` // one line: kind, subject, domain (persons are masked in the ledger)
	Record   json.RawMessage `json:"record"`  // the canonical record as in the ledger
	Created  time.Time       `json:"created_at"`
	Signer   SignerInfo      `json:"signer"`

	Checkpoint     CheckpointInfo `json:"checkpoint"`
	InclusionProof []string       `json:"inclusion_proof"` // std base64, leaf sibling first; verified
	Mirrors        []MirrorInfo   `json:"mirrors"`
	Related        []RelatedInfo  `json:"related"` // records that refer to it, and to those, in ledger order per origin
	State          string         `json:"state"`   // current state, from Related
	Trust          []string       `json:"trust"`   // where the keys came from
}

// SignerInfo is the key that signed the entry and how it came to be valid.
type SignerInfo struct {
	KeyID      string `json:"key_id"`
	Agency     string `json:"agency"`
	AgencyUSCC string `json:"agency_uscc"`
	Anchor     bool   `json:"anchor"` // a credit-office anchor key from the manifest, not registered in the ledger
	// The governance record that registered the key (not for anchors).
	RegisteredAt      uint64    `json:"registered_at,omitempty"`
	RegisteredOn      time.Time `json:"registered_on,omitzero"`
	RegisteredBy      string    `json:"registered_by,omitempty"`      // anchor key id that signed the registration
	RegisteredByName  string    `json:"registered_by_name,omitempty"` // its office
	RevokedAt         uint64    `json:"revoked_at,omitempty"`         // 0: not revoked in the verified ledger
	ValidAtIndex      bool      `json:"valid_at_index"`               // registered before, not revoked at or before, the entry
	RegistrationRoles []string  `json:"registration_roles,omitempty"`
}

// CheckpointInfo is the checkpoint that covers the entry in its holder's copy.
type CheckpointInfo struct {
	Holder    string            `json:"holder"`
	Size      uint64            `json:"size"`
	Root      string            `json:"root"` // std base64
	Signed    string            `json:"signed"`
	Cosigners []CosignatureInfo `json:"cosigners"`
	Quorum    string            `json:"quorum"`
	Witnessed bool              `json:"witnessed"`
}

// CosignatureInfo is one verified cosignature.
type CosignatureInfo struct {
	Witness string    `json:"witness"`
	Time    time.Time `json:"time,omitzero"`
}

// MirrorInfo is another member's copy of the entry's ledger.
type MirrorInfo struct {
	Holder    string            `json:"holder"`
	Size      uint64            `json:"size"`
	Covers    bool              `json:"covers"` // its verified tree holds the entry at the same index with the same leaf
	Index     uint64            `json:"index"`
	Cosigners []CosignatureInfo `json:"cosigners"`
	Problem   string            `json:"problem,omitempty"`
	// Acted lists the records in the holder's own ledger that refer to the
	// entry or follow from it (its notices, feedback, ...): what that member
	// did with it, as ORIGIN#INDEX (kind).
	Acted []string `json:"acted,omitempty"`
}

// RelatedInfo is a record that refers to the entry, or to such a record.
type RelatedInfo struct {
	Origin  string    `json:"origin"`
	Index   uint64    `json:"index"`
	Kind    string    `json:"kind"`
	Refers  string    `json:"refers"` // ORIGIN#INDEX it refers to
	Created time.Time `json:"created_at"`
	Agency  string    `json:"agency"` // submitter USCC
	Detail  string    `json:"detail"`
	HashOK  bool      `json:"hash_ok"` // its Ref names the leaf hash of what it refers to
}

// Provenance steps (ProvenanceError.Step).
const (
	StepTrust      = "trust"
	StepLedger     = "ledger"
	StepEntry      = "entry"
	StepCosig      = "cosignatures"
	StepInclusion  = "inclusion proof"
	StepKey        = "signing key"
	StepRegistered = "key registration"
)

// ProvenanceError names the check that failed.
type ProvenanceError struct {
	Step   string
	Origin string
	Holder string
	Err    error
}

func (e *ProvenanceError) Error() string {
	at := e.Origin
	if e.Holder != "" {
		at += " held by " + e.Holder
	}
	return fmt.Sprintf("provenance: %s (%s): %v", e.Step, at, e.Err)
}
func (e *ProvenanceError) Unwrap() error { return e.Err }

// ParseEntryRef reads "ORIGIN#INDEX", ORIGIN a checkpoint origin
// ("creditx.330000/ledger") or a member code ("330000").
func ParseEntryRef(s string) (origin string, index uint64, err error) {
	o, is, ok := strings.Cut(s, "#")
	if !ok || o == "" {
		return "", 0, fmt.Errorf("entry %q: want ORIGIN#INDEX, e.g. 330000#12 or creditx.330000/ledger#12", s)
	}
	index, err = strconv.ParseUint(is, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("entry %q: index %q is not a number", s, is)
	}
	if !strings.Contains(o, "/") {
		o = schemas.LedgerOrigin(o)
	}
	return o, index, nil
}

// primaryCopies picks, per origin, the copy held by the origin's own member,
// else an exported tree, else the first found.
func primaryCopies(in Inputs) map[string]Copy {
	out := map[string]Copy{}
	rank := func(c Copy) int {
		switch c.Holder {
		case codeOf(c.Origin):
			return 0
		case "":
			return 1
		}
		return 2
	}
	for _, c := range in.Copies {
		if old, ok := out[c.Origin]; !ok || rank(c) < rank(old) {
			out[c.Origin] = c
		}
	}
	return out
}

// witnessSet is the trusted witnesses and the quorum rule.
type witnessSet struct {
	vs     []note.Verifier
	policy *exchange.Policy
	quorum int
}

func newWitnessSet(t Trust) (*witnessSet, error) {
	ws := &witnessSet{policy: t.Policy, quorum: t.Quorum}
	if ws.quorum == 0 {
		ws.quorum = DefaultQuorum
	}
	for _, k := range t.Witnesses {
		v, err := cosig.Parse(k)
		if err != nil {
			return nil, err
		}
		ws.vs = append(ws.vs, v)
	}
	if t.Policy != nil {
		for _, w := range t.Policy.Witnesses {
			if !slices.ContainsFunc(ws.vs, func(v note.Verifier) bool {
				return v.Name() == w.Verifier.Name() && v.KeyHash() == w.Verifier.KeyHash()
			}) {
				ws.vs = append(ws.vs, w.Verifier)
			}
		}
	}
	return ws, nil
}

// open verifies a copy's checkpoint with the log key and every known
// witness key and counts the cosignatures for the quorum.
func (ws *witnessSet) open(c Copy, logV note.Verifier) (*ledger.Checkpoint, []CosignatureInfo, string, bool, error) {
	cp, err := ledger.OpenCheckpoint(c.Checkpoint, c.Origin, logV, ws.vs...)
	if err != nil {
		return nil, nil, "", false, err
	}
	own := schemas.WitnessOrigin(codeOf(c.Origin))
	_, lines, _ := ledger.ParseNoteSignatures(c.Checkpoint)
	stamp := func(s note.Signature) time.Time {
		for _, l := range lines {
			if l.Name == s.Name && l.KeyID == s.Hash {
				t, _ := l.Timestamp()
				return t
			}
		}
		return time.Time{}
	}
	var cos []CosignatureInfo
	if ws.policy != nil {
		exclude := map[string]bool{}
		for _, w := range ws.policy.Witnesses {
			if w.Verifier.Name() == own {
				exclude[w.Name] = true
			}
		}
		set := ws.policy.Cosigners(cp.Note, exclude)
		for _, s := range cp.Note.Sigs {
			for _, w := range ws.policy.Witnesses {
				if set[w.Name] && s.Name == w.Verifier.Name() && s.Hash == w.Verifier.KeyHash() {
					cos = append(cos, CosignatureInfo{Witness: w.Name + " (" + s.Name + ")", Time: stamp(s)})
				}
			}
		}
		return cp, cos, fmt.Sprintf("witness_policy quorum %q", ws.policy.Quorum()), ws.policy.Satisfied(set), nil
	}
	for _, s := range cp.Note.Sigs {
		if s.Name == own || s.Name == c.Origin {
			continue
		}
		for _, v := range ws.vs {
			if s.Name == v.Name() && s.Hash == v.KeyHash() {
				cos = append(cos, CosignatureInfo{Witness: s.Name, Time: stamp(s)})
			}
		}
	}
	return cp, cos, fmt.Sprintf("witness_quorum %d cosignatures by other members", ws.quorum), len(cos) >= ws.quorum, nil
}

// regInfo is what a governance record says about a key.
type regInfo struct {
	at        uint64
	on        time.Time
	by, byNm  string
	roles     []string
	revokedAt uint64
}

// relRec is a verified record that refers to other entries.
type relRec struct {
	RelatedInfo
	refs []schemas.Ref
}

// BuildProvenance answers for entry index of origin from in, trusting only
// in.Trust (see Provenance).
func BuildProvenance(ctx context.Context, in Inputs, origin string, index uint64) (*Provenance, error) {
	fail := func(step, holder string, err error) (*Provenance, error) {
		return nil, &ProvenanceError{Step: step, Origin: origin, Holder: holder, Err: err}
	}
	prim := primaryCopies(in)
	pc, ok := prim[origin]
	if !ok {
		return fail(StepLedger, "", fmt.Errorf("no copy of this ledger in the inputs"))
	}
	to, ok := in.Trust.lookup(origin)
	if !ok {
		return fail(StepTrust, pc.Holder, fmt.Errorf("no independent key for this origin (give --manifest)"))
	}
	ws, err := newWitnessSet(in.Trust)
	if err != nil {
		return fail(StepTrust, "", err)
	}
	logV, err := to.Verifier()
	if err != nil {
		return fail(StepTrust, "", err)
	}
	cp, cos, quorum, witnessed, err := ws.open(pc, logV)
	if err != nil {
		return fail(StepCosig, pc.Holder, fmt.Errorf("checkpoint or a cosignature does not verify with the trusted keys: %w", err))
	}
	if index >= cp.Size {
		return fail(StepEntry, pc.Holder, fmt.Errorf("index %d is beyond the checkpoint size %d", index, cp.Size))
	}
	p := &Provenance{Origin: origin, Member: codeOf(origin), Index: index, Trust: in.Trust.Source,
		Checkpoint: CheckpointInfo{Holder: holderName(pc.Holder), Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:]),
			Signed: string(pc.Checkpoint), Cosigners: cos, Quorum: quorum, Witnessed: witnessed}}

	// The entry's own ledger: every entry verified, the keyring replayed.
	regs := map[string]*regInfo{}
	anchors := map[string]string{} // key id -> office
	for _, a := range to.Anchors {
		if pub, err := base64.StdEncoding.DecodeString(a.PublicKey); err == nil {
			anchors[schemas.KeyID(pub)] = a.Name
		}
	}
	check, err := to.Checker(nil)
	if err != nil {
		return fail(StepTrust, "", err)
	}
	var rels []relRec
	leaves := map[string][]tlog.Hash{} // origin -> leaf hashes of the walked ledgers
	var entry []byte
	var keyID string
	collect := func(o string, i uint64, e []byte) error {
		leaves[o] = append(leaves[o], tlog.RecordHash(e))
		s, err := schemas.ParseSigned(e)
		if err != nil {
			return nil // the checker has accepted it: not a signed record (access log)
		}
		rec, err := s.Decode()
		if err != nil {
			return nil
		}
		if r, ok := relatedOf(o, i, rec); ok {
			rels = append(rels, r)
		}
		return nil
	}
	_, err = ledger.Verify(ctx, pc.Source, pc.Checkpoint, origin, logV, func(i uint64, e []byte) error {
		if err := check(i, e); err != nil {
			return err
		}
		if i == index {
			entry = e
		}
		if err := collect(origin, i, e); err != nil {
			return err
		}
		s, err := schemas.ParseSigned(e)
		if err != nil {
			return err
		}
		if i == index {
			keyID = s.KeyID
		}
		if !strings.Contains(string(s.Record), `"schema":"governance/`) {
			return nil
		}
		rec, err := s.Decode()
		if err != nil {
			return err
		}
		g, ok := rec.(*schemas.Governance)
		if !ok {
			return nil
		}
		switch {
		case g.AgencyKeyRegister != nil:
			regs[g.AgencyKeyRegister.KeyID] = &regInfo{at: i, on: g.CreatedAt.Time, by: s.KeyID, byNm: anchors[s.KeyID], roles: g.AgencyKeyRegister.Roles}
		case g.AgencyKeyRevoke != nil:
			if r := regs[g.AgencyKeyRevoke.KeyID]; r != nil && r.revokedAt == 0 {
				r.revokedAt = i
			}
		}
		return nil
	}, nil)
	if err != nil {
		step := StepLedger
		var ve *ledger.VerifyError
		if errors.As(err, &ve) && ve.Index >= 0 {
			step = StepEntry
			if msg := err.Error(); strings.Contains(msg, "signing key") || strings.Contains(msg, "signature by key") {
				step = StepKey
			}
			// A broken governance record (unverified bytes, only to name it).
			if raw, rerr := rawEntry(pc.Source, cp.Size, uint64(ve.Index)); strings.Contains(err.Error(), "governance") ||
				(rerr == nil && uint64(ve.Index) != index && strings.Contains(string(raw), `"agency_key_`)) {
				step = StepRegistered
			}
		}
		return fail(step, pc.Holder, err)
	}
	if err := p.describe(entry, keyID, regs, anchors); err != nil {
		return fail(StepEntry, pc.Holder, err)
	}
	leaf := tlog.RecordHash(entry)
	p.LeafHash = hex.EncodeToString(leaf[:])

	// The inclusion proof, recomputed from the holder's tiles.
	hr := ledger.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, pc.Source)
	proof, err := tlog.ProveRecord(int64(cp.Size), int64(index), hr)
	if err == nil {
		err = tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(index), leaf)
	}
	if err != nil {
		return fail(StepInclusion, pc.Holder, err)
	}
	for _, h := range proof {
		p.InclusionProof = append(p.InclusionProof, base64.StdEncoding.EncodeToString(h[:]))
	}

	// Mirrors: each other copy of the ledger, verified, proves the same leaf.
	for _, c := range in.Copies {
		if c.Origin != origin || (c.Holder == pc.Holder) {
			continue
		}
		m := MirrorInfo{Holder: holderName(c.Holder), Index: index}
		mcp, mcos, _, _, err := ws.open(c, logV)
		switch {
		case err != nil:
			m.Problem = "checkpoint does not verify: " + err.Error()
		case mcp.Size <= index:
			m.Size, m.Cosigners = mcp.Size, mcos
			m.Problem = fmt.Sprintf("not mirrored yet (its tree has %d entries)", mcp.Size)
		default:
			m.Size, m.Cosigners = mcp.Size, mcos
			mhr := ledger.TileHashReader(tlog.Tree{N: int64(mcp.Size), Hash: mcp.Root}, c.Source)
			mp, err := tlog.ProveRecord(int64(mcp.Size), int64(index), mhr)
			if err == nil {
				err = tlog.CheckRecord(mp, int64(mcp.Size), mcp.Root, int64(index), leaf)
			}
			if err != nil {
				m.Problem = "the entry is not proved in its tree: " + err.Error()
			} else {
				m.Covers = true
			}
		}
		p.Mirrors = append(p.Mirrors, m)
	}
	sort.Slice(p.Mirrors, func(i, j int) bool { return p.Mirrors[i].Holder < p.Mirrors[j].Holder })

	// Other ledgers: every verified record that refers to the entry.
	origins := make([]string, 0, len(prim))
	for o := range prim {
		if _, err := schemas.ParseLedgerOrigin(o); o != origin && err == nil {
			origins = append(origins, o)
		}
	}
	sort.Strings(origins)
	for _, o := range origins {
		c := prim[o]
		ot, ok := in.Trust.lookup(o)
		if !ok {
			continue // no independent key: not used for claims
		}
		v, err := ot.Verifier()
		if err != nil {
			return nil, &ProvenanceError{Step: StepTrust, Origin: o, Err: err}
		}
		chk, err := ot.Checker(nil)
		if err != nil {
			return nil, &ProvenanceError{Step: StepTrust, Origin: o, Err: err}
		}
		if _, err := ledger.Verify(ctx, c.Source, c.Checkpoint, o, v, func(i uint64, e []byte) error {
			if err := chk(i, e); err != nil {
				return err
			}
			return collect(o, i, e)
		}, nil); err != nil {
			return nil, &ProvenanceError{Step: StepLedger, Origin: o, Holder: c.Holder, Err: err}
		}
	}
	p.Related = linkRelated(key{origin, index}, rels, leaves)
	for i := range p.Mirrors {
		m := &p.Mirrors[i]
		for _, r := range p.Related {
			if r.Origin == schemas.LedgerOrigin(m.Holder) {
				m.Acted = append(m.Acted, fmt.Sprintf("%s (%s)", key{r.Origin, r.Index}, r.Kind))
			}
		}
	}
	p.State = stateOf(p.Related)
	return p, nil
}

// describe fills the record and signer fields.
func (p *Provenance) describe(entry []byte, keyID string, regs map[string]*regInfo, anchors map[string]string) error {
	s, err := schemas.ParseSigned(entry)
	if err != nil {
		return err
	}
	rec, err := s.Decode()
	if err != nil {
		return err
	}
	h := schemas.HeaderOf(rec)
	p.Schema, p.Created, p.Record = rec.SchemaID(), h.CreatedAt.Time, json.RawMessage(s.Record)
	p.Summary = rec.Kind()
	if l, ok := rec.(*schemas.Listing); ok {
		p.Summary = fmt.Sprintf("listing of %s (%s), domain %s, listed on %s, publicity until %s", l.Subject.Name,
			subjectKind(l), l.Domain, l.ListedOn.Time.Format("2006-01-02"), l.PublicityEnd.Time.Format("2006-01-02"))
	}
	si := SignerInfo{KeyID: keyID, AgencyUSCC: h.Submitter}
	if nm, ok := anchors[keyID]; ok {
		si.Anchor, si.Agency, si.ValidAtIndex = true, nm, true
	} else if r := regs[keyID]; r != nil {
		si.RegisteredAt, si.RegisteredOn, si.RegisteredBy, si.RegisteredByName, si.RevokedAt, si.RegistrationRoles =
			r.at, r.on, r.by, r.byNm, r.revokedAt, r.roles
		si.ValidAtIndex = r.at < p.Index && (r.revokedAt == 0 || r.revokedAt > p.Index)
	} else {
		return fmt.Errorf("signing key %s is neither an anchor nor registered before index %d", keyID, p.Index)
	}
	if si.Agency == "" {
		si.Agency = agencyName(rec)
	}
	p.Signer = si
	return nil
}

func subjectKind(l *schemas.Listing) string {
	if l.Subject.Person != nil {
		return "person, masked"
	}
	return "USCC " + l.Subject.USCC
}

func agencyName(rec schemas.Record) string {
	switch r := rec.(type) {
	case *schemas.Listing:
		return r.Authority.Name
	}
	return ""
}

// relatedOf returns a record's references to other entries, if any.
func relatedOf(origin string, i uint64, rec schemas.Record) (relRec, bool) {
	h := schemas.HeaderOf(rec)
	r := relRec{RelatedInfo: RelatedInfo{Origin: origin, Index: i, Kind: rec.Kind(), Created: h.CreatedAt.Time, Agency: h.Submitter}}
	switch x := rec.(type) {
	case *schemas.SanctionNotice:
		r.refs = []schemas.Ref{x.Listing}
		r.Detail = fmt.Sprintf("measure %s to %s, %s to %s, feedback due %s", x.Measure.Code, x.ExecutingAgency.Name,
			x.Start.Time.Format("2006-01-02"), x.End.Time.Format("2006-01-02"), x.FeedbackDue.Time.Format("2006-01-02"))
	case *schemas.Feedback:
		r.refs = []schemas.Ref{x.Notice}
		r.Detail = fmt.Sprintf("%s by %s, acted %s", x.Outcome, x.Agency.Name, x.ActedAt.Time.UTC().Format("2006-01-02"))
	case *schemas.Objection:
		r.refs = []schemas.Ref{x.Target}
		r.Detail = fmt.Sprintf("filed %s in %s", x.FiledAt.Time.UTC().Format("2006-01-02"), x.Region)
	case *schemas.ObjectionDecision:
		r.refs = []schemas.Ref{x.Objection}
		r.Detail = fmt.Sprintf("%s, actions %v", x.Decision, x.Actions)
	case *schemas.Repair:
		r.refs = []schemas.Ref{x.Listing}
		r.Detail = fmt.Sprintf("effects %v", x.Effects)
	case *schemas.Correction:
		r.refs = []schemas.Ref{x.Target}
		r.Detail = x.Action
	default:
		return r, false
	}
	return r, true
}

// linkRelated keeps the records referring to target and, transitively, to
// those, checking each Ref's hash against the verified leaf it names.
func linkRelated(target key, rels []relRec, leaves map[string][]tlog.Hash) []RelatedInfo {
	want := map[key]bool{target: true}
	var out []RelatedInfo
	done := map[key]bool{}
	for changed := true; changed; {
		changed = false
		for _, r := range rels {
			k := key{r.Origin, r.Index}
			if done[k] {
				continue
			}
			for _, ref := range r.refs {
				if !want[refKey(ref)] {
					continue
				}
				ri := r.RelatedInfo
				ri.Refers = refKey(ref).String()
				if ls := leaves[ref.Origin]; ref.Index < uint64(len(ls)) {
					ri.HashOK = hex.EncodeToString(ls[ref.Index][:]) == ref.Hash
				}
				out = append(out, ri)
				want[k], done[k], changed = true, true, true
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// stateOf is the entry's current state as its related records say.
func stateOf(rs []RelatedInfo) string {
	state := "in force"
	for _, r := range rs {
		switch {
		case r.Kind == "repair" && strings.Contains(r.Detail, "remove"),
			r.Kind == "correction" && r.Detail == "withdraw",
			r.Kind == "objection_decision" && !strings.HasPrefix(r.Detail, "rejected") && strings.Contains(r.Detail, "remove"):
			return "removed (" + r.Kind + " " + key{r.Origin, r.Index}.String() + ")"
		case r.Kind == "objection":
			state = "in force, objection filed"
		}
	}
	return state
}

// rawEntry reads entry i of a tree of size entries, unverified.
func rawEntry(src ledger.TileSource, size, i uint64) ([]byte, error) {
	n := i / ledger.TileWidth
	w := min(uint64(ledger.TileWidth), size-n*ledger.TileWidth)
	b, err := src.ReadEntryBundle(n, int(w))
	if err != nil {
		return nil, err
	}
	es, err := ledger.ParseEntryBundle(b)
	if err != nil || uint64(len(es)) <= i%ledger.TileWidth {
		return nil, fmt.Errorf("entry %d not in its bundle: %v", i, err)
	}
	return es[i%ledger.TileWidth], nil
}
