package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"go.yaml.in/yaml/v3"
)

// Credentials is what an agency (or admin, auditor) holds to talk to its
// region node: a client certificate and, for agencies that submit records,
// an Ed25519 record-signing key. A credentials directory contains tls.crt,
// tls.key, ca.crt, and optionally sign.key (PKCS#8 PEM) and match.key (the
// consortium matching key, needed to hash citizen IDs before signing).
type Credentials struct {
	Dir      string
	Identity pki.Identity
	Client   *http.Client
	SignKey  ed25519.PrivateKey // nil if the directory has none
	MatchKey *schemas.MatchKey  // nil if the directory has none
}

// LoadCredentials reads a credentials directory.
func LoadCredentials(dir string) (*Credentials, error) {
	cert, roots, err := pki.LoadCredentials(dir)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	id, err := pki.IdentityFromCert(leaf)
	if err != nil {
		return nil, err
	}
	c := &Credentials{Dir: dir, Identity: id}
	c.Client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS13},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 256,
	}}
	if k, err := ReadSignKey(filepath.Join(dir, "sign.key")); err == nil {
		c.SignKey = k
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "match.key")); err == nil {
		mk, err := schemas.ParseMatchKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s/match.key: %w", dir, err)
		}
		c.MatchKey = &mk
	}
	return c, nil
}

// ReadSignKey reads an Ed25519 record-signing key (PKCS#8 PEM).
func ReadSignKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

// WriteSignKey stores an Ed25519 record-signing key as PKCS#8 PEM (0600).
func WriteSignKey(path string, k ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// Sign signs a record with the credentials' signing key.
func (c *Credentials) Sign(r schemas.Record) ([]byte, error) {
	if c.SignKey == nil {
		return nil, fmt.Errorf("credentials %s have no sign.key", c.Dir)
	}
	return schemas.Sign(r, c.SignKey)
}

// SubmitError is a rejected submission: the HTTP status and the node's
// field errors.
type SubmitError struct {
	Status int
	Body   api.ErrorBody
}

func (e *SubmitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node answered %d: %s", e.Status, e.Body.Error)
	for _, fe := range e.Body.Errors {
		if fe.Record < 0 { // not about one record of a batch (e.g. a cluster request)
			fmt.Fprintf(&b, "\n  %s: %s (%s)", fe.Field, fe.Message, fe.Rule)
			continue
		}
		fmt.Fprintf(&b, "\n  record %d: %s: %s (%s)", fe.Record, fe.Field, fe.Message, fe.Rule)
	}
	return b.String()
}

// Submit posts signed entries to the node at baseURL and returns receipts.
func (c *Credentials) Submit(ctx context.Context, baseURL string, entries ...[]byte) ([]api.Receipt, error) {
	var body []byte
	if len(entries) == 1 {
		body = entries[0]
	} else {
		body = append([]byte("["), bytes.Join(entries, []byte(","))...)
		body = append(body, ']')
	}
	var sr api.SubmitResponse
	if err := c.do(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+"/v1/records", body, &sr); err != nil {
		return nil, err
	}
	return sr.Results, nil
}

// Post sends a JSON body and decodes the JSON answer into v.
func (c *Credentials) Post(ctx context.Context, url string, body []byte, v any) error {
	return c.do(ctx, http.MethodPost, url, body, v)
}

// Put sends a JSON body with PUT and decodes the JSON answer into v.
func (c *Credentials) Put(ctx context.Context, url string, body []byte, v any) error {
	return c.do(ctx, http.MethodPut, url, body, v)
}

// Delete sends a DELETE and decodes the JSON answer into v.
func (c *Credentials) Delete(ctx context.Context, url string, v any) error {
	return c.do(ctx, http.MethodDelete, url, nil, v)
}

// Get fetches a JSON resource from the node into v.
func (c *Credentials) Get(ctx context.Context, url string, v any) error {
	return c.do(ctx, http.MethodGet, url, nil, v)
}

func (c *Credentials) do(ctx context.Context, method, url string, body []byte, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		se := &SubmitError{Status: resp.StatusCode}
		if json.Unmarshal(b, &se.Body) != nil || se.Body.Error == "" {
			se.Body.Error = strings.TrimSpace(string(b))
		}
		return se
	}
	return json.Unmarshal(b, v)
}

// AgencyInfo describes a sample agency in a dev data directory (agency.yaml).
type AgencyInfo struct {
	Name    string   `yaml:"name"`
	USCC    string   `yaml:"uscc"`
	Region  string   `yaml:"region"`
	Role    string   `yaml:"role"`
	Domains []string `yaml:"domains,omitempty"`
}

// ReadAgencyInfo reads dir/agency.yaml.
func ReadAgencyInfo(dir string) (AgencyInfo, error) {
	var a AgencyInfo
	b, err := os.ReadFile(filepath.Join(dir, "agency.yaml"))
	if err != nil {
		return a, err
	}
	return a, yaml.Unmarshal(b, &a)
}

// HashIDs asks the node at baseURL for the keyed hashes of citizen IDs
// (POST /v1/persons/hash), for an agency that names persons in records it
// signs. The request is logged in the node's access log with purpose.
func (c *Credentials) HashIDs(ctx context.Context, baseURL, purpose string, ids ...string) ([]string, error) {
	body, err := json.Marshal(api.PersonsHashRequest{IDs: ids, Purpose: purpose})
	if err != nil {
		return nil, err
	}
	var resp api.PersonsHashResponse
	if err := c.Post(ctx, strings.TrimSuffix(baseURL, "/")+"/v1/persons/hash", body, &resp); err != nil {
		return nil, err
	}
	if len(resp.Hashes) != len(ids) {
		return nil, fmt.Errorf("persons/hash: %d hashes for %d IDs", len(resp.Hashes), len(ids))
	}
	return resp.Hashes, nil
}

// SubmitWitnessed posts signed entries with ?witnessed=1&wait=wait and
// returns receipts whose proofs carry the witness cosignatures.
func (c *Credentials) SubmitWitnessed(ctx context.Context, baseURL string, wait time.Duration, entries ...[]byte) ([]api.Receipt, error) {
	body := entries[0]
	if len(entries) != 1 {
		body = append(append([]byte("["), bytes.Join(entries, []byte(","))...), ']')
	}
	var sr api.SubmitResponse
	u := strings.TrimSuffix(baseURL, "/") + "/v1/records?witnessed=1&wait=" + wait.String()
	if err := c.do(ctx, http.MethodPost, u, body, &sr); err != nil {
		return nil, err
	}
	return sr.Results, nil
}
