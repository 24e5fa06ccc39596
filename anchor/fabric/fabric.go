// Package fabric is the Hyperledger Fabric client of the anchoring
// chaincode (package anchor, served by cmd/creditx-anchorcc), built on
// fabric-gateway v1.12.0: it talks gRPC with TLS to one peer's Gateway
// service (Fabric 2.4 or later), which endorses, orders and waits for the
// commit on the client's behalf.
//
// Guarantees: Put returns only after the transaction committed valid on the
// channel (or with an error: not endorsed, because the chaincode refused it
// or no peer answered; or committed invalid, for example an MVCC conflict
// with a concurrent Put of the same member, after which retrying is safe);
// Get and Latest evaluate on one peer and return what its committed state
// holds, checked to be the anchor asked for (anchor.ParseQueryResult).
// Arguments and results are the byte formats of package anchor.
//
// How it fails: every error names the transaction, the member and the
// size, and wraps fabric-gateway's error (*client.EndorseError,
// *client.SubmitError, *client.CommitStatusError, *client.CommitError,
// whose details carry the chaincode's message); a query of something not
// anchored wraps anchor.ErrNotFound. Config errors name the FABRIC_*
// variable (or field) and why.
//
// TestFabricIntegration runs against a live network only when the FABRIC_*
// variables are set (anchor/README.md says how to start one).
package fabric

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Config says how to reach the anchoring chaincode. Paths are PEM files; a
// path naming a directory (Fabric's msp/signcerts, msp/keystore) means the
// one file in it.
type Config struct {
	PeerEndpoint string // FABRIC_PEER_ENDPOINT: host:port of the peer's gateway service, e.g. localhost:7051
	ServerName   string // FABRIC_SERVER_NAME: TLS name of the peer if not the endpoint's host, e.g. peer0.org1.example.com; optional
	TLSCACert    string // FABRIC_TLS_CA: the peer's TLS CA certificate
	MSPID        string // FABRIC_MSP_ID: the client identity's MSP, e.g. Org1MSP
	Cert         string // FABRIC_CERT: the client identity's certificate (msp/signcerts)
	Key          string // FABRIC_KEY: its private key (msp/keystore)
	Channel      string // FABRIC_CHANNEL: e.g. creditx-anchors
	Chaincode    string // FABRIC_CHAINCODE: e.g. creditx-anchor
}

// Env names of the Config fields, in field order.
var envNames = []string{"FABRIC_PEER_ENDPOINT", "FABRIC_SERVER_NAME", "FABRIC_TLS_CA", "FABRIC_MSP_ID",
	"FABRIC_CERT", "FABRIC_KEY", "FABRIC_CHANNEL", "FABRIC_CHAINCODE"}

func (c *Config) fields() []*string {
	return []*string{&c.PeerEndpoint, &c.ServerName, &c.TLSCACert, &c.MSPID, &c.Cert, &c.Key, &c.Channel, &c.Chaincode}
}

// ConfigFromEnv fills the fields of c that are empty from the FABRIC_*
// environment variables and returns it. It does not validate.
func ConfigFromEnv(c Config) Config {
	for i, f := range c.fields() {
		if *f == "" {
			*f = os.Getenv(envNames[i])
		}
	}
	return c
}

// Set reports whether any field is set, that is whether the caller asked
// for Fabric at all.
func (c Config) Set() bool {
	for _, f := range c.fields() {
		if *f != "" {
			return true
		}
	}
	return false
}

// Validate returns an error naming the first required field (by its
// FABRIC_* name) that is empty.
func (c Config) Validate() error {
	for i, f := range c.fields() {
		if *f == "" && envNames[i] != "FABRIC_SERVER_NAME" {
			return fmt.Errorf("fabric: %s is required (the --%s flag or the environment variable)", envNames[i], flagName(envNames[i]))
		}
	}
	return nil
}

// flagName is the creditx flag of an env name: FABRIC_TLS_CA -> fabric-tls-ca.
func flagName(env string) string {
	b := []byte(env)
	for i, c := range b {
		switch {
		case c == '_':
			b[i] = '-'
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FlagNames returns the creditx flag names of Config's fields, in field
// order (for commands that expose them).
func FlagNames() []string {
	out := make([]string, len(envNames))
	for i, e := range envNames {
		out[i] = flagName(e)
	}
	return out
}

// Fields returns pointers to Config's fields in FlagNames' order.
func (c *Config) Fields() []*string { return c.fields() }

// readPEM reads path, or the single regular file in directory path.
func readPEM(env, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fabric: %s: %w", env, err)
	}
	if st.IsDir() {
		es, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("fabric: %s: %w", env, err)
		}
		var files []string
		for _, e := range es {
			if e.Type().IsRegular() {
				files = append(files, e.Name())
			}
		}
		if len(files) != 1 {
			return nil, fmt.Errorf("fabric: %s: directory %s holds %d files, want exactly one", env, path, len(files))
		}
		path = filepath.Join(path, files[0])
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fabric: %s: %w", env, err)
	}
	return b, nil
}

// Client submits anchors to, and reads them from, the chaincode. Safe for
// concurrent use.
type Client struct {
	conn     *grpc.ClientConn
	gw       *client.Gateway
	contract *client.Contract
}

// Dial checks c, reads the identity and TLS files and prepares the
// connection. It does not contact the peer: the first call does.
func Dial(c Config) (*Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	caPEM, err := readPEM("FABRIC_TLS_CA", c.TLSCACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("fabric: FABRIC_TLS_CA: %s holds no PEM certificate", c.TLSCACert)
	}
	certPEM, err := readPEM("FABRIC_CERT", c.Cert)
	if err != nil {
		return nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("fabric: FABRIC_CERT: %s: %w", c.Cert, err)
	}
	id, err := identity.NewX509Identity(c.MSPID, cert)
	if err != nil {
		return nil, fmt.Errorf("fabric: FABRIC_CERT: %w", err)
	}
	keyPEM, err := readPEM("FABRIC_KEY", c.Key)
	if err != nil {
		return nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("fabric: FABRIC_KEY: %s: %w", c.Key, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, fmt.Errorf("fabric: FABRIC_KEY: %w", err)
	}
	conn, err := grpc.NewClient(c.PeerEndpoint, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, c.ServerName)))
	if err != nil {
		return nil, fmt.Errorf("fabric: FABRIC_PEER_ENDPOINT %q: %w", c.PeerEndpoint, err)
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn),
		client.WithEvaluateTimeout(10*time.Second), client.WithEndorseTimeout(30*time.Second),
		client.WithSubmitTimeout(10*time.Second), client.WithCommitStatusTimeout(2*time.Minute))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("fabric: gateway: %w", err)
	}
	return &Client{conn: conn, gw: gw, contract: gw.GetNetwork(c.Channel).GetContract(c.Chaincode)}, nil
}

// Close releases the gateway and its connection.
func (c *Client) Close() error {
	c.gw.Close()
	return c.conn.Close()
}

// Put submits anchor.TxPut with a consistency proof from the member's
// latest anchor and waits for the commit. It reports whether the chaincode
// wrote anything.
func (c *Client) Put(ctx context.Context, a anchor.Anchor, proof tlog.TreeProof) (bool, error) {
	res, err := c.contract.SubmitWithContext(ctx, anchor.TxPut, client.WithBytesArguments(a.Encode(), anchor.EncodeProof(proof)))
	if err != nil {
		return false, fmt.Errorf("fabric: %s %s@%d: %w%s", anchor.TxPut, a.Member, a.Size, err, details(err))
	}
	return anchor.ParsePutResult(res)
}

// Latest returns member's latest anchor on the channel.
func (c *Client) Latest(ctx context.Context, member string) (anchor.Anchor, error) {
	res, err := c.contract.EvaluateWithContext(ctx, anchor.TxLatest, client.WithArguments(member))
	if err != nil {
		return anchor.Anchor{}, fmt.Errorf("fabric: %s %s: %w%s", anchor.TxLatest, member, err, details(err))
	}
	return anchor.ParseQueryResult(res, member, 0)
}

// Get returns member's anchor at size.
func (c *Client) Get(ctx context.Context, member string, size uint64) (anchor.Anchor, error) {
	res, err := c.contract.EvaluateWithContext(ctx, anchor.TxGet, client.WithArguments(member, strconv.FormatUint(size, 10)))
	if err != nil {
		return anchor.Anchor{}, fmt.Errorf("fabric: %s %s@%d: %w%s", anchor.TxGet, member, size, err, details(err))
	}
	return anchor.ParseQueryResult(res, member, size)
}

// details returns the per-peer details fabric-gateway attaches to an error
// ("failed to evaluate transaction, see attached details" says nothing by
// itself: the details name the peer and, for example, that the chaincode
// service is unreachable), as "; details: peer ADDR (MSP): message; ...",
// or "" when there are none.
func details(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, d := range st.Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok {
			if b.Len() == 0 {
				b.WriteString("; details:")
			}
			fmt.Fprintf(&b, " peer %s (%s): %s;", ed.GetAddress(), ed.GetMspId(), ed.GetMessage())
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}
