package api

// VaultView is the answer of GET /v1/vault/{code}/{index}.
type VaultView struct {
	Origin  string        `json:"origin"`
	Index   uint64        `json:"index"`
	Persons []VaultPerson `json:"persons"`
}

// VaultPutRequest is the body of PUT /v1/vault/{code}/{index}.
type VaultPutRequest struct {
	Keys []VaultKeyJSON `json:"keys"`
}

// VaultPutResponse answers a committed PUT.
type VaultPutResponse struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	Stored int    `json:"stored"` // keys newly stored; the others were already there (a retry)
}

// VaultEraseResponse answers a committed DELETE.
type VaultEraseResponse struct {
	Origin    string `json:"origin"`
	Index     uint64 `json:"index"`
	Destroyed int    `json:"destroyed"` // wrapped keys deleted by this request (0 on a repeat)
}

// VaultKeyJSON is one data key: Person is the JSON path of a sealed Person in
// the record (e.g. "subject.responsible_persons[0].person"), Key the std
// base64 of its 32-byte schemas.DataKey.
type VaultKeyJSON struct {
	Person string `json:"person"`
	Key    string `json:"key"`
}

// VaultPerson is one opened person of GET /v1/vault/{code}/{index}.
type VaultPerson struct {
	Path   string `json:"path"`
	IDHash string `json:"id_hash"`
	ID     string `json:"id"`
	Name   string `json:"name"`
}

// VaultRotateResponse answers POST /v1/vault/rotate.
type VaultRotateResponse struct {
	Region    string `json:"region"`
	From      uint64 `json:"from_epoch"` // the epoch the caller saw and wanted retired
	Epoch     uint64 `json:"epoch"`      // the epoch now (> From)
	Rewrapped int    `json:"rewrapped"`  // wrapped keys re-wrapped by this request (0 if the key had already moved)
}
