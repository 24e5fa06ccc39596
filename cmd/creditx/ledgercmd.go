package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

func newLedgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Work with a ledger directory directly (no node running)"}
	cmd.AddCommand(newLedgerGenCmd())
	return cmd
}

func bar(w io.Writer, n int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("entries"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// A generated ledger directory holds ledger.db, keys/ (log.key, log.vkey,
// admin.key, publisher.key) and trust.yaml (the origin's verifier key and the
// admin anchor), so that "creditx verify --data DIR" needs nothing else.
func newLedgerGenCmd() *cobra.Command {
	var dir, region string
	var n uint64
	var size int
	cmd := &cobra.Command{
		Use:   "gen --dir DIR --n N",
		Short: "Create or extend a ledger with N synthetic, validly signed listings",
		Long: `Create (or extend) the ledger in DIR with N synthetic listings of about --size bytes, each signed
by a sample publishing agency whose key is registered by a governance record at index 0, signed by a
credit-office anchor key. Entries are appended in batches of 1000, each batch fsync'd and covered by a
signed checkpoint. DIR gets ledger.db, keys/ and trust.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			origin := schemas.LedgerOrigin(region)
			if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
				return err
			}
			signer, verifier, admin, pub, err := genKeys(dir, origin, region)
			if err != nil {
				return err
			}
			s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
			if err != nil {
				return err
			}
			defer s.Close()
			size0, err := s.Log(origin).Size()
			if err != nil {
				return err
			}
			adminUSCC, pubUSCC := provision.DevUSCC(region, "MB000001"), provision.DevUSCC(region, "MB000002")
			pubName := "Sample Listing Authority (generated)"
			if size0 == 0 {
				pk := pub.Public().(ed25519.PublicKey)
				g := &schemas.Governance{Header: schemas.Header{Region: region, Submitter: adminUSCC, CreatedAt: schemas.NewTime(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))},
					Action: schemas.ActionAgencyKeyRegister, AgencyKeyRegister: &schemas.AgencyKeyRegister{
						Agency: schemas.GovAgency{Name: pubName, USCC: pubUSCC, Region: region}, KeyID: schemas.KeyID(pk),
						PublicKey: base64.StdEncoding.EncodeToString(pk), Roles: []string{"publish"},
						Domains: []string{"environment", "food_drug", "product_quality", "tourism"}}}
				e, err := schemas.Sign(g, admin)
				if err != nil {
					return err
				}
				if err := appendSigned(s, origin, signer, verifier, [][]byte{e}); err != nil {
					return err
				}
				size0 = 1
			}
			b := bar(cmd.ErrOrStderr(), int64(n), "ledger gen")
			auth := schemas.Agency{Name: pubName, USCC: pubUSCC}
			for done := uint64(0); done < n; {
				k := min(1000, n-done)
				batch := make([][]byte, k)
				for i := range batch {
					l, err := synth.Listing(size0+done+uint64(i), synth.Options{Region: region, Authority: auth, PadTo: size})
					if err != nil {
						return err
					}
					if batch[i], err = schemas.Sign(l, pub); err != nil {
						return err
					}
				}
				if err := appendSigned(s, origin, signer, verifier, batch); err != nil {
					return err
				}
				done += k
				b.Add64(int64(k))
			}
			b.Finish()
			total, _ := s.Log(origin).Size()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s now has %d entries\n", dir, origin, total)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ledger directory (created if absent)")
	cmd.Flags().Uint64Var(&n, "n", 1000, "listings to append")
	cmd.Flags().StringVar(&region, "region", "330000", "division code of the member whose ledger this is")
	cmd.Flags().IntVar(&size, "size", 1024, "approximate bytes per signed entry")
	cmd.MarkFlagRequired("dir")
	return cmd
}

// appendSigned appends entries and a checkpoint covering them in one durable transaction.
func appendSigned(s *ledger.Store, origin string, signer note.Signer, v note.Verifier, entries [][]byte) error {
	return s.Update(func(tx *ledger.Tx) error {
		if _, err := tx.Append(origin, entries); err != nil {
			return err
		}
		lr := tx.Log(origin)
		root, err := lr.TreeHash(lr.Size())
		if err != nil {
			return err
		}
		cp, err := ledger.SignCheckpoint(signer, origin, lr.Size(), root)
		if err != nil {
			return err
		}
		return tx.SetCheckpoint(origin, cp, v)
	})
}

// genKeys loads DIR's keys, creating them (and trust.yaml) on first use.
func genKeys(dir, origin, region string) (note.Signer, note.Verifier, ed25519.PrivateKey, ed25519.PrivateKey, error) {
	kd := filepath.Join(dir, "keys")
	if _, err := os.Stat(filepath.Join(kd, "log.key")); errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := ledger.GenerateKey(origin, rand.Reader)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		os.WriteFile(filepath.Join(kd, "log.key"), []byte(skey+"\n"), 0o600)
		os.WriteFile(filepath.Join(kd, "log.vkey"), []byte(vkey+"\n"), 0o644)
		_, admin, _ := ed25519.GenerateKey(rand.Reader)
		_, pub, _ := ed25519.GenerateKey(rand.Reader)
		if err := client.WriteSignKey(filepath.Join(kd, "admin.key"), admin); err != nil {
			return nil, nil, nil, nil, err
		}
		if err := client.WriteSignKey(filepath.Join(kd, "publisher.key"), pub); err != nil {
			return nil, nil, nil, nil, err
		}
		tf := &trust.File{Origins: []trust.Origin{{Origin: origin, VKey: vkey, Anchors: []trust.Anchor{{
			Name: "Sample Credit Office (generated)", USCC: provision.DevUSCC(region, "MB000001"), Region: region,
			PublicKey: base64.StdEncoding.EncodeToString(admin.Public().(ed25519.PublicKey))}}}}}
		if err := tf.Save(filepath.Join(dir, trust.FileName)); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	skey, err := os.ReadFile(filepath.Join(kd, "log.key"))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if signer.Name() != origin {
		return nil, nil, nil, nil, fmt.Errorf("%s/keys/log.key signs for %s, not %s (use the same --region)", dir, signer.Name(), origin)
	}
	vkey, _ := os.ReadFile(filepath.Join(kd, "log.vkey"))
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	admin, err := client.ReadSignKey(filepath.Join(kd, "admin.key"))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pub, err := client.ReadSignKey(filepath.Join(kd, "publisher.key"))
	return signer, v, admin, pub, err
}
