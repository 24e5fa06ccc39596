package pki

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// HandshakeTimeout bounds the server side of a raft connection's TLS
// handshake; a peer that does not finish in time is disconnected.
const HandshakeTimeout = 10 * time.Second

// StreamLayer carries hashicorp/raft's NetworkTransport over mutual TLS.
// It implements raft.StreamLayer. Accepted connections do their handshake
// on first use, in the transport's per-connection goroutine, so a slow or
// hostile peer cannot stall Accept; a refused handshake makes that read fail
// and the transport drops the connection. Dial completes the handshake
// before returning, within the timeout. Note that in TLS 1.3 the dialer
// learns that the listener refused its certificate only on its first read,
// so a refused dialer sees its first RPC fail, not Dial.
type StreamLayer struct {
	ln        net.Listener // owned; closed by Close
	advertise net.Addr
	serverCfg *tls.Config // never modified
	clientCfg *tls.Config // never modified
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewTLSStreamLayer wraps ln. advertise is the address other replicas dial
// (nil means ln.Addr()). serverCfg and clientCfg are normally the same
// PeerConfig, which makes both directions require a replica certificate of
// the same region.
func NewTLSStreamLayer(ln net.Listener, advertise net.Addr, serverCfg, clientCfg *tls.Config) *StreamLayer {
	if advertise == nil {
		advertise = ln.Addr()
	}
	return &StreamLayer{ln: ln, advertise: advertise, serverCfg: serverCfg, clientCfg: clientCfg}
}

// Accept waits for the next connection and returns it unhandshaken.
func (s *StreamLayer) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	return &serverConn{Conn: tls.Server(c, s.serverCfg)}, nil
}

// Close closes the listener; established connections stay open.
func (s *StreamLayer) Close() error { return s.ln.Close() }

// Addr returns the advertised address.
func (s *StreamLayer) Addr() net.Addr { return s.advertise }

// Dial connects to a replica and completes the TLS handshake within timeout.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	d := &tls.Dialer{Config: s.clientCfg}
	c, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("pki: dialing replica %s: %w", address, err)
	}
	return c, nil
}

// serverConn performs the server handshake, bounded by HandshakeTimeout, on
// the first Read or Write.
type serverConn struct {
	*tls.Conn
	once sync.Once
	err  error // set once by once
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("pki: handshake with %s: %w", c.RemoteAddr(), err)
			c.Conn.Close()
		}
	})
	return c.err
}

func (c *serverConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *serverConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
