package exchange

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/internal/sigmemo"
	"golang.org/x/mod/sumdb/note"
)

// Policy is a C2SP tlog-policy: known logs, known witnesses, and the quorum
// rule that says which sets of witness cosignatures make a checkpoint valid.
//
// Text format (tlog-policy), one item a line, items separated by spaces or
// tabs, "#" comment lines and blank lines ignored:
//
//	log <vkey> [<url>]
//	witness <name> <vkey> [<url>]          # url: the witness's tlog-witness submission prefix
//	group <name> all|any|<k> <name>...     # members defined on preceding lines
//	quorum <name>|none                     # exactly one
//
// Log vkeys are signed-note Ed25519 vkeys; witness vkeys are tlog-cosignature
// vkeys (type 0x04 or 0x06; a type 0x01 Ed25519 vkey is read as the type 0x04
// key, see ParseWitnessVKey). Only the bytes 0x09, 0x0A, 0x20-0x7E and
// 0x80-0xFF may appear. Names are opaque byte strings; "none" is predefined
// and may only be the quorum. Two logs or two witnesses wrapping the same
// public key, a name defined twice, a group member listed twice (in any
// group), a member not defined before, or k outside 1..n are errors. Limits:
// MaxPolicyItems logs, witnesses and groups each.
//
// Versioning rule: the format is C2SP's; creditx adds no keywords.
type Policy struct {
	Logs      []PolicyLog
	Witnesses []PolicyWitness
	quorum    string // "none" or a witness or group name
	groups    map[string]policyGroup
	witnesses map[string]int // name -> index in Witnesses
}

// PolicyLog is a log line of a policy.
type PolicyLog struct {
	VKey     string
	URL      string
	Verifier note.Verifier
}

// PolicyWitness is a witness line of a policy.
type PolicyWitness struct {
	Name     string // the policy's name for it (not the key name)
	VKey     string
	URL      string // tlog-witness submission prefix, "" if none
	Verifier note.Verifier
}

type policyGroup struct {
	k       int
	members []string
}

// MaxPolicyItems bounds the logs, the witnesses and the groups of a policy
// (each); tlog-policy recommends supporting at least 32.
const MaxPolicyItems = 256

// PolicyError names the line of a policy that is wrong and why.
type PolicyError struct {
	Line   int // 1-based; 0 for the whole policy
	Reason string
}

func (e *PolicyError) Error() string {
	if e.Line == 0 {
		return "tlog-policy: " + e.Reason
	}
	return fmt.Sprintf("tlog-policy: line %d: %s", e.Line, e.Reason)
}

// ParsePolicy parses a tlog-policy strictly (see Policy). Every error is a
// *PolicyError.
func ParsePolicy(b []byte) (*Policy, error) {
	p := &Policy{groups: map[string]policyGroup{}, witnesses: map[string]int{}}
	for i, c := range b {
		if c != '\t' && c != '\n' && (c < 0x20 || c == 0x7f) {
			return nil, &PolicyError{Line: bytes.Count(b[:i], []byte("\n")) + 1, Reason: fmt.Sprintf("byte 0x%02x is not allowed", c)}
		}
	}
	defined := map[string]bool{}
	used := map[string]bool{}
	logKeys, witnessKeys := map[string]bool{}, map[string]bool{}
	quorumLine := 0
	for n, line := range strings.Split(string(b), "\n") {
		n++
		bad := func(format string, args ...any) error {
			return &PolicyError{Line: n, Reason: fmt.Sprintf(format, args...)}
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return nil, bad("want \"log <vkey> [<url>]\"")
			}
			v, err := note.NewVerifier(f[1])
			if err != nil {
				return nil, bad("log vkey: %v", err)
			}
			k := keyMaterial(f[1])
			if logKeys[k] {
				return nil, bad("log key listed twice")
			}
			logKeys[k] = true
			l := PolicyLog{VKey: f[1], Verifier: sigmemo.Wrap(v)}
			if len(f) == 3 {
				if l.URL, err = policyURL(f[2]); err != nil {
					return nil, bad("log url: %v", err)
				}
			}
			if len(p.Logs) == MaxPolicyItems {
				return nil, bad("more than %d logs", MaxPolicyItems)
			}
			p.Logs = append(p.Logs, l)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return nil, bad("want \"witness <name> <vkey> [<url>]\"")
			}
			if f[1] == "none" || defined[f[1]] {
				return nil, bad("name %q is already defined", f[1])
			}
			v, err := cosig.Parse(f[2])
			if err != nil {
				return nil, bad("witness %s vkey: %v", f[1], err)
			}
			k := keyMaterial(f[2])
			if witnessKeys[k] {
				return nil, bad("witness %s: key listed twice", f[1])
			}
			witnessKeys[k] = true
			w := PolicyWitness{Name: f[1], VKey: f[2], Verifier: sigmemo.Wrap(v)}
			if len(f) == 4 {
				if w.URL, err = policyURL(f[3]); err != nil {
					return nil, bad("witness %s url: %v", f[1], err)
				}
			}
			if len(p.Witnesses) == MaxPolicyItems {
				return nil, bad("more than %d witnesses", MaxPolicyItems)
			}
			defined[f[1]] = true
			p.witnesses[f[1]] = len(p.Witnesses)
			p.Witnesses = append(p.Witnesses, w)
		case "group":
			if len(f) < 4 {
				return nil, bad("want \"group <name> all|any|<k> <name>...\"")
			}
			if f[1] == "none" || defined[f[1]] {
				return nil, bad("name %q is already defined", f[1])
			}
			members := f[3:]
			for _, m := range members {
				if !defined[m] {
					return nil, bad("group %s: %q is not defined on a preceding line", f[1], m)
				}
				if used[m] {
					return nil, bad("group %s: %q is already a group member", f[1], m)
				}
				used[m] = true
			}
			var k int
			switch f[2] {
			case "all":
				k = len(members)
			case "any":
				k = 1
			default:
				var err error
				k, err = strconv.Atoi(f[2])
				if err != nil || strings.Trim(f[2], "0123456789") != "" || k < 1 || k > len(members) {
					return nil, bad("group %s: threshold %q is not all, any or a decimal k with 1 <= k <= %d", f[1], f[2], len(members))
				}
			}
			if len(p.groups) == MaxPolicyItems {
				return nil, bad("more than %d groups", MaxPolicyItems)
			}
			defined[f[1]] = true
			p.groups[f[1]] = policyGroup{k: k, members: members}
		case "quorum":
			if len(f) != 2 {
				return nil, bad("want \"quorum <name>\"")
			}
			if quorumLine != 0 {
				return nil, bad("a second quorum line (the first is line %d)", quorumLine)
			}
			if f[1] != "none" && !defined[f[1]] {
				return nil, bad("quorum %q is not defined on a preceding line", f[1])
			}
			quorumLine, p.quorum = n, f[1]
		default:
			return nil, bad("unknown keyword %q", f[0])
		}
	}
	if quorumLine == 0 {
		return nil, &PolicyError{Reason: "no quorum line"}
	}
	return p, nil
}

// keyMaterial is the public key a vkey wraps, without name, key ID and type.
func keyMaterial(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return vkey
	}
	k, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(k) < 1 {
		return vkey
	}
	return string(k[1:])
}

func policyURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// Quorum is the name of the quorum rule: "none", a witness or a group.
func (p *Policy) Quorum() string { return p.quorum }

// Satisfied reports whether the witnesses named in cosigned (policy names)
// meet the quorum.
func (p *Policy) Satisfied(cosigned map[string]bool) bool {
	var met func(name string) bool
	met = func(name string) bool {
		if name == "none" {
			return true
		}
		if _, ok := p.witnesses[name]; ok {
			return cosigned[name]
		}
		g := p.groups[name]
		n := 0
		for _, m := range g.members {
			if met(m) {
				n++
			}
		}
		return n >= g.k
	}
	return met(p.quorum)
}

// Cosigners returns the policy names of the witnesses whose cosignatures in
// the opened note n verified (x/mod note.Open keeps only verified
// signatures in n.Sigs), leaving out those in exclude (policy names).
func (p *Policy) Cosigners(n *note.Note, exclude map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range n.Sigs {
		for _, w := range p.Witnesses {
			if s.Name == w.Verifier.Name() && s.Hash == w.Verifier.KeyHash() && !exclude[w.Name] {
				out[w.Name] = true
			}
		}
	}
	return out
}

// Verifiers are the witnesses' verifiers, for note.Open.
func (p *Policy) Verifiers() []note.Verifier {
	out := make([]note.Verifier, len(p.Witnesses))
	for i, w := range p.Witnesses {
		out[i] = w.Verifier
	}
	return out
}

// WitnessByKey returns the policy witness whose key is vkey's (same
// cosigner name and public key, whatever the vkey type).
func (p *Policy) WitnessByKey(vkey string) (*PolicyWitness, bool) {
	for i := range p.Witnesses {
		if cosig.Same(p.Witnesses[i].VKey, vkey) {
			return &p.Witnesses[i], true
		}
	}
	return nil, false
}
