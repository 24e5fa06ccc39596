package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
)

// newValidateCmd builds "creditx validate", which checks record files offline.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate record files: prints 'FILE: ok' or 'FILE: field: message'; exits 1 if any fails",
		Long: `Validate each FILE, which holds one record as JSON (canonical or pretty-printed) or
one signed entry {"key":...,"record":...,"sig":...}. The record is decoded strictly (unknown
fields, duplicate keys, floats and unknown schemas are errors) and validated with the default
options. Signatures are not verified: that needs the ledger's keyring.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := schemas.NewValidator(nil)
			out := cmd.OutOrStdout()
			failed := 0
			for _, name := range args {
				problems := validateFile(v, name)
				if len(problems) == 0 {
					fmt.Fprintf(out, "%s: ok\n", name)
					continue
				}
				failed++
				for _, p := range problems {
					fmt.Fprintf(out, "%s: %s\n", name, p)
				}
			}
			if failed > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d files invalid", failed, len(args))}
			}
			return nil
		},
	}
}

// validateFile returns the problems found in one file, each formatted as
// "field.path: message" (or just a message when it concerns the whole file).
func validateFile(v *schemas.Validator, name string) []string {
	f, err := os.Open(name)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	// Pretty-printed files may exceed the canonical size limit a little.
	raw, err := io.ReadAll(io.LimitReader(f, 4*schemas.MaxEntrySize+1))
	if err != nil {
		return []string{err.Error()}
	}
	if len(raw) > 4*schemas.MaxEntrySize {
		return []string{"file too large for one record"}
	}
	rec, err := recordBytes(raw)
	if err != nil {
		return []string{decodeProblem(err)}
	}
	r, err := schemas.Decode(rec)
	if err != nil {
		return []string{decodeProblem(err)}
	}
	err = v.Validate(r)
	var ve schemas.ValidationErrors
	if errors.As(err, &ve) {
		out := make([]string, len(ve))
		for i, fe := range ve {
			out[i] = fe.Error()
		}
		return out
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// recordBytes returns the canonical record held in raw: the record of a
// signed entry (strict or pretty-printed), or the record itself.
func recordBytes(raw []byte) ([]byte, error) {
	if s, err := schemas.ParseSigned(raw); err == nil {
		return s.Record, nil
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(raw, &env) == nil {
		_, hasRecord := env["record"]
		_, hasSig := env["sig"]
		if hasRecord && hasSig {
			return schemas.Canonicalize(env["record"])
		}
	}
	return schemas.Canonicalize(raw)
}

func decodeProblem(err error) string {
	var de *schemas.DecodeError
	if errors.As(err, &de) {
		if de.Field != "" {
			return de.Field + ": " + de.Reason
		}
		return de.Reason
	}
	return err.Error()
}
