package schemas

import "time"

// appendTimeText appends t as t.AppendFormat(b, dateLayout) does, or with
// clock as t.AppendFormat(b, timeLayout), in t's location, without the
// generality of time's layout interpreter for years 0-9999.
func appendTimeText(b []byte, t time.Time, clock bool) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		if clock {
			return t.AppendFormat(b, timeLayout)
		}
		return t.AppendFormat(b, dateLayout)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	if clock {
		hh, mm, ss := t.Clock()
		b = append(b, 'T', byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10),
			':', byte('0'+ss/10), byte('0'+ss%10), 'Z')
	}
	return b
}

// parseTimeText parses "2006-01-02", or with clock "2006-01-02T15:04:05Z",
// giving what ParseDate or ParseTime gives; ok is false for anything it is
// not sure of, which the caller then hands to ParseDate or ParseTime.
func parseTimeText(s string, clock bool) (t time.Time, ok bool) {
	want := len(dateLayout)
	if clock {
		want = len(timeLayout)
	}
	if len(s) != want || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, d := num(0, 4), num(5, 2), num(8, 2)
	if y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(m, y) {
		return time.Time{}, false
	}
	var hh, mm, ss int
	if clock {
		if s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
			return time.Time{}, false
		}
		hh, mm, ss = num(11, 2), num(14, 2), num(17, 2)
		if hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 {
			return time.Time{}, false
		}
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, time.UTC), true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
