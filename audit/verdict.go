package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
)

// Verdicts (Report.Verdict). An audit PASSES only when every check it
// names ran against independent trust (Inputs.Trust) and none failed; it
// FAILS on any failed check; otherwise it is UNVERIFIED: nothing failed,
// but Report.NotChecked says what could not be checked and why.
const (
	VerdictPassed     = "PASSED"
	VerdictFailed     = "FAILED"
	VerdictUnverified = "UNVERIFIED"
)

// Exit codes of "creditx audit" (and the other commands that print a
// verdict), one per verdict, plus a usage error.
const (
	ExitPassed     = 0
	ExitFailed     = 1
	ExitUnverified = 2
	ExitUsage      = 3
)

// ExitCode is the process exit status for a verdict.
func ExitCode(verdict string) int {
	switch verdict {
	case VerdictPassed:
		return ExitPassed
	case VerdictUnverified:
		return ExitUnverified
	}
	return ExitFailed
}

// CheckManifest is a failure naming a field where the audited data's own
// manifest differs from the independent one.
const CheckManifest = "manifest"

// coverage lists the checks that ran and those that did not (with why),
// then sets the verdict. It runs after every phase.
func (a *auditor) coverage() {
	r := a.rep
	ran := func(format string, args ...any) { r.Checked = append(r.Checked, fmt.Sprintf(format, args...)) }
	notRun := func(format string, args ...any) { r.NotChecked = append(r.NotChecked, fmt.Sprintf(format, args...)) }

	if len(a.in.Trust.Source) == 0 {
		notRun("independent trust: no --manifest given (nor a manifest.yaml beside the audited trees); keys came from the audited data itself")
	}
	var notIndep []string
	opened := 0
	for _, s := range a.states {
		if s.cp != nil {
			opened++
		}
		if s.res.KeySource != KeyFromTrust && !slices.Contains(notIndep, s.Origin) {
			notIndep = append(notIndep, s.Origin)
		}
	}
	slices.Sort(notIndep)
	switch {
	case len(a.states) == 0:
		notRun("Merkle trees: no ledger copy to audit")
	case opened == len(a.states):
		ran("Merkle trees of %d ledger copies", len(a.states))
	default:
		ran("Merkle trees of %d of %d ledger copies (the others' checkpoints did not open: see failures)", opened, len(a.states))
	}
	if len(a.states) > 0 {
		if len(notIndep) == 0 {
			ran("checkpoint signatures against the independent log keys")
		} else {
			notRun("checkpoint signatures against independent log keys: %s (key from the audited data itself)", strings.Join(notIndep, ", "))
		}
	}
	switch {
	case len(a.witnesses) == 0:
		notRun("witness cosignature quorum: no witness keys known")
	case !a.witnessTrusted:
		notRun("witness cosignature quorum against independent witness keys: the keys came from the audited data itself")
	case a.policy != nil:
		ran("witness cosignature quorum of the manifest's witness policy (quorum %s)", a.policy.Quorum())
	default:
		ran("witness cosignature quorum (%d cosignatures by other members)", a.quorum)
	}
	var noAnchors []string
	loopKeys := false
	for _, o := range a.origins {
		p := a.primaries[o]
		if p == nil || p.trusted.IsAccessLog() {
			continue
		}
		if trust.IsLoopOrigin(o) { // loopcheck.go: the keyring of the member's ledger
			lp := a.primaries[schemas.LedgerOrigin(codeOf(o))]
			if p.loopKeys == nil || p.res.KeySource != KeyFromTrust || lp == nil || lp.res.KeySource != KeyFromTrust {
				noAnchors = append(noAnchors, o)
			} else {
				loopKeys = true
			}
			continue
		}
		if len(p.trusted.Anchors) == 0 || p.res.KeySource != KeyFromTrust {
			noAnchors = append(noAnchors, o)
		}
	}
	if len(noAnchors) > 0 {
		notRun("agency signatures and key validity: %s (no independent anchor keys)", strings.Join(noAnchors, ", "))
	} else if len(a.primaries) > 0 {
		ran("every agency signature and the key's validity at its index")
	}
	if loopKeys && len(noAnchors) == 0 {
		ran("loop log entries: sanction notices and feedback only, schema-valid, each signed by a key of its member's ledger keyring whose agency is its submitter; not checked: %s", trust.LoopNotChecked)
	}
	a.loopCoverage(notRun) // loopcheck.go
	if len(a.states) > 0 {
		ran("mirrors identical to their origin; consistency between every checkpoint seen")
		ran("references and dates between records")
	}
	if a.in.Trust.ManifestBytes != nil && a.in.Own.ManifestBytes != nil {
		ran("the audited data's own manifest against the independent one")
	}
	if a.opts.Anchors != nil {
		ran("anchors on the Fabric channel")
	}
	switch {
	case len(r.Failures) > 0:
		r.Verdict = VerdictFailed
	case len(r.NotChecked) > 0:
		r.Verdict = VerdictUnverified
	default:
		r.Verdict = VerdictPassed
	}
}

// DiffManifests compares two consortium manifests (YAML, see
// exchange.Manifest) field by field and names each field where they differ,
// e.g. "witness_quorum" or "members[320000].witness_vkey" (members are
// matched by code, other lists by position). Formatting, comments and key
// order do not count; the same manifest gives nil. It returns an error
// naming which input does not parse.
func DiffManifests(a, b []byte) ([]string, error) {
	var va, vb any
	for i, in := range []struct {
		b []byte
		v *any
	}{{a, &va}, {b, &vb}} {
		if len(in.b) > exchange.MaxManifestSize {
			return nil, fmt.Errorf("manifest %d: %d bytes, the limit is %d", i+1, len(in.b), exchange.MaxManifestSize)
		}
		if err := yaml.Unmarshal(in.b, in.v); err != nil {
			return nil, fmt.Errorf("manifest %d: %w", i+1, err)
		}
	}
	var out []string
	diffValue("", va, vb, &out, 0)
	return out, nil
}

// maxDiffDepth bounds the walk (manifests are 4 levels deep).
const maxDiffDepth = 32

func diffValue(path string, a, b any, out *[]string, depth int) {
	name := path
	if name == "" {
		name = "(the whole manifest)"
	}
	if depth > maxDiffDepth {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			*out = append(*out, name)
		}
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, name)
			return
		}
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValue(p, x[k], y[k], out, depth+1)
		}
	case []any:
		y, ok := b.([]any)
		if !ok {
			*out = append(*out, name)
			return
		}
		if kx, ky := byCode(x), byCode(y); kx != nil && ky != nil {
			var codes []string
			for c := range kx {
				codes = append(codes, c)
			}
			for c := range ky {
				if _, ok := kx[c]; !ok {
					codes = append(codes, c)
				}
			}
			slices.Sort(codes)
			for _, c := range codes {
				diffValue(path+"["+c+"]", kx[c], ky[c], out, depth+1)
			}
			return
		}
		for i := 0; i < max(len(x), len(y)); i++ {
			var ex, ey any
			if i < len(x) {
				ex = x[i]
			}
			if i < len(y) {
				ey = y[i]
			}
			diffValue(fmt.Sprintf("%s[%d]", path, i), ex, ey, out, depth+1)
		}
	default:
		switch b.(type) {
		case map[string]any, []any:
			*out = append(*out, name)
			return
		}
		if fmt.Sprintf("%T %v", a, a) != fmt.Sprintf("%T %v", b, b) {
			*out = append(*out, name)
		}
	}
}

// byCode indexes a list of maps by their "code" field, or returns nil if
// any element is not a map with a distinct string code.
func byCode(l []any) map[string]any {
	m := make(map[string]any, len(l))
	for _, e := range l {
		em, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		c, ok := em["code"].(string)
		if !ok {
			return nil
		}
		if _, dup := m[c]; dup {
			return nil
		}
		m[c] = e
	}
	return m
}
