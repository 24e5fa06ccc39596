package ledger

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// MaxTileResource is the largest resource of the tlog-tiles read API: a full
// entry bundle of maximal entries, TileWidth x (2 + MaxEntrySize) bytes.
// HTTPSource refuses a longer answer.
const MaxTileResource = TileWidth * (2 + MaxEntrySize)

// HTTPSource reads one log through its C2SP tlog-tiles read API
// (Base + "/checkpoint", "/tile/<L>/<N>[.p/<W>]", "/tile/entries/<N>[.p/<W>]").
// It is the one HTTP reader of tlog-tiles in creditx: the auditor, the
// anchoring sidecar and the exchange's mirror loop all read through it.
//
// Everything it returns is unverified, as from any TileSource: check a
// checkpoint with OpenCheckpoint, hashes through TileHashReader or
// tlog.TileHashReader, entries against those hashes. A 404 answer is an
// error wrapping ErrNotFound; any other answer but 200 is an error naming
// the URL and status.
type HTTPSource struct {
	// Base is the log's prefix, e.g. "https://zj.example:8443/ledger/330000"
	// (or "/ledger/330000" when Get resolves paths itself).
	Base string
	// Client does the requests; nil means http.DefaultClient. Unused when
	// Get is set.
	Client *http.Client
	// Ctx bounds every request (TileSource's methods take no context);
	// nil means context.Background().
	Ctx context.Context
	// Get, if set, replaces Client: it GETs url and returns the answer's
	// status code and body, a slice the caller then owns (Entries returns
	// slices of it). The exchange sets it to send requests over its own
	// mutual-TLS HTTP/3 connections.
	Get func(ctx context.Context, url string) (status int, body []byte, err error)
}

func (h HTTPSource) get(path string) ([]byte, error) {
	ctx := h.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	url := strings.TrimSuffix(h.Base, "/") + "/" + path
	get := h.Get
	if get == nil {
		get = h.httpGet
	}
	status, b, err := get(ctx, url)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTileResource {
		return nil, fmt.Errorf("GET %s: answer over %d bytes", url, MaxTileResource)
	}
	switch status {
	case http.StatusOK:
		return b, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", url, ErrNotFound)
	default:
		return nil, fmt.Errorf("GET %s: %d %s", url, status, http.StatusText(status))
	}
}

func (h HTTPSource) httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxTileResource+1))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: reading answer: %w", url, err)
	}
	return resp.StatusCode, b, nil
}

// Checkpoint fetches the log's checkpoint as the node serves it (for a
// member's own ledger, its witnessed checkpoint with cosignatures);
// unverified.
func (h HTTPSource) Checkpoint() ([]byte, error) { return h.get(ExportCheckpointFile) }

// ReadTile implements TileSource.
func (h HTTPSource) ReadTile(level int, n uint64, width int) ([]byte, error) {
	return h.get(TilePath(level, n, width))
}

// ReadEntryBundle implements TileSource.
func (h HTTPSource) ReadEntryBundle(n uint64, width int) ([]byte, error) {
	return h.get(EntriesPath(n, width))
}

// Entries fetches entries [start, end) from the log's entry bundles, end
// being at most the size of a checkpoint the caller holds (so every bundle
// read is final or the partial bundle of that size). It checks only that
// each bundle parses and holds as many entries as its width; the caller
// verifies the entries against the checkpoint's hashes. The entries are
// slices of the bundles' answers, which the caller then owns (each
// capped at its length, so an append copies it), not copies: copying
// every entry of every bundle a mirror fetched was garbage of the
// bundles' size again (issue 20).
func (h HTTPSource) Entries(start, end uint64) ([][]byte, error) {
	out := make([][]byte, 0, min(end-min(start, end), 4*TileWidth))
	for i := start; i < end; {
		n := i / TileWidth
		width := int(min(uint64(TileWidth), end-n*TileWidth))
		b, err := h.ReadEntryBundle(n, width)
		if err != nil {
			return nil, err
		}
		es, err := ParseEntryBundle(b)
		if err != nil {
			return nil, fmt.Errorf("entry bundle %d: %w", n, err)
		}
		if len(es) != width {
			return nil, fmt.Errorf("entry bundle %d: %d entries, want %d", n, len(es), width)
		}
		out = append(out, es[i-n*TileWidth:]...)
		i = n*TileWidth + uint64(width)
	}
	return out, nil
}

// TileReader returns a tlog.TileReader over h's hash tiles that keeps up to
// 256 tiles it read (hash tiles are re-read across batches of a mirror).
// Wrap it in tlog.TileHashReader to authenticate what it returns. Not safe
// for concurrent use.
func (h HTTPSource) TileReader() tlog.TileReader {
	return &cachedTileReader{src: h, cache: map[tlog.Tile][]byte{}}
}

type cachedTileReader struct {
	src   TileSource
	cache map[tlog.Tile][]byte
}

func (*cachedTileReader) Height() int { return TileHeight }

func (r *cachedTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if b, ok := r.cache[t]; ok {
			out[i] = b
			continue
		}
		b, err := r.src.ReadTile(t.L, uint64(t.N), t.W)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", strings.TrimPrefix(t.Path(), "tile/"), err)
		}
		if len(r.cache) >= 256 {
			clear(r.cache)
		}
		r.cache[t] = b
		out[i] = b
	}
	return out, nil
}

func (*cachedTileReader) SaveTiles([]tlog.Tile, [][]byte) {}
