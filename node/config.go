package node

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node/raftcluster"
	"go.yaml.in/yaml/v3"
)

// Listeners are a replica's sockets bound before New (Config.Listeners).
type Listeners struct {
	API   net.Listener   // the HTTPS API, instead of Listen
	HTTP3 net.PacketConn // HTTP/3 of an exchange member: the UDP port of API's number (ignored without an exchange)
	Raft  net.Listener   // the raft transport, instead of RaftListen
}

// close closes the sockets that are set.
func (l Listeners) close() {
	if l.API != nil {
		l.API.Close()
	}
	if l.HTTP3 != nil {
		l.HTTP3.Close()
	}
	if l.Raft != nil {
		l.Raft.Close()
	}
}

// Config is one replica's configuration, read from a YAML file (see
// deploy/ for examples). Relative paths are relative to DataDir.
type Config struct {
	// Region is the member's GB/T 2260 division code, e.g. "330000". Required.
	// The region's ledger has origin "creditx.<Region>/ledger".
	Region string `yaml:"region"`
	// Name is the member's display name, e.g. "Zhejiang". Optional.
	Name string `yaml:"name"`
	// ReplicaID identifies this replica in the raft cluster, e.g. "zj-1". Required.
	ReplicaID string `yaml:"replica_id"`
	// DataDir holds ledger.db, raft/ and (by default) keys and credentials. Required.
	DataDir string `yaml:"data_dir"`
	// Listen is the HTTPS API address; default "127.0.0.1:8443".
	Listen string `yaml:"listen"`
	// RaftListen is the raft transport address (mutual TLS between replicas
	// of this region); default "127.0.0.1:9443". RaftAdvertise defaults to it.
	RaftListen    string `yaml:"raft_listen"`
	RaftAdvertise string `yaml:"raft_advertise"`
	// Peers lists every replica of the region including this one. With a
	// single replica it may be empty.
	Peers []raftcluster.Peer `yaml:"peers"`
	// Bootstrap makes a replica with no raft state create the cluster from
	// Peers. Set it on every initial replica; never on a replica that joins later.
	Bootstrap bool `yaml:"bootstrap"`
	// Join is the https:// URL of a replica of the running cluster (any
	// replica: a follower forwards to the leader), e.g.
	// "https://zj1.example:8443". At start, unless this replica already is a
	// voter, it asks that replica (POST /v1/cluster/replicas, with its replica
	// certificate) to add ReplicaID at RaftAdvertise as a voter, retrying with
	// backoff until accepted; raft then sends it a snapshot and the log.
	// Requires bootstrap: false; Peers may be empty or list the region's
	// replicas (writes are forwarded to a leader only if Peers lists it).
	// The --join flag of creditx serve sets it.
	Join string `yaml:"join,omitempty"`
	// Raft timings; zero values are the defaults documented on raftcluster.Tuning.
	Raft raftcluster.Tuning `yaml:"raft"`
	// LogKey is the note signing key file of the region's ledger (every
	// replica of the region holds the same key). Default "keys/log.key".
	LogKey string `yaml:"log_key"`
	// AccessKey signs the access log's checkpoints. Default "keys/access.key".
	AccessKey string `yaml:"access_key"`
	// TLS is this replica's credentials directory (tls.crt, tls.key, ca.crt),
	// issued by the region CA with role "replica". Default "tls/replica".
	TLS string `yaml:"tls"`
	// Anchors are the credit office's admin keys: the only keys that may sign
	// governance records registering or revoking agency keys. At least one.
	Anchors []AnchorConfig `yaml:"anchors"`
	// MatchKey is the file holding the consortium's hex HMAC key used to
	// match personal identifiers. Default "keys/match.key".
	MatchKey string `yaml:"match_key"`
	// VaultKey is the file holding the region's hex vault key (32 bytes,
	// the same on every replica), which wraps the data keys of sealed
	// personal data. Default "keys/vault.key". If the file does not exist
	// the vault is disabled: its endpoints answer 503, the node runs.
	VaultKey string `yaml:"vault_key,omitempty"`
	// Sanctions configures joint punishment (notices to this member's
	// executing agencies); see SanctionsConfig.
	Sanctions SanctionsConfig `yaml:"sanctions"`
	// MaxBodyBytes bounds a request body; default 8 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch bounds the records in one POST /v1/records; default 1000.
	MaxBatch int `yaml:"max_batch"`
	// RateLimit bounds how fast one client may call the API: per client
	// certificate (default 200 requests/s, burst 400) and per IP for the
	// public (default 20/s, burst 40); a negative rate disables that limit.
	// The tiles API has its own budget (default 1000/s, burst 2000).
	// Replicas, members and probes are never limited. On by default,
	// also on a development node; see RateLimitConfig.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// Timeouts bound how long one HTTP request may hold a connection
	// (headers 10s, request 60s, answer 60s per route, idle 60s); see
	// TimeoutsConfig.
	Timeouts TimeoutsConfig `yaml:"timeouts"`

	// Exchange, if set, makes this region a member of the consortium: it
	// mirrors and witnesses the other members' ledgers and has its own
	// checkpoints witnessed (package exchange). Without it the node runs alone.
	Exchange *ExchangeConfig `yaml:"exchange,omitempty"`

	// Logger receives the node's logs; nil means discard.
	Logger *slog.Logger `yaml:"-"`

	// Listeners, where set, are sockets already bound for this replica,
	// used instead of binding Listen and RaftListen; a nil field is bound
	// from the address as usual. Tests hold them from the moment they pick
	// the ports until the node starts, so no other process can take a port
	// in between (nodetest.HoldListeners). New takes ownership of the ones
	// it is given: they are closed when the node stops, or by New if it
	// fails.
	Listeners Listeners `yaml:"-"`

	// SkipLedgerScan skips the start-up check's full reads of ledger.db
	// (every bbolt page, and every entry against its tile: the whole file,
	// read through page faults, ~20 s per GB on this VM, so ~13 min at 10^7
	// listings), keeping the cheap ones (checkpoint file, raft's applied
	// index). For benchmarks that restart a ledger the same tool has just
	// built (creditx bench check --local-dir); not settable from a config
	// file, never for a replica in service.
	SkipLedgerScan bool `yaml:"-"`
}

// ExchangeConfig is the exchange section of a replica's config. Relative
// paths are relative to DataDir.
type ExchangeConfig struct {
	// Manifest is the consortium manifest file (exchange.ParseManifest). Required.
	Manifest string `yaml:"manifest"`
	// Credentials is the member credentials directory (tls.crt, tls.key,
	// ca.crt): a certificate of kind and role member issued by the region CA.
	// Default "tls/member".
	Credentials string `yaml:"credentials"`
	// WitnessKey is the member's witness signing key (note key named
	// creditx.<region>/witness). Default "keys/witness.key".
	WitnessKey string `yaml:"witness_key"`
	// PullInterval is how often mirrors poll the other members (covering
	// lost pushes); default 1s.
	PullInterval time.Duration `yaml:"pull_interval"`
	// PushInterval is the least time between two looks of the leader for
	// a new own checkpoint to have witnessed (it looks after applies, and
	// every 5 s without one); default 100ms.
	PushInterval time.Duration `yaml:"push_interval"`
	// WitnessSpares is how many member witnesses beyond the quorum each own
	// checkpoint is pushed to first (issue 20: not every member); the others,
	// in rendezvous order, only when those do not make the quorum. Default 2;
	// negative: none. With a witness_policy every member witness is asked.
	WitnessSpares int `yaml:"witness_spares,omitempty"`
	// WitnessLogs are logs outside the consortium this member witnesses
	// for any caller (C2SP tlog-witness); see WitnessLogConfig. Default none.
	WitnessLogs []WitnessLogConfig `yaml:"witness_logs,omitempty"`
}

// AnchorConfig is a trust anchor: a credit-office admin signing key.
type AnchorConfig struct {
	Name      string `yaml:"name"`
	USCC      string `yaml:"uscc"`
	PublicKey string `yaml:"public_key"` // std base64 Ed25519 public key
}

// LoadConfig reads a YAML config strictly (unknown fields are errors).
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := yaml.NewDecoder(f)
	d.KnownFields(true)
	var c Config
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Dir(path)
	}
	return &c, nil
}

// WriteConfig writes c as YAML to path (0600).
func WriteConfig(path string, c *Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// withDefaults returns a copy of c with defaults filled in and paths resolved.
func (c Config) withDefaults() (Config, error) {
	var errs []string
	if len(c.Region) != 6 || strings.Trim(c.Region, "0123456789") != "" {
		errs = append(errs, fmt.Sprintf("region: %q is not a 6-digit division code", c.Region))
	}
	if c.ReplicaID == "" {
		errs = append(errs, "replica_id: required")
	}
	if c.DataDir == "" {
		errs = append(errs, "data_dir: required")
	}
	if len(c.Anchors) == 0 {
		errs = append(errs, "anchors: at least one credit-office admin key is required")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("invalid config: %s", strings.Join(errs, "; "))
	}
	c.Listen = or(c.Listen, "127.0.0.1:8443")
	c.RaftListen = or(c.RaftListen, "127.0.0.1:9443")
	c.RaftAdvertise = or(c.RaftAdvertise, c.RaftListen)
	c.MaxBodyBytes = or(c.MaxBodyBytes, 8<<20)
	c.MaxBatch = or(c.MaxBatch, 1000)
	c.RateLimit = c.RateLimit.WithDefaults()
	abs := func(p, def string) string {
		p = or(p, def)
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(c.DataDir, p)
	}
	c.LogKey = abs(c.LogKey, "keys/log.key")
	c.AccessKey = abs(c.AccessKey, "keys/access.key")
	c.TLS = abs(c.TLS, "tls/replica")
	c.MatchKey = abs(c.MatchKey, "keys/match.key")
	c.VaultKey = abs(c.VaultKey, "keys/vault.key")
	c.Sanctions.Agencies = abs(c.Sanctions.Agencies, "keys/agencies.yaml")
	c.Sanctions.IssuerKey = abs(c.Sanctions.IssuerKey, "keys/issuer.key")
	c.Sanctions.LoopKey = abs(c.Sanctions.LoopKey, "keys/loop.key")
	if c.Sanctions.Catalogue != "" {
		c.Sanctions.Catalogue = abs(c.Sanctions.Catalogue, "")
	}
	c.Sanctions.Catalogues = slices.Clone(c.Sanctions.Catalogues)
	for i, p := range c.Sanctions.Catalogues {
		c.Sanctions.Catalogues[i] = abs(p, "")
	}
	if c.Exchange != nil {
		x := *c.Exchange
		if x.Manifest == "" {
			return c, fmt.Errorf("invalid config: exchange.manifest: required")
		}
		x.Manifest = abs(x.Manifest, "")
		x.Credentials = abs(x.Credentials, "tls/member")
		x.WitnessKey = abs(x.WitnessKey, "keys/witness.key")
		x.PullInterval = or(x.PullInterval, time.Second)
		x.PushInterval = or(x.PushInterval, 100*time.Millisecond)
		if x.WitnessSpares == 0 {
			x.WitnessSpares = exchange.DefaultWitnessSpares
		}
		c.Exchange = &x
	}
	if len(c.Peers) == 0 {
		c.Peers = []raftcluster.Peer{{ID: c.ReplicaID, Raft: c.RaftAdvertise, API: "https://" + c.Listen}}
		c.Bootstrap = c.Join == ""
	}
	if c.Join != "" && (c.Bootstrap || !strings.HasPrefix(c.Join, "https://")) {
		return c, fmt.Errorf("invalid config: join: %q needs an https:// URL and bootstrap: false", c.Join)
	}
	found := false
	for _, p := range c.Peers {
		found = found || p.ID == c.ReplicaID
	}
	if !found {
		return c, fmt.Errorf("invalid config: peers: replica_id %q is not in the peer list", c.ReplicaID)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// or is v, or def if v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
