package api

import (
	"encoding/json"
	"time"

	"github.com/creditx/creditx/schemas"
)

// CalendarState is what GET /v1/calendar and the status page show: the
// covered years, the adoptions applied and those refused.
type CalendarState struct {
	Covered     [2]int            `json:"covered"`
	Adopted     []AdoptedYear     `json:"adopted"`
	Refused     []json.RawMessage `json:"refused,omitempty"`
	Provisional int               `json:"provisional_notices"` // own notices whose deadline is still provisional
}

// AdoptedYear is one calendar year adopted on the ledger, as applied.
type AdoptedYear struct {
	Year   schemas.CalendarAdopt `json:"calendar"`
	Origin string                `json:"origin"`
	Index  uint64                `json:"index"`
	Since  time.Time             `json:"since"` // raft time of the entry that adopted it
}

// DueCorrection is a feedback deadline recomputed after a calendar year was
// adopted: what the notice said, what it is now, under which notice.
type DueCorrection struct {
	Was         schemas.Date `json:"was"`
	Due         schemas.Date `json:"due"`
	Provisional bool         `json:"provisional"`
	Calendar    string       `json:"calendar"` // document number of the adopted year
	Year        uint64       `json:"year"`
	At          time.Time    `json:"at"` // raft time of the adoption
}
