package api

import (
	"time"
)

// CatalogueState is GET /v1/catalogue: what this node knows, what was
// adopted (in order) or refused, and the catalogue in force.
type CatalogueState struct {
	InForce KnownCatalogue     `json:"in_force"`
	Since   *AdoptedCatalogue  `json:"since,omitempty"` // the adoption that put it in force; nil: initial
	Known   []KnownCatalogue   `json:"known"`
	Adopted []AdoptedCatalogue `json:"adopted"`
	Refused []CatalogueRefusal `json:"refused,omitempty"`
}

// AdoptedCatalogue is one catalogue_adopt as applied.
type AdoptedCatalogue struct {
	Version string    `json:"version"`
	SHA256  string    `json:"sha256"`
	Origin  string    `json:"origin"`
	Index   uint64    `json:"index"`
	Since   time.Time `json:"since"` // raft time of the entry that adopted it
}

// KnownCatalogue is a catalogue version this node holds.
type KnownCatalogue struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Initial bool   `json:"initial,omitempty"` // in force until the first adoption
}

// CatalogueRefusal is a mirrored catalogue_adopt that was not applied.
type CatalogueRefusal struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	SHA256 string `json:"sha256,omitempty"`
	Reason string `json:"reason"`
}
