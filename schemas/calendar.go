package schemas

// The calendar_adopt governance action (ActionCalendarAdopt) adopts one
// year of the official PRC working-day calendar (issue 12): the State
// Council notice's holidays and adjusted working days, so that a new year
// arrives as data on the ledger, never by rebuilding the nodes. Every
// member applies the adopted years from the entry's index on
// (internal/adopted/calendar.go); a year must follow the last covered year without a
// gap, which the node checks at admission (field calendar_adopt.year).

// CalendarAdopt is one year's arrangement, in the terms of
// sanctions/workdays' cn_holidays.yaml (format creditx-workdays/v1). Dates
// are YYYY-MM-DD; the rules (spans within the year or starting the December
// before, at most 15 days; adjusted working days are weekend days of the
// year worked for a listed holiday; no date twice) are checked at admission
// and again when applied, both by workdays.Calendar.Extend (internal/adopted/calendar.go).
type CalendarAdopt struct {
	Year      uint64            `json:"year,omitempty" validate:"required,min=1949,max=9998"`
	Notice    string            `json:"notice,omitempty" validate:"required,max=100"` // document number, e.g. 国办发明电〔2026〕7号
	Title     string            `json:"title,omitempty" validate:"required,max=300"`
	Published Date              `json:"published,omitzero" validate:"required"`
	URL       string            `json:"url,omitempty" validate:"omitempty,max=500"`
	Holidays  []CalendarHoliday `json:"holidays,omitempty" validate:"required,min=1,max=40,dive"`
	Workdays  []CalendarWorkday `json:"workdays,omitempty" validate:"omitempty,max=40,dive"`
}

// CalendarHoliday is a span of days off (放假调休), inclusive.
type CalendarHoliday struct {
	ZH   string `json:"zh,omitempty" validate:"required,max=100"`
	EN   string `json:"en,omitempty" validate:"required,max=100"`
	From Date   `json:"from,omitzero" validate:"required"`
	To   Date   `json:"to,omitzero" validate:"required"`
}

// CalendarWorkday is a weekend day worked (调休上班) for holiday For (its zh name).
type CalendarWorkday struct {
	Date Date   `json:"date,omitzero" validate:"required"`
	For  string `json:"for,omitempty" validate:"required,max=100"`
}
