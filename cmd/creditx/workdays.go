package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditx/creditx/sanctions/workdays"
)

// newWorkdaysCmd builds "creditx workdays": deadline arithmetic under the
// official holiday calendar embedded in the binary (sanctions/workdays).
// Dates outside the covered years are an error, never a guess.
func newWorkdaysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workdays",
		Short: "Working-day deadlines under the official PRC holiday calendar",
		Long: `Working days follow the State Council holiday notices, including weekend days worked
in exchange (调休上班). "Within N working days of DATE" ends on "creditx workdays add DATE N":
the day of DATE itself never counts.`,
		SilenceUsage: true, // errors here are about data, not about usage
	}
	cmd.AddCommand(newWorkdaysAddCmd(), newWorkdaysCheckCmd(), newWorkdaysAdoptCmd())
	return cmd
}

func newWorkdaysAddCmd() *cobra.Command {
	var region string
	var years []string
	cmd := &cobra.Command{
		Use:   "add DATE N",
		Short: "Print the date N working days after DATE, and the holidays crossed",
		Example: `  creditx workdays add 2024-02-09 2
  creditx workdays add 2026-09-18 10 --region 330000
  creditx workdays add 2026-12-28 10 --year cn_holidays_2027.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := workdays.ParseDate(args[0])
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return fmt.Errorf("workdays add: N must be a whole number >= 0, got %q", args[1])
			}
			cal, err := calendarWith(years)
			if err != nil {
				return err
			}
			// Past the last covered year the date is provisional (weekends
			// only), never an error: issue 12.
			to, provisional, err := cal.AddWorkdaysProvisional(from, n, region)
			if err != nil {
				return err
			}
			last := cal.Covered()[1]
			known := to
			if provisional {
				known = workdays.MustDate(last, 12, 31)
			}
			var crossed []workdays.Day
			if !known.Before(from) {
				if crossed, err = cal.Days(from, known, region); err != nil {
					return err
				}
			}
			if n == 0 && to != from && !cal.Provisional(from) { // DATE itself was a day off: show why
				day, _ := cal.Describe(from, region)
				crossed = append([]workdays.Day{day}, crossed...)
			}
			out := cmd.OutOrStdout()
			if provisional {
				fmt.Fprintf(out, "%s provisional\n", to)
			} else {
				fmt.Fprintln(out, to)
			}
			printCrossed(out, crossed)
			if provisional {
				fmt.Fprintf(out, "provisional: no holiday calendar adopted after %d; days from %d-01-01 on are counted on weekends only (adopt the year with creditx workdays adopt)\n", last, last+1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "6-digit division code whose regional overrides apply (default: national calendar)")
	cmd.Flags().StringArrayVar(&years, "year", nil, "a year file to add to the embedded calendar, as adopted on the ledger (repeatable, in year order)")
	return cmd
}

func newWorkdaysCheckCmd() *cobra.Command {
	var region string
	cmd := &cobra.Command{
		Use:     "check DATE",
		Short:   "Say whether DATE is a workday, holiday, adjusted working day or weekend",
		Example: `  creditx workdays check 2024-02-18`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := workdays.ParseDate(args[0])
			if err != nil {
				return err
			}
			cal, err := workdays.Default()
			if err != nil {
				return err
			}
			day, err := cal.Describe(d, region)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", d, d.Weekday(), describeDay(day))
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "6-digit division code whose regional overrides apply (default: national calendar)")
	return cmd
}

// describeDay renders a day's status and reason, e.g.
// "holiday 春节 Spring Festival (国办发明电〔2023〕7号)".
func describeDay(day workdays.Day) string {
	if day.Kind == workdays.Workday || day.Kind == workdays.Weekend {
		return day.Kind.String()
	}
	s := fmt.Sprintf("%s %s %s (%s", day.Kind, day.NameZH, day.NameEN, day.Notice)
	if day.Region != "" {
		s += ", region " + day.Region
	}
	return s + ")"
}

// printCrossed prints one line listing the holidays and adjusted working
// days crossed, consecutive days with the same reason merged into a range.
func printCrossed(w io.Writer, days []workdays.Day) {
	if len(days) == 0 {
		fmt.Fprintln(w, "crossed: no holidays or adjusted working days")
		return
	}
	var parts []string
	for i := 0; i < len(days); {
		j := i
		for j+1 < len(days) && days[j+1].Date == days[j].Date.AddDays(1) && sameReason(days[j+1], days[i]) {
			j++
		}
		span := days[i].Date.String()
		if j > i {
			span += ".." + days[j].Date.String()
		}
		parts = append(parts, span+" "+describeDay(days[i]))
		i = j + 1
	}
	fmt.Fprintln(w, "crossed: "+strings.Join(parts, "; "))
}

func sameReason(a, b workdays.Day) bool {
	return a.Kind == b.Kind && a.NameZH == b.NameZH && a.Notice == b.Notice && a.Region == b.Region
}
