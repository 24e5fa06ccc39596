package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
)

// newIDCmd builds "creditx id", which checks identifiers offline.
func newIDCmd() *cobra.Command {
	id := &cobra.Command{
		Use:   "id",
		Short: "Check unified social credit codes and citizen ID numbers",
	}
	var kind string
	check := &cobra.Command{
		Use:   "check CODE...",
		Short: "Check identifiers: prints 'CODE valid' or 'CODE invalid: reason'; exits 1 if any is invalid",
		Long: `Check each CODE as a unified social credit code (GB 32100-2015, with the built-in
allow-list of legally issued pilot codes) or a citizen ID number (GB 11643). The kind is
read both ways unless --kind is given: a valid code says which kind it is; an invalid one says
why, and when it has the shape of both kinds (17 digits and a last digit or X), what each reading found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			allow := schemas.DefaultUSCCAllowList()
			bad := 0
			for _, code := range args {
				var ok bool
				var line string
				switch kind {
				case "":
					ok, line = checkEitherID(code, allow)
				case "uscc":
					ok, line = checkOneID(code, schemas.IDKindUSCC, allow)
				case "citizen":
					ok, line = checkOneID(code, schemas.IDKindCitizenID, allow)
				default:
					return fmt.Errorf("--kind %q: want uscc or citizen", kind)
				}
				if !ok {
					bad++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", code, line)
			}
			if bad > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d identifiers invalid", bad, len(args))}
			}
			return nil
		},
	}
	check.Flags().StringVar(&kind, "kind", "", "identifier kind: uscc or citizen (default: detect by shape)")
	id.AddCommand(check)
	return id
}

var kindNames = map[schemas.IDKind]string{schemas.IDKindUSCC: "unified social credit code", schemas.IDKindCitizenID: "citizen ID"}

// checkOneID reads code as kind k only.
func checkOneID(code string, k schemas.IDKind, allow schemas.USCCAllowList) (bool, string) {
	if err := checkIDAs(code, k, allow); err != nil {
		return false, "invalid: " + err.Error()
	}
	return true, "valid (" + kindNames[k] + allowNote(code, k, allow) + ")"
}

// checkEitherID reads code as both kinds. Valid as one: it says which. Invalid
// as both: the reason of the kind its shape suggests, and the other reading's
// reason too when the code fits both alphabets (all digits but the last).
func checkEitherID(code string, allow schemas.USCCAllowList) (bool, string) {
	uerr := checkIDAs(code, schemas.IDKindUSCC, allow)
	cerr := checkIDAs(code, schemas.IDKindCitizenID, allow)
	switch {
	case uerr == nil && cerr == nil:
		return true, "valid both as a unified social credit code and as a citizen ID (use --kind to check one)"
	case uerr == nil:
		return true, "valid (unified social credit code" + allowNote(code, schemas.IDKindUSCC, allow) + ")"
	case cerr == nil:
		return true, "valid (citizen ID)"
	}
	if len(code) != 18 {
		return false, fmt.Sprintf("invalid: neither a USCC nor a citizen ID by shape (18 characters expected, got %d); use --kind to see why", utf8.RuneCountInString(code))
	}
	citizenShape := allASCIIDigits(code[:17])
	upper := strings.ToUpper(code)
	if upper != code && checkIDAs(upper, schemas.IDKindUSCC, allow) == nil {
		line := fmt.Sprintf("invalid: as a unified social credit code its letters must be upper case (%s is valid)", upper)
		if citizenShape {
			line += fmt.Sprintf("; as a citizen ID: %v", cerr)
		}
		return false, line
	}
	switch {
	case citizenShape:
		first, second := cerr, uerr
		fk, sk := schemas.IDKindCitizenID, schemas.IDKindUSCC
		if schemas.DetectIDKind(code) == schemas.IDKindUSCC {
			first, second, fk, sk = uerr, cerr, sk, fk
		}
		return false, fmt.Sprintf("invalid: as a %s: %v; as a %s: %v", kindNames[fk], first, kindNames[sk], second)
	case schemas.DetectIDKind(code) == schemas.IDKindUSCC || upper != code:
		return false, "invalid: " + uerr.Error()
	default:
		return false, "invalid: neither a USCC nor a citizen ID by shape; as a unified social credit code: " + uerr.Error()
	}
}

func checkIDAs(code string, k schemas.IDKind, allow schemas.USCCAllowList) error {
	var err error
	if k == schemas.IDKindUSCC {
		err = schemas.CheckUSCCAllowing(code, allow)
	} else {
		err = schemas.CheckCitizenID(code)
	}
	var ie *schemas.IDError
	if errors.As(err, &ie) {
		return errors.New(ie.Reason)
	}
	return err
}

func allowNote(code string, k schemas.IDKind, allow schemas.USCCAllowList) string {
	if why, ok := allow[code]; ok && k == schemas.IDKindUSCC && schemas.CheckUSCC(code) != nil {
		return ", allow-listed: " + why
	}
	return ""
}

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
