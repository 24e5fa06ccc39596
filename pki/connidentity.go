package pki

import (
	"context"
	"crypto/x509"
	"net/http"
	"slices"
	"sync/atomic"
)

// WithConnIdentity returns ctx with an empty identity slot for one client
// connection. Servers call it from http.Server.ConnContext and
// http3.Server.ConnContext, so that every request of a connection carries
// the same slot in its context: IdentityFromRequest then derives the
// caller's identity from the verified certificate once per connection (on
// its first request) instead of once per request (URI parse and
// validation, ~20 us of a single-subject check).
//
// The identity is exactly what IdentityFromCert gives for the connection's
// verified leaf: a TLS 1.3 connection's verified chain cannot change after
// the handshake (crypto/tls offers no renegotiation or post-handshake
// authentication), and the slot is used only for the very certificate
// (pointer) it was derived from, so a request with another certificate, or
// one that reached the handler before the handshake verified a certificate
// (QUIC 0-RTT, were it enabled), is derived afresh and never answered
// from the slot.
//
// Without a slot (a server that does not call WithConnIdentity, or a
// request built by hand) each request derives the identity itself.
func WithConnIdentity(ctx context.Context) context.Context {
	return context.WithValue(ctx, connIdentityKey{}, new(connIdentity))
}

type connIdentityKey struct{}

// connIdentity is one connection's slot. The connection's requests (HTTP/2
// and HTTP/3 streams run concurrently) share it.
type connIdentity struct {
	// d is nil until a request with a verified certificate derives it.
	// Concurrent first requests may each derive it; the last store wins,
	// and all of them derived the same identity from the same certificate.
	d atomic.Pointer[derivedIdentity]
}

// derivedIdentity is an identity and the certificate it was derived from.
// It is never changed after it is stored.
type derivedIdentity struct {
	leaf *x509.Certificate
	id   Identity
}

// IdentityFromRequest returns the identity of the verified client
// certificate of r. A request without TLS, without a verified client
// certificate, or whose certificate carries no valid identity is
// Identity{Role: RolePublic}; the TLS configurations of this package refuse
// the last case during the handshake, so it does not arise behind them.
// On a connection with a slot (WithConnIdentity) the certificate is parsed
// on the connection's first request only. The Domains of the answer are
// the caller's to keep or change.
func IdentityFromRequest(r *http.Request) Identity {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return Identity{Role: RolePublic}
	}
	leaf := r.TLS.VerifiedChains[0][0]
	slot, _ := r.Context().Value(connIdentityKey{}).(*connIdentity)
	if slot != nil {
		if d := slot.d.Load(); d != nil && d.leaf == leaf {
			id := d.id
			id.Domains = slices.Clone(id.Domains)
			return id
		}
	}
	id, err := IdentityFromCert(leaf)
	if err != nil {
		return Identity{Role: RolePublic}
	}
	if slot != nil {
		d := &derivedIdentity{leaf: leaf, id: id}
		d.id.Domains = slices.Clone(id.Domains)
		slot.d.Store(d)
	}
	return id
}
