package api

// PersonsHashRequest is the body of POST /v1/persons/hash.
type PersonsHashRequest struct {
	IDs     []string `json:"ids"` // 1 to 1000 citizen IDs
	Purpose string   `json:"purpose"`
}

// PersonsHashResponse answers POST /v1/persons/hash.
type PersonsHashResponse struct {
	Hashes []string `json:"hashes"`
}
