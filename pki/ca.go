package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// File names in CA and credential directories. Changing them breaks every
// existing deployment.
const (
	CACertFile   = "ca.crt"  // PEM "CERTIFICATE": the region CA certificate
	CAKeyFile    = "ca.key"  // PEM "PRIVATE KEY" (PKCS#8, ECDSA P-256), mode 0600
	CertFile     = "tls.crt" // PEM "CERTIFICATE": the leaf
	KeyFile      = "tls.key" // PEM "PRIVATE KEY" (PKCS#8, ECDSA P-256), mode 0600
	RevokedFile  = "revoked.txt"
	pemCert      = "CERTIFICATE"
	pemKey       = "PRIVATE KEY"
	clockSkew    = 5 * time.Minute // certificates are valid this long before they are issued
	maxCANameLen = 64
)

// CA is a region certificate authority: a self-signed ECDSA P-256
// certificate whose Subject is CN=<name>, O="creditx <region>", constrained
// to issue only identity URIs whose host is its region (a name constraint,
// so x509 verification itself refuses a CA issuing for another region).
// A CA is immutable after NewCA or LoadCA and safe for concurrent use.
type CA struct {
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
	Region string // 6-digit division code, from the Subject O
}

// NewCA creates a region CA valid from now-5min to now+validity.
func NewCA(region, name string, now time.Time, validity time.Duration) (*CA, error) {
	if !isRegion(region) {
		return nil, idErr("region", "%q is not a 6-digit division code", region)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if validity <= 0 {
		return nil, fmt.Errorf("pki: CA validity %v must be positive", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generating CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{Organization(region)}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		PermittedURIDomains:   []string{region},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parsing new CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, Region: region}, nil
}

// CertPEM returns the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: ca.Cert.Raw})
}

// Pool returns a new pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueTLS is Issue with the certificate and key returned as a ready
// tls.Certificate (for a server or client configuration in process); the
// errors are Issue's.
func (ca *CA) IssueTLS(id Identity, hosts []string, validity time.Duration) (tls.Certificate, error) {
	c, k, err := ca.Issue(id, hosts, validity)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(c, k)
}

// Issue creates a leaf certificate and key for id, usable for both client
// and server authentication. hosts are DNS names or IP addresses put in the
// SAN for server use (may be empty for pure clients). The leaf is valid from
// now-5min to now+validity, which must not extend past the CA's NotAfter.
// id.Region must be the CA's region; id.Domains are sorted first. Bad input
// returns an *IdentityError (identity) or a plain error (hosts, validity).
func (ca *CA) Issue(id Identity, hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	id.Domains = sortedCopy(id.Domains)
	if err := id.Validate(); err != nil {
		return nil, nil, err
	}
	if id.Region != ca.Region {
		return nil, nil, idErr("region", "%q differs from the CA's region %q", id.Region, ca.Region)
	}
	if err := checkName(id.Name); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if validity <= 0 {
		return nil, nil, fmt.Errorf("pki: validity %v must be positive", validity)
	}
	if now.Add(validity).After(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("pki: validity until %s extends past the CA's expiry %s",
			now.Add(validity).UTC().Format(time.RFC3339), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: id.Name, Organization: []string{Organization(id.Region)}},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{id.URI()},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if isDNSName(h) {
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
		} else {
			return nil, nil, fmt.Errorf("pki: host %q is neither an IP address nor a DNS name", h)
		}
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generating key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: signing certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: keyDER}), nil
}

// Save writes ca.crt (0644) and ca.key (0600) into dir, creating dir with
// mode 0700. It refuses, changing nothing, if either file exists: a region CA
// key is never silently replaced.
func (ca *CA) Save(dir string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return fmt.Errorf("pki: encoding CA key: %w", err)
	}
	return writeFiles(dir, []outFile{
		{CACertFile, ca.CertPEM(), 0o644},
		{CAKeyFile, pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: keyDER}), 0o600},
	})
}

// LoadCA reads a CA saved by Save. It fails if ca.key is readable by group
// or others (on Unix), if the certificate is not a CA with a "creditx
// <region>" organization, or if the key does not match the certificate.
func LoadCA(dir string) (*CA, error) {
	cert, err := readCert(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s: not a CA certificate", filepath.Join(dir, CACertFile))
	}
	region, err := caRegion(cert)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", filepath.Join(dir, CACertFile), err)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	if err := checkPrivate(keyPath); err != nil {
		return nil, err
	}
	key, err := readECKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("pki: %s does not match %s", keyPath, CACertFile)
	}
	return &CA{Cert: cert, Key: key, Region: region}, nil
}

// WriteCredentials writes tls.crt (0644), tls.key (0600) and ca.crt (0644)
// into dir, creating it with mode 0700. It refuses, changing nothing, if any
// of them exists.
func WriteCredentials(dir string, certPEM, keyPEM, caPEM []byte) error {
	return writeFiles(dir, []outFile{
		{CertFile, certPEM, 0o644},
		{KeyFile, keyPEM, 0o600},
		{CACertFile, caPEM, 0o644},
	})
}

// LoadCredentials reads a directory written by WriteCredentials. It returns
// the key pair (with Leaf set) and a pool holding ca.crt. It fails if the
// key does not match, tls.key is readable by group or others, the leaf
// carries no valid identity, or the leaf is not signed by ca.crt.
// Expiry is not checked here; handshakes check it.
func LoadCredentials(dir string) (tls.Certificate, *x509.CertPool, error) {
	keyPath := filepath.Join(dir, KeyFile)
	if err := checkPrivate(keyPath); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), keyPath)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pki: loading %s: %w", dir, err)
	}
	if _, err := IdentityFromCert(pair.Leaf); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pki: %s: %w", filepath.Join(dir, CertFile), err)
	}
	caCert, err := readCert(filepath.Join(dir, CACertFile))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := pair.Leaf.CheckSignatureFrom(caCert); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pki: %s is not issued by %s: %w", CertFile, CACertFile, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pair, pool, nil
}

// caRegion returns the region of a CA certificate from its Subject O.
func caRegion(c *x509.Certificate) (string, error) {
	if len(c.Subject.Organization) == 1 {
		if r, ok := strings.CutPrefix(c.Subject.Organization[0], "creditx "); ok && isRegion(r) {
			return r, nil
		}
	}
	return "", fmt.Errorf("CA subject O %q is not [\"creditx <region>\"]", c.Subject.Organization)
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil // positive and at most 16 octets
}

func sortedCopy(s []string) []string {
	if s == nil {
		return nil
	}
	c := append([]string(nil), s...)
	slices.Sort(c)
	return c
}

func isDNSName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i] | 0x20
			if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-') {
				return false
			}
		}
	}
	return true
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != pemCert || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("pki: %s: want exactly one PEM %q block", path, pemCert)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return c, nil
}

func readECKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != pemKey {
		return nil, fmt.Errorf("pki: %s: want a PEM %q block", path, pemKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("pki: %s: want an ECDSA P-256 key, have %T", path, k)
	}
	return ec, nil
}

// checkPrivate refuses private key files others can read.
func checkPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("pki: %s has mode %v; private keys must be 0600", path, fi.Mode().Perm())
	}
	return nil
}

type outFile struct {
	name string
	data []byte
	mode os.FileMode
}

// writeFiles writes all files or none: it checks that none exists first,
// then creates each exclusively. If the process dies midway, some files
// exist and a rerun refuses; the operator removes the partial directory.
func writeFiles(dir string, files []outFile) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.name)); err == nil {
			return fmt.Errorf("pki: %s: %w; refusing to overwrite", filepath.Join(dir, f.name), fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pki: %w", err)
		}
	}
	for i, f := range files {
		if err := WriteFileExclusive(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			for _, g := range files[:i] {
				os.Remove(filepath.Join(dir, g.name))
			}
			return err
		}
	}
	return nil
}

// WriteFileExclusive creates path with mode and writes data, failing with
// an error wrapping fs.ErrExist if path exists. The data is fsynced before
// returning.
func WriteFileExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	return nil
}
