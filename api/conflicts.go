package api

import (
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// RecordedConflict is a conflict with the entry whose indexing detected
// it. Detected is nil for a conflict found only at read (a check at an
// instant before the detecting entry).
type RecordedConflict struct {
	sanctions.Conflict
	Detected *schemas.Ref `json:"detected_at_entry,omitempty"`
	Since    time.Time    `json:"detected_at,omitzero"`
	InForce  bool         `json:"in_force"`
}
