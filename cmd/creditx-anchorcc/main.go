// Command creditx-anchorcc is the anchoring chaincode (package anchor) run
// as a Fabric external chaincode service ("chaincode as a service", package
// type ccaas): the peer connects to it over gRPC instead of starting a
// container. It is a separate binary so that the creditx binary does not
// carry the chaincode shim.
//
// Configuration is the environment, as Fabric's external builder
// convention has it:
//
//	CHAINCODE_ID              the package ID the peer printed at install (label:hash); required
//	CHAINCODE_SERVER_ADDRESS  listen address, e.g. 0.0.0.0:9999 (port 0 picks one; the log says which); required
//	CHAINCODE_TLS_DISABLED    "true" to serve without TLS (test networks only); otherwise TLS is required:
//	CHAINCODE_TLS_CERT        PEM server certificate
//	CHAINCODE_TLS_KEY         PEM server key
//	CHAINCODE_CLIENT_CA_CERT  PEM CA of the peers' client certificates; optional (then any peer may connect)
//
// It stops on SIGINT or SIGTERM: it stops accepting connections, lets the
// transactions in flight finish (up to 10 seconds) and exits 0. A
// transaction interrupted by the exit is not endorsed, and the peer's
// client retries it; the chaincode keeps no state of its own.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Getenv, logger); err != nil {
		logger.Error("creditx-anchorcc", "err", err)
		os.Exit(1)
	}
}
