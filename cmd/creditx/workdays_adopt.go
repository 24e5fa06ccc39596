package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/sanctions/workdays"
)

// calendarWith is the embedded calendar extended, in order, by the year
// files given (each in the cn_holidays.yaml format with exactly one year).
func calendarWith(files []string) (*workdays.Calendar, error) {
	cal, err := workdays.Default()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		y, err := readYearFile(f)
		if err != nil {
			return nil, err
		}
		if cal, err = cal.Extend(y); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return cal, nil
}

func readYearFile(path string) (workdays.Year, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return workdays.Year{}, err
	}
	y, err := workdays.ParseYear(b)
	if err != nil {
		return workdays.Year{}, fmt.Errorf("%s: %w", path, err)
	}
	return y, nil
}

// newWorkdaysAdoptCmd is "creditx workdays adopt FILE": the calendar as
// data on the ledger (issue 12).
func newWorkdaysAdoptCmd() *cobra.Command {
	var admin, nodeURL, out string
	var before []string
	cmd := &cobra.Command{
		Use:   "adopt FILE --admin DIR [--node URL | --out FILE]",
		Short: "Build and sign the calendar_adopt governance record of one year's official holiday arrangement",
		Long: `adopt reads FILE (the cn_holidays.yaml format, creditx-workdays/v1, with exactly one year: the
State Council notice's document number, title, publication date, holidays and adjusted working days),
checks it against the calendar rules and against the embedded calendar (the year must follow the last
covered year; give the years adopted since with --after), builds a calendar_adopt governance record,
signs it with the admin's anchor key (DIR/sign.key) and submits it to --node over mutual TLS, or
writes the signed entry to --out ("-": standard output). Every member that indexes the record counts
working days with that year from then on and recomputes its provisional deadlines.`,
		Example: `  creditx workdays adopt cn_holidays_2027.yaml --admin keys/agencies/admin --node https://127.0.0.1:8443`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (nodeURL == "") == (out == "") {
				return fmt.Errorf("workdays adopt: give exactly one of --node and --out")
			}
			y, err := readYearFile(args[0])
			if err != nil {
				return err
			}
			cal, err := calendarWith(before)
			if err != nil {
				return err
			}
			if _, err := cal.Extend(y); err != nil {
				return fmt.Errorf("workdays adopt %s: %w", args[0], err)
			}
			creds, err := client.LoadCredentials(admin)
			if err != nil {
				return err
			}
			e, err := adopted.CalendarAdoptRecord(creds.Identity.Region, creds, y, time.Now())
			if err != nil {
				return err
			}
			return submitOrWrite(cmd, creds, e, nodeURL, out, fmt.Sprintf("calendar_adopt %d (%s)", y.Year, y.Notice))
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "the credit office's admin credentials directory (anchor signing key)")
	cmd.Flags().StringVar(&nodeURL, "node", "", "URL of any replica of the member to submit to")
	cmd.Flags().StringVar(&out, "out", "", `write the signed entry here instead ("-": standard output)`)
	cmd.Flags().StringArrayVar(&before, "after", nil, "year files already adopted on the ledger since the embedded calendar (repeatable, in order)")
	cmd.MarkFlagRequired("admin")
	return cmd
}

// submitOrWrite sends the signed governance entry e to nodeURL, or writes
// it to out ("-": standard output), and says which with what (the record
// named for a clerk: "calendar_adopt 2027 (国办发明电〔...〕)").
func submitOrWrite(cmd *cobra.Command, creds *client.Credentials, e []byte, nodeURL, out, what string) error {
	w := cmd.OutOrStdout()
	if out != "" {
		if out == "-" {
			_, err := w.Write(append(e, '\n'))
			return err
		}
		if err := os.WriteFile(out, append(e, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s signed: %s\n", what, out)
		return nil
	}
	rs, err := creds.Submit(cmd.Context(), nodeURL, e)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s adopted: %s index %d\n", what, rs[0].Origin, rs[0].Index)
	return nil
}
