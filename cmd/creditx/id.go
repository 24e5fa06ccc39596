package main

import (
	"errors"
	"fmt"

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
detected by shape unless --kind is given.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			allow := schemas.DefaultUSCCAllowList()
			bad := 0
			for _, code := range args {
				k := schemas.DetectIDKind(code)
				switch kind {
				case "":
				case "uscc":
					k = schemas.IDKindUSCC
				case "citizen":
					k = schemas.IDKindCitizenID
				default:
					return fmt.Errorf("--kind %q: want uscc or citizen", kind)
				}
				var err error
				switch k {
				case schemas.IDKindUSCC:
					err = schemas.CheckUSCCAllowing(code, allow)
				case schemas.IDKindCitizenID:
					err = schemas.CheckCitizenID(code)
				default:
					err = errors.New("neither a USCC nor a citizen ID by shape (18 characters expected); use --kind")
				}
				if err != nil {
					bad++
					var ie *schemas.IDError
					if errors.As(err, &ie) {
						err = errors.New(ie.Reason)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s invalid: %v\n", code, err)
					continue
				}
				if why, ok := allow[code]; ok && k == schemas.IDKindUSCC && schemas.CheckUSCC(code) != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s valid (allow-listed: %s)\n", code, why)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s valid\n", code)
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
