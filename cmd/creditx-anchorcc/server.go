package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/creditx/creditx/anchor"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// config is the service's configuration, from the environment.
type config struct {
	ccid, addr string
	tls        *tls.Config // nil: TLS disabled
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{ccid: getenv("CHAINCODE_ID"), addr: getenv("CHAINCODE_SERVER_ADDRESS")}
	if c.ccid == "" {
		return c, errors.New("CHAINCODE_ID is required: the package ID printed by \"peer lifecycle chaincode install\"")
	}
	if c.addr == "" {
		return c, errors.New("CHAINCODE_SERVER_ADDRESS is required, e.g. 0.0.0.0:9999")
	}
	if getenv("CHAINCODE_TLS_DISABLED") == "true" {
		return c, nil
	}
	certFile, keyFile := getenv("CHAINCODE_TLS_CERT"), getenv("CHAINCODE_TLS_KEY")
	if certFile == "" || keyFile == "" {
		return c, errors.New("CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY are required unless CHAINCODE_TLS_DISABLED=true")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, fmt.Errorf("CHAINCODE_TLS_CERT/CHAINCODE_TLS_KEY: %w", err)
	}
	c.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile := getenv("CHAINCODE_CLIENT_CA_CERT"); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return c, fmt.Errorf("CHAINCODE_CLIENT_CA_CERT: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("CHAINCODE_CLIENT_CA_CERT: %s holds no PEM certificate", caFile)
		}
		c.tls.ClientCAs, c.tls.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// run serves the chaincode until ctx is done, then stops gracefully and
// returns nil; it returns an error if it cannot start or the server fails.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("CHAINCODE_SERVER_ADDRESS: %w", err)
	}
	return serve(ctx, lis, c, logger)
}

// serve is run on an open listener. The gRPC server is built here rather
// than by shim.ChaincodeServer.Start so that it can stop gracefully and
// listen on a port chosen by the system; the options are the shim's.
func serve(ctx context.Context, lis net.Listener, c config, logger *slog.Logger) error {
	opts := []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Minute, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(100 << 20), grpc.MaxSendMsgSize(100 << 20),
	}
	if c.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(c.tls)))
	}
	srv := grpc.NewServer(opts...)
	cc := &chaincode{logger: logger}
	peer.RegisterChaincodeServer(srv, &shim.ChaincodeServer{CCID: c.ccid, Address: lis.Addr().String(), CC: cc})
	logger.Info("creditx-anchorcc: serving", "ccid", c.ccid, "addr", lis.Addr().String(), "tls", c.tls != nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("grpc server: %w", err)
	case <-ctx.Done():
	}
	// Shutdown order: refuse new transactions, let those in flight finish
	// (a peer's stream is long-lived, so waiting for streams to end would
	// wait for the peer), then close the listener and the streams.
	cc.drain(10 * time.Second)
	srv.Stop()
	<-errc
	logger.Info("creditx-anchorcc: stopped")
	return nil
}

// chaincode adapts package anchor to the shim: the transaction's arguments
// as bytes, its state through the stub, any error as a 500 response (which
// the peer does not endorse, so a refused anchor writes nothing).
type chaincode struct {
	logger   *slog.Logger
	mu       sync.Mutex
	closing  bool           // guarded by mu: refuse new transactions
	inflight sync.WaitGroup // Add under mu
}

// drain refuses new transactions and waits up to grace for those running.
func (cc *chaincode) drain(grace time.Duration) {
	cc.mu.Lock()
	cc.closing = true
	cc.mu.Unlock()
	done := make(chan struct{})
	go func() { cc.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cc.logger.Warn("creditx-anchorcc: transactions still running at exit; the peer will not endorse them")
	}
}

// Init implements shim.Chaincode; the chaincode needs no initialisation
// (deploy it without --init-required).
func (cc *chaincode) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

// Invoke implements shim.Chaincode.
func (cc *chaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	cc.mu.Lock()
	if cc.closing {
		cc.mu.Unlock()
		return shim.Error("creditx-anchorcc: shutting down")
	}
	cc.inflight.Add(1)
	cc.mu.Unlock()
	defer cc.inflight.Done()
	args := stub.GetArgs()
	if len(args) == 0 {
		return shim.Error("anchor: function: no transaction name")
	}
	res, err := anchor.Invoke(stubState{stub}, string(args[0]), args[1:])
	if err != nil {
		cc.logger.Info("creditx-anchorcc: refused", "tx", stub.GetTxID(), "function", string(args[0]), "err", err)
		return shim.Error(err.Error())
	}
	return shim.Success(res)
}

// stubState is anchor.State over the transaction's world state.
type stubState struct {
	stub interface {
		GetState(key string) ([]byte, error)
		PutState(key string, value []byte) error
	}
}

// Get implements anchor.State: the shim returns nil, nil for an absent key.
func (s stubState) Get(key string) ([]byte, error) { return s.stub.GetState(key) }

// Put implements anchor.State: the write joins the transaction's write set.
func (s stubState) Put(key string, value []byte) error { return s.stub.PutState(key, value) }
