package workdays_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/creditx/creditx/sanctions/workdays"
)

// A sanction notice issued on Friday 9 February 2024 (the eve of the Spring
// Festival) with a 2-working-day deadline: the Spring Festival days off are
// skipped and the worked Sunday 18 February counts.
func ExampleCalendar_AddWorkdays() {
	cal, err := workdays.Default()
	if err != nil {
		panic(err)
	}
	issued := workdays.MustDate(2024, time.February, 9)
	deadline, err := cal.AddWorkdays(issued, 2, "330000")
	if err != nil {
		panic(err)
	}
	fmt.Println(deadline)
	n, _ := cal.WorkdaysBetween(issued, deadline, "330000")
	fmt.Println(n)
	// Output:
	// 2024-02-19
	// 2
}

func ExampleCalendar_Describe() {
	cal, _ := workdays.Default()
	for _, s := range []string{"2020-02-01", "2025-01-26", "2025-01-25"} {
		d, _ := workdays.ParseDate(s)
		day, _ := cal.Describe(d, "")
		fmt.Println(s, day.Kind, day.NameZH, day.Notice)
	}
	// Output:
	// 2020-02-01 holiday 春节（延长） 国办发明电〔2020〕1号
	// 2025-01-26 adjusted working day 春节 国办发明电〔2024〕12号
	// 2025-01-25 weekend
}

func ExampleUnknownYearError() {
	cal, _ := workdays.Default()
	_, err := cal.IsWorkday(workdays.MustDate(2027, time.March, 1), "")
	var uy *workdays.UnknownYearError
	if errors.As(err, &uy) {
		fmt.Println(uy.Year, uy.Covered)
	}
	// Output:
	// 2027 [2020 2026]
}
