package api

// MembershipView is the body of GET /v1/membership.
type MembershipView struct {
	Genesis  string                  `json:"genesis"`  // ManifestHash of the configured manifest
	Running  string                  `json:"running"`  // the manifest this node's loops run (exchange/live.go)
	InForce  string                  `json:"in_force"` // the manifest the ledgers approved
	Version  int                     `json:"version"`  // InForce's version
	Manifest string                  `json:"manifest"` // InForce as YAML
	Versions []MembershipVersionView `json:"versions"`
	Pending  []MembershipPendingView `json:"pending"`
	Refused  []string                `json:"refused"`
}

// MembershipVersionView is one approved change.
type MembershipVersionView struct {
	Version    int      `json:"version"`
	SHA256     string   `json:"sha256"`
	From       uint64   `json:"from"`
	By         string   `json:"by"`
	Index      uint64   `json:"index"`
	Change     string   `json:"change"`
	Approvers  []string `json:"approvers"`
	Electorate []string `json:"electorate"`
}

// MembershipPendingView is a proposal on the manifest in force.
type MembershipPendingView struct {
	By     string   `json:"by"`
	Index  uint64   `json:"index"`
	SHA256 string   `json:"sha256"`
	Base   string   `json:"base"`
	Change string   `json:"change"`
	Votes  []string `json:"votes"`
	Needed int      `json:"needed"`
}
