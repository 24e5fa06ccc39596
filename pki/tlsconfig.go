package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ALPN protocol names offered by the configurations of this package.
// Changing PeerProtocol breaks raft traffic between old and new replicas.
const (
	PeerProtocol = "creditx-raft/1"
)

// ServerProtocols are the ALPN protocols ServerConfig offers, in order of
// preference.
func ServerProtocols() []string { return []string{"h3", "h2", "http/1.1"} }

// RefusedError is why a handshake refused a peer certificate that chained
// correctly: its identity is wrong for this endpoint, or it is revoked.
type RefusedError struct {
	Identity Identity // as far as it could be parsed
	Reason   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("pki: refused %s/%s/%s role %s serial %s: %s",
		e.Identity.Region, e.Identity.Kind, e.Identity.ID, e.Identity.Role, e.Identity.Serial, e.Reason)
}

// Option adjusts a TLS configuration built by this package.
type Option func(*options)

type options struct {
	revoked *RevocationList
}

// WithRevocation makes the configuration refuse peer certificates whose
// serial is on rl, checked on every handshake (so rl.Reload takes effect
// for new connections; established ones are not cut).
func WithRevocation(rl *RevocationList) Option { return func(o *options) { o.revoked = rl } }

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ServerConfig is the TLS 1.3 configuration of a node's API endpoints
// (HTTP/3, HTTP/2 and HTTP/1.1). A client certificate is optional: without
// one the caller is RolePublic. A certificate that is given must chain to
// clientCAs (the region CA plus, for the exchange, the other members' CAs),
// carry a valid identity whose region is the region of the CA it chains to,
// and, unless its role is member, be of this node's region, the region of
// cert's own identity. If cert carries no identity, every client
// certificate is refused (public access still works). Callers still decide
// per request what the identity may do (IdentityFromRequest).
func ServerConfig(cert tls.Certificate, clientCAs *x509.CertPool, opts ...Option) *tls.Config {
	o := collect(opts)
	local, localErr := ownIdentity(cert)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    clientCAs,
		NextProtos:   ServerProtocols(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil
			}
			if localErr != nil {
				return fmt.Errorf("pki: server certificate has no identity, so client certificates cannot be checked: %w", localErr)
			}
			if len(cs.VerifiedChains) == 0 {
				return errors.New("pki: client certificate not verified")
			}
			id, err := chainIdentity(cs.VerifiedChains[0])
			if err != nil {
				return err
			}
			if id.Role != RoleMember && id.Region != local.Region {
				return &RefusedError{id, fmt.Sprintf("role %s is only accepted from region %s", id.Role, local.Region)}
			}
			return o.revoked.check(id)
		},
	}
}

// ClientConfig is the TLS 1.3 configuration for calling a node's API:
// it presents cert (if it has one), verifies the server against roots and
// serverName as usual, and refuses a revoked server certificate when
// WithRevocation is given. NextProtos is left to the HTTP transport.
func ClientConfig(cert tls.Certificate, roots *x509.CertPool, serverName string, opts ...Option) *tls.Config {
	o := collect(opts)
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    roots,
		ServerName: serverName,
	}
	if len(cert.Certificate) > 0 {
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.revoked != nil {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("pki: server sent no certificate")
			}
			return o.revoked.checkCert(cs.PeerCertificates[0])
		}
	}
	return cfg
}

// PeerConfig is the TLS 1.3 configuration for replica-to-replica (raft)
// traffic, used unchanged on both the listening and the dialing side. Both
// sides must present a certificate chaining to regionCA whose identity has
// kind and role replica and the same region as cert's own identity, and both
// must negotiate ALPN PeerProtocol. Host names are not checked: replicas are
// addressed by raft address, and the identity is what is authorised.
// PeerConfig fails if cert is not itself a replica certificate.
func PeerConfig(cert tls.Certificate, regionCA *x509.CertPool, opts ...Option) (*tls.Config, error) {
	o := collect(opts)
	local, err := ownIdentity(cert)
	if err != nil {
		return nil, err
	}
	if local.Role != RoleReplica {
		return nil, &RefusedError{local, "own certificate for peer traffic must have role replica"}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    regionCA,
		RootCAs:      regionCA,
		NextProtos:   []string{PeerProtocol},
		// The dialing side verifies the chain in VerifyConnection below,
		// without the host name check; the listening side has it verified
		// by crypto/tls (RequireAndVerifyClientCert).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.NegotiatedProtocol != PeerProtocol {
				return fmt.Errorf("pki: peer did not negotiate %q", PeerProtocol)
			}
			chain, err := peerChain(cs, regionCA)
			if err != nil {
				return err
			}
			id, err := chainIdentity(chain)
			if err != nil {
				return err
			}
			if id.Role != RoleReplica || id.Region != local.Region {
				return &RefusedError{id, fmt.Sprintf("peer traffic needs role replica of region %s", local.Region)}
			}
			return o.revoked.check(id)
		},
	}, nil
}

// peerChain returns a verified chain for the peer: the one crypto/tls
// verified (listening side), or one verified here (dialing side).
func peerChain(cs tls.ConnectionState, roots *x509.CertPool) ([]*x509.Certificate, error) {
	if len(cs.VerifiedChains) > 0 {
		return cs.VerifiedChains[0], nil
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, errors.New("pki: peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("pki: peer certificate: %w", err)
	}
	return chains[0], nil
}

// chainIdentity parses the leaf's identity and checks it names the region
// of the CA the chain ends in.
func chainIdentity(chain []*x509.Certificate) (Identity, error) {
	id, err := IdentityFromCert(chain[0])
	if err != nil {
		return Identity{}, err
	}
	caReg, err := caRegion(chain[len(chain)-1])
	if err != nil {
		return Identity{}, &RefusedError{id, err.Error()}
	}
	if caReg != id.Region {
		return Identity{}, &RefusedError{id, fmt.Sprintf("issued by the CA of region %s", caReg)}
	}
	return id, nil
}

func ownIdentity(cert tls.Certificate) (Identity, error) {
	leaf := cert.Leaf
	if leaf == nil {
		if len(cert.Certificate) == 0 {
			return Identity{}, errors.New("pki: no certificate")
		}
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return Identity{}, fmt.Errorf("pki: own certificate: %w", err)
		}
	}
	return IdentityFromCert(leaf)
}
