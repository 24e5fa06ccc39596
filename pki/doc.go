// Package pki is the mutual-TLS trust of a creditx region: a region CA,
// the leaf certificates it issues, the identity those certificates carry,
// and the TLS 1.3 configurations that enforce it, including the raft
// transport between replicas.
//
// Guarantees:
//
//   - Every leaf names exactly one Identity in one URI SAN
//     (creditx://<region>/<kind>/<id>?role=<role>[&domain=<d>...], see
//     Identity.URI). Parsing is strict: IdentityFromURI accepts exactly the
//     strings Identity.URI produces for valid identities
//     (TestIdentityRoundTrip, FuzzIdentityFromURI), so one identity has one
//     spelling.
//   - A region CA can only issue for its own region: its certificate carries
//     a URI name constraint on its region code, and the TLS configurations
//     also refuse a leaf whose region differs from the region of the CA it
//     chains to (TestServerConfig "foreign region").
//   - ServerConfig lets callers without a certificate in as RolePublic and
//     refuses, during the handshake, any certificate that does not chain to
//     the given pool, carries no valid identity, is revoked, or is of another
//     region without role member. PeerConfig, used for raft, requires a
//     replica certificate of the same region on both sides (TestPeerConfig,
//     TestStreamLayerRaft).
//   - IdentityFromRequest answers exactly what IdentityFromCert gives for
//     the request's verified leaf. The package keeps no state between
//     calls: a server that wants the identity derived once per connection
//     gives each connection a slot (WithConnIdentity from ConnContext), and
//     a connection's slot serves only the certificate it was derived from
//     (TestConnIdentity, over HTTP/2 and HTTP/3).
//   - Private keys are written with mode 0600 and never overwritten; loading
//     refuses key files readable by group or others.
//
// Failure modes: bad identities return *IdentityError naming the field; a
// refused handshake surfaces on the refusing side as *RefusedError (or an
// *IdentityError or x509 error) from crypto/tls, and on the other side as a
// TLS alert; in TLS 1.3 a client learns that its certificate was refused
// only on its first read. File errors name the file. Nothing in this package
// logs; callers log handshake errors they see. Revocation is a locally
// loaded list of serials (RevocationList); there is no CRL or OCSP.
//
// Keys are ECDSA P-256 (accepted by curl, browsers and every TLS 1.3
// stack). Record signing keys (Ed25519) and ledger note keys are not made
// here but by "creditx keys issue" and "creditx keys gen".
package pki
