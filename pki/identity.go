package pki

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Role is what a certificate holder may do. It is carried in the role
// parameter of the identity URI.
type Role string

// The roles. RolePublic is never written into a certificate: it is the
// identity of a caller that presented no verified client certificate.
const (
	RolePublish Role = "publish" // listing authority, scoped to its Domains
	RoleExecute Role = "execute" // executing agency
	RoleAudit   Role = "audit"   // regional auditor
	RoleAdmin   Role = "admin"   // credit-office administrator
	RoleReplica Role = "replica" // a raft replica of this region's node
	RoleMember  Role = "member"  // another member's node (inter-member exchange)
	RolePublic  Role = "public"  // no certificate
)

// The kinds of certificate holder, the first path segment of the URI.
const (
	KindAgency  = "agency"  // ID is the agency's unified social credit code
	KindReplica = "replica" // ID is the replica id, e.g. "zj-1"
	KindMember  = "member"  // ID is the member code, equal to Region
)

// URIScheme is the scheme of identity URIs. Changing it invalidates every
// issued certificate.
const URIScheme = "creditx"

// Identity is who a certificate holder is, as encoded in its leaf
// certificate (see Identity.URI for the byte format).
type Identity struct {
	Role    Role
	Region  string   // 6-digit division code of the issuing region
	Kind    string   // KindAgency, KindReplica or KindMember
	ID      string   // USCC, replica id or member code
	Name    string   // human name; the certificate's Subject CN
	Domains []string // listing domains; non-empty exactly for RolePublish
	Serial  string   // certificate serial, lowercase hex; empty if not from a certificate
}

// IdentityError reports which part of an identity is wrong and why.
type IdentityError struct {
	Field  string // "uri", "scheme", "region", "kind", "id", "role", "domain", "name", "organization", "san"
	Reason string
}

func (e *IdentityError) Error() string {
	return "pki: identity " + e.Field + ": " + e.Reason
}

func idErr(field, format string, args ...any) error {
	return &IdentityError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// URI encodes the identity as the URI SAN of its certificate. The format,
// version 1, byte by byte (all characters ASCII):
//
//	"creditx://" region "/" kind "/" id "?role=" role *("&domain=" domain)
//
//	region = 6 DIGIT, first digit not "0" (GB/T 2260 division code)
//	kind   = "agency" / "replica" / "member"
//	id     = for agency:  18 characters of 0-9 A-H J-N P-R T U W-Y, characters
//	                      3-8 digits (unified social credit code shape; the
//	                      check character is validated by schemas, not here)
//	         for replica: 1-32 of a-z 0-9 "-", starting with a letter, not
//	                      ending with "-"
//	         for member:  equal to region (a member's node certificate names
//	                      the member that issued it)
//	role   = "publish" / "execute" / "audit" / "admin"  (kind agency)
//	       / "replica"                                   (kind replica)
//	       / "member"                                    (kind member)
//	domain = 1-32 of a-z 0-9 "-" "_", starting with a letter
//
// domain parameters appear exactly when role is "publish" (at least one),
// in strictly ascending byte order (so no duplicates). No other parameters,
// userinfo, port, fragment or percent-escapes are allowed: every allowed
// character is unreserved, so the string is its own canonical form and
// IdentityFromURI accepts exactly the strings URI produces.
//
// Versioning: a new field becomes a new query parameter; parsers of this
// version reject it, so certificates using it must only be issued once every
// member runs a parser that understands it.
//
// URI does not validate; call Validate first (Issue does).
func (id Identity) URI() *url.URL {
	q := "role=" + string(id.Role)
	for _, d := range id.Domains {
		q += "&domain=" + d
	}
	return &url.URL{Scheme: URIScheme, Host: id.Region, Path: "/" + id.Kind + "/" + id.ID, RawQuery: q}
}

// Validate checks the fields that go into the URI (not Name or Serial).
// It returns an *IdentityError naming the first bad field.
func (id Identity) Validate() error {
	if !isRegion(id.Region) {
		return idErr("region", "%q is not a 6-digit division code", id.Region)
	}
	var roles []Role
	switch id.Kind {
	case KindAgency:
		if !isUSCCShape(id.ID) {
			return idErr("id", "%q is not an 18-character unified social credit code", id.ID)
		}
		roles = []Role{RolePublish, RoleExecute, RoleAudit, RoleAdmin}
	case KindReplica:
		if !isReplicaID(id.ID) {
			return idErr("id", "replica id %q must be 1-32 of a-z 0-9 '-', start with a letter, not end with '-'", id.ID)
		}
		roles = []Role{RoleReplica}
	case KindMember:
		if id.ID != id.Region {
			return idErr("id", "member code %q must equal the region %q", id.ID, id.Region)
		}
		roles = []Role{RoleMember}
	default:
		return idErr("kind", "%q is not agency, replica or member", id.Kind)
	}
	if !slices.Contains(roles, id.Role) {
		return idErr("role", "%q is not allowed for kind %s (want one of %v)", id.Role, id.Kind, roles)
	}
	if id.Role == RolePublish && len(id.Domains) == 0 {
		return idErr("domain", "role publish needs at least one domain")
	}
	if id.Role != RolePublish && len(id.Domains) != 0 {
		return idErr("domain", "only role publish carries domains, not %s", id.Role)
	}
	for i, d := range id.Domains {
		if !isDomain(d) {
			return idErr("domain", "%q must be 1-32 of a-z 0-9 '-' '_', starting with a letter", d)
		}
		if i > 0 && id.Domains[i-1] >= d {
			return idErr("domain", "domains must be sorted and unique: %q after %q", d, id.Domains[i-1])
		}
	}
	return nil
}

// IdentityFromURI parses an identity URI strictly (see Identity.URI): it
// returns an *IdentityError unless raw is exactly the URI of a valid
// identity. Name and Serial are left empty.
func IdentityFromURI(raw string) (Identity, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Identity{}, idErr("uri", "%v", err)
	}
	if u.Scheme != URIScheme {
		return Identity{}, idErr("scheme", "%q is not %q", u.Scheme, URIScheme)
	}
	if u.Opaque != "" || u.User != nil || u.Fragment != "" || u.RawFragment != "" || u.ForceQuery {
		return Identity{}, idErr("uri", "%q has opaque part, userinfo, fragment or empty query", raw)
	}
	if u.Port() != "" || strings.Contains(u.Host, ":") {
		return Identity{}, idErr("region", "%q must not carry a port", u.Host)
	}
	kind, rest, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !strings.HasPrefix(u.Path, "/") || !ok || strings.Contains(rest, "/") {
		return Identity{}, idErr("uri", "path %q is not /<kind>/<id>", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Identity{}, idErr("role", "query %q: %v", u.RawQuery, err)
	}
	for k := range q {
		if k != "role" && k != "domain" {
			return Identity{}, idErr("uri", "unknown parameter %q", k)
		}
	}
	if len(q["role"]) != 1 {
		return Identity{}, idErr("role", "want exactly one role parameter, have %d", len(q["role"]))
	}
	id := Identity{
		Role:    Role(q["role"][0]),
		Region:  u.Host,
		Kind:    kind,
		ID:      rest,
		Domains: q["domain"],
	}
	if err := id.Validate(); err != nil {
		return Identity{}, err
	}
	// Everything valid is unreserved ASCII, so the canonical encoding must
	// reproduce the input exactly; anything else (escapes, reordering) is
	// a second spelling of the same identity and is refused.
	if got := id.URI().String(); got != raw {
		return Identity{}, idErr("uri", "%q is not in canonical form %q", raw, got)
	}
	return id, nil
}

// Organization returns the Subject O of certificates issued in region.
func Organization(region string) string { return "creditx " + region }

// IdentityFromCert extracts the identity of a leaf certificate. It requires
// exactly one URI SAN that IdentityFromURI accepts, a Subject CN (the Name,
// valid UTF-8, at most 64 bytes) and exactly one Subject O equal to
// Organization(region). It does not verify the chain: use it on verified
// certificates only. Errors are *IdentityError. It keeps nothing: servers
// that want a connection's identity derived once use WithConnIdentity.
func IdentityFromCert(c *x509.Certificate) (Identity, error) {
	if c == nil {
		return Identity{}, idErr("san", "no certificate")
	}
	if c.IsCA {
		return Identity{}, idErr("san", "certificate %s is a CA, not a leaf", c.SerialNumber.Text(16))
	}
	if len(c.URIs) != 1 {
		return Identity{}, idErr("san", "want exactly one URI SAN, have %d", len(c.URIs))
	}
	id, err := IdentityFromURI(c.URIs[0].String())
	if err != nil {
		return Identity{}, err
	}
	if err := checkName(c.Subject.CommonName); err != nil {
		return Identity{}, err
	}
	if want := Organization(id.Region); len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != want {
		return Identity{}, idErr("organization", "subject O %q, want [%q]", c.Subject.Organization, want)
	}
	id.Name = c.Subject.CommonName
	id.Serial = c.SerialNumber.Text(16)
	return id, nil
}

func checkName(name string) error {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return idErr("name", "%q must be 1-64 bytes of UTF-8 without surrounding spaces", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return idErr("name", "%q contains a control character", name)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isRegion(s string) bool { return len(s) == 6 && s[0] != '0' && isDigits(s) }

const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func isUSCCShape(s string) bool {
	if len(s) != 18 || !isDigits(s[2:8]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(usccAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

func isLowerWord(s string, max int, extra string) bool {
	if len(s) == 0 || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

func isReplicaID(s string) bool { return isLowerWord(s, 32, "-") && !strings.HasSuffix(s, "-") }

func isDomain(s string) bool { return isLowerWord(s, 32, "-_") }
