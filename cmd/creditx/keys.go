package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Files written by "creditx keys". Changing these names breaks deployments
// and the key ceremony documentation.
const (
	signKeyFile = "sign.key" // PEM "PRIVATE KEY", PKCS#8 Ed25519, mode 0600
	signPubFile = "sign.pub" // PEM "PUBLIC KEY", PKIX Ed25519
	logKeyFile  = "log.key"  // note signer key "PRIVATE+KEY+<origin>+<hash>+<key>", no newline, mode 0600
	logVKeyFile = "log.vkey" // note verifier key "<origin>+<hash>+<key>", no newline
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create region CAs, TLS credentials, record-signing and ledger keys",
		Long: `keys runs the key ceremony steps of a region:

  init-region  create the region CA (keep DIR/ca/ca.key offline)
  issue        issue TLS credentials to an agency, replica or member node
  gen          create a ledger's note signing key

Nothing is ever overwritten: every command refuses if a file it would write exists.`,
	}
	cmd.AddCommand(newKeysInitRegionCmd(), newKeysIssueCmd(), newKeysGenCmd())
	return cmd
}

func newKeysInitRegionCmd() *cobra.Command {
	var region, name, out string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "init-region --region CODE --name NAME --out DIR",
		Short: "Create a region CA in DIR/ca",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := pki.NewCA(region, name, time.Now(), validity)
			if err != nil {
				return err
			}
			dir := filepath.Join(out, "ca")
			if err := ca.Save(dir); err != nil {
				return err
			}
			fp := sha256.Sum256(ca.Cert.Raw)
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "region CA for %s (%s)\n", region, name)
			fmt.Fprintf(w, "  certificate  %s (valid until %s)\n", filepath.Join(dir, pki.CACertFile), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "  private key  %s (mode 0600; keep it offline)\n", filepath.Join(dir, pki.CAKeyFile))
			fmt.Fprintf(w, "  SHA-256      %s\n", hex.EncodeToString(fp[:]))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&region, "region", "", "6-digit division code of the region, e.g. 330000 (required)")
	f.StringVar(&name, "name", "", "name of the credit office, the CA's common name (required)")
	f.StringVar(&out, "out", "", "directory; the CA is written to DIR/ca (required)")
	f.DurationVar(&validity, "validity", 10*365*24*time.Hour, "how long the CA is valid")
	for _, fl := range []string{"region", "name", "out"} {
		cmd.MarkFlagRequired(fl)
	}
	return cmd
}

// kindOfRole maps a role to the kind of holder that carries it.
var kindOfRole = map[pki.Role]string{
	pki.RolePublish: pki.KindAgency,
	pki.RoleExecute: pki.KindAgency,
	pki.RoleAudit:   pki.KindAgency,
	pki.RoleAdmin:   pki.KindAgency,
	pki.RoleReplica: pki.KindReplica,
	pki.RoleMember:  pki.KindMember,
}

func newKeysIssueCmd() *cobra.Command {
	var caDir, role, region, id, name, out string
	var domains, hosts []string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "issue --ca DIR --role ROLE --region CODE --id ID --name NAME --out DIR",
		Short: "Issue TLS credentials (and, for agencies, a record-signing key)",
		Long: `issue writes tls.crt, tls.key and ca.crt to --out. Roles publish, execute, audit and admin
are agencies (--id is the unified social credit code) and also get an Ed25519 record-signing key
(sign.key, sign.pub) whose public key the credit office registers through a governance record.
Role replica takes a replica id (e.g. zj-1); role member takes the member code, equal to --region.
Role publish needs at least one --domain. --host adds DNS names or IP addresses for servers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, ok := kindOfRole[pki.Role(role)]
			if !ok {
				return fmt.Errorf("--role %q: want one of publish, execute, audit, admin, replica, member", role)
			}
			ident := pki.Identity{Role: pki.Role(role), Region: region, Kind: kind, ID: id, Name: name, Domains: slices.Sorted(slices.Values(domains))}
			if err := ident.Validate(); err != nil {
				return flagError(err)
			}
			agency := kind == pki.KindAgency
			if agency {
				for _, f := range []string{signKeyFile, signPubFile} {
					if _, err := os.Lstat(filepath.Join(out, f)); err == nil {
						return fmt.Errorf("%s: %w; refusing to overwrite", filepath.Join(out, f), fs.ErrExist)
					}
				}
			}
			ca, err := pki.LoadCA(caDir)
			if err != nil {
				return err
			}
			if ca.Region != region {
				return fmt.Errorf("--region %s differs from the region of the CA in %s (%s)", region, caDir, ca.Region)
			}
			certPEM, keyPEM, err := ca.Issue(ident, hosts, validity)
			if err != nil {
				return flagError(err)
			}
			if err := pki.WriteCredentials(out, certPEM, keyPEM, ca.CertPEM()); err != nil {
				return err
			}
			blk, _ := pem.Decode(certPEM)
			leaf, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "issued %s\n", leaf.URIs[0])
			fmt.Fprintf(w, "  name         %s\n", name)
			fmt.Fprintf(w, "  serial       %s\n", leaf.SerialNumber.Text(16))
			fmt.Fprintf(w, "  valid until  %s\n", leaf.NotAfter.UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "  credentials  %s, %s (0600), %s in %s\n", pki.CertFile, pki.KeyFile, pki.CACertFile, out)
			if !agency {
				return nil
			}
			pub, err := writeSigningKey(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "  signing key  %s (0600), %s\n", signKeyFile, signPubFile)
			fmt.Fprintf(w, "record-signing public key (Ed25519, base64; register it through a governance record):\n%s\n",
				base64.StdEncoding.EncodeToString(pub))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&caDir, "ca", "", "directory of the region CA (ca.crt, ca.key) (required)")
	f.StringVar(&role, "role", "", "publish, execute, audit, admin, replica or member (required)")
	f.StringVar(&region, "region", "", "6-digit division code; must be the CA's region (required)")
	f.StringVar(&id, "id", "", "USCC for agencies, replica id (zj-1) for replicas, member code for members (required)")
	f.StringVar(&name, "name", "", "human name, the certificate's common name (required)")
	f.StringArrayVar(&domains, "domain", nil, "listing domain of a publishing agency (repeatable)")
	f.StringArrayVar(&hosts, "host", nil, "DNS name or IP address for server use (repeatable)")
	f.StringVar(&out, "out", "", "directory to write the credentials to (required)")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificate is valid")
	for _, fl := range []string{"ca", "role", "region", "id", "name", "out"} {
		cmd.MarkFlagRequired(fl)
	}
	return cmd
}

// flagError names the command-line flag behind an identity error.
func flagError(err error) error {
	var ie *pki.IdentityError
	if errors.As(err, &ie) {
		flag := map[string]string{"id": "--id", "region": "--region", "role": "--role", "domain": "--domain", "name": "--name", "kind": "--role"}[ie.Field]
		if flag != "" {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return err
}

// writeSigningKey creates sign.key and sign.pub in dir and returns the
// public key.
func writeSigningKey(dir string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := pki.WriteFileExclusive(filepath.Join(dir, signKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return nil, err
	}
	if err := pki.WriteFileExclusive(filepath.Join(dir, signPubFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

func newKeysGenCmd() *cobra.Command {
	var origin, out string
	cmd := &cobra.Command{
		Use:   "gen --origin creditx.CODE/ledger --out DIR",
		Short: "Create a note signing key for a ledger's checkpoints",
		Long: `gen writes log.key (the signer key, mode 0600) and log.vkey (the verifier key) to --out and prints
the verifier key. Both files hold exactly the key string, without a trailing newline, as
golang.org/x/mod/sumdb/note reads them. The origin is creditx.<6-digit code>/<name>, e.g.
creditx.330000/ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOrigin(origin); err != nil {
				return err
			}
			for _, f := range []string{logKeyFile, logVKeyFile} {
				if _, err := os.Lstat(filepath.Join(out, f)); err == nil {
					return fmt.Errorf("%s: %w; refusing to overwrite", filepath.Join(out, f), fs.ErrExist)
				}
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, origin)
			if err != nil {
				return fmt.Errorf("--origin %q: %w", origin, err)
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			if err := pki.WriteFileExclusive(filepath.Join(out, logKeyFile), []byte(skey), 0o600); err != nil {
				return err
			}
			if err := pki.WriteFileExclusive(filepath.Join(out, logVKeyFile), []byte(vkey), 0o644); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "ledger key for %s: %s (0600), %s\n", origin, filepath.Join(out, logKeyFile), filepath.Join(out, logVKeyFile))
			fmt.Fprintln(w, vkey)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&origin, "origin", "", "checkpoint origin, e.g. creditx.330000/ledger (required)")
	f.StringVar(&out, "out", "", "directory to write log.key and log.vkey to (required)")
	cmd.MarkFlagRequired("origin")
	cmd.MarkFlagRequired("out")
	return cmd
}

// checkOrigin accepts creditx.<6-digit code>/<name>, name 1-32 of a-z 0-9 '-'.
func checkOrigin(origin string) error {
	if _, _, err := schemas.ParseOrigin(origin); err != nil {
		return fmt.Errorf("--origin: %w", err)
	}
	return nil
}
