package pki

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
)

// RevocationList is a set of revoked certificate serials, consulted on
// every handshake by configurations built WithRevocation. It is loaded from
// a revoked.txt file (see ParseRevoked for the format) and can be reloaded
// while in use; a failed reload keeps the previous set. A nil
// *RevocationList revokes nothing. Safe for concurrent use.
//
// Serials are compared without their issuer: serials are 127-bit random
// numbers, so a collision between CAs of the consortium is not a concern.
// Revocation is local: each node lists what it refuses; distributing the
// list (for example as governance records) is the caller's business.
type RevocationList struct {
	path string // set at construction, never changed

	mu      sync.RWMutex
	serials map[string]struct{} // normalized hex; guarded by mu
}

// NewRevocationList returns a list of the given serials (hex, any case),
// not tied to a file; Reload on it is a no-op.
func NewRevocationList(serials ...string) (*RevocationList, error) {
	data := []byte(strings.Join(serials, "\n"))
	set, err := ParseRevoked(data)
	if err != nil {
		return nil, err
	}
	return &RevocationList{serials: toSet(set)}, nil
}

// LoadRevocationList reads path. A missing file is an error: an operator
// who configures a revocation file expects it to be used.
func LoadRevocationList(path string) (*RevocationList, error) {
	rl := &RevocationList{path: path}
	if err := rl.Reload(); err != nil {
		return nil, err
	}
	return rl, nil
}

// Reload rereads the file the list was loaded from. On error the previous
// set stays in force and the error says which line is wrong.
func (rl *RevocationList) Reload() error {
	if rl.path == "" {
		return nil
	}
	data, err := os.ReadFile(rl.path)
	if err != nil {
		return fmt.Errorf("pki: revocation list: %w", err)
	}
	set, err := ParseRevoked(data)
	if err != nil {
		return fmt.Errorf("pki: %s: %w", rl.path, err)
	}
	rl.mu.Lock()
	rl.serials = toSet(set)
	rl.mu.Unlock()
	return nil
}

// Revoked reports whether serial is on the list.
func (rl *RevocationList) Revoked(serial *big.Int) bool {
	if rl == nil || serial == nil {
		return false
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	_, ok := rl.serials[serial.Text(16)]
	return ok
}

// Serials returns the revoked serials, normalized and sorted.
func (rl *RevocationList) Serials() []string {
	if rl == nil {
		return nil
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	s := make([]string, 0, len(rl.serials))
	for k := range rl.serials {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func (rl *RevocationList) check(id Identity) error {
	if rl == nil {
		return nil
	}
	s, ok := new(big.Int).SetString(id.Serial, 16)
	if ok && rl.Revoked(s) {
		return &RefusedError{id, "certificate serial is revoked"}
	}
	return nil
}

func (rl *RevocationList) checkCert(c *x509.Certificate) error {
	if rl.Revoked(c.SerialNumber) {
		return &RefusedError{Identity{Serial: c.SerialNumber.Text(16), Name: c.Subject.CommonName}, "certificate serial is revoked"}
	}
	return nil
}

func toSet(s []string) map[string]struct{} {
	m := make(map[string]struct{}, len(s))
	for _, v := range s {
		m[v] = struct{}{}
	}
	return m
}

// ParseRevoked parses the revoked.txt format, version 1:
//
//	file    = *(line LF) [line]          ; CR before LF is ignored
//	line    = *WSP [serial / comment] *WSP
//	serial  = 1*40HEXDIG                 ; any case, no "0x", no colons
//	comment = "#" *(any byte but LF)
//	WSP     = SP / HTAB
//
// Each serial is a certificate serial number in hexadecimal (as printed by
// "openssl x509 -serial" without the "serial=" prefix); it must not be zero.
// It returns the serials normalized (lowercase, no leading zeros) and in
// file order, duplicates kept. FormatRevoked writes the same format.
// Versioning: any line that is not blank, a comment or a serial is an error,
// so a later version must introduce new syntax on a line old readers reject
// and roll readers out first.
func ParseRevoked(data []byte) ([]string, error) {
	var out []string
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.Trim(strings.TrimSuffix(string(line), "\r"), " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		if len(s) > 40 {
			return nil, fmt.Errorf("revoked line %d: serial %.20q... longer than 40 hex digits", i+1, s)
		}
		for j := 0; j < len(s); j++ {
			c := s[j] | 0x20
			if !(s[j] >= '0' && s[j] <= '9' || c >= 'a' && c <= 'f') {
				return nil, fmt.Errorf("revoked line %d: %q is not a hex serial (byte %d)", i+1, s, j+1)
			}
		}
		n, _ := new(big.Int).SetString(s, 16)
		if n.Sign() == 0 {
			return nil, fmt.Errorf("revoked line %d: serial zero is not a valid serial", i+1)
		}
		out = append(out, n.Text(16))
	}
	return out, nil
}

// FormatRevoked writes serials (already normalized, as ParseRevoked
// returns them) one per line, each followed by LF.
func FormatRevoked(serials []string) []byte {
	var b bytes.Buffer
	for _, s := range serials {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
