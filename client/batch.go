package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/creditx/creditx/api"
)

// SubmitBatch posts signed entries as NDJSON with ?proofs=batch and returns
// the node's BatchReceipt unchecked (BatchReceipts checks it and
// rebuilds each record's receipt). A refusal is a *SubmitError, as for
// Submit.
func (c *Credentials) SubmitBatch(ctx context.Context, baseURL string, entries ...[]byte) (*api.BatchReceipt, error) {
	size := 0
	for _, e := range entries {
		size += len(e) + 1
	}
	body := make([]byte, 0, size)
	for _, e := range entries {
		body = append(append(body, e...), '\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+"/v1/records?proofs=batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", api.NDJSONContentType)
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		se := &SubmitError{Status: resp.StatusCode}
		if json.Unmarshal(b, &se.Body) != nil || se.Body.Error == "" {
			se.Body.Error = strings.TrimSpace(string(b))
		}
		return nil, se
	}
	var br api.BatchReceipt
	if err := json.Unmarshal(b, &br); err != nil {
		return nil, err
	}
	return &br, nil
}
