package exchange

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/creditx/creditx/internal/freelist"
)

// answerReaders reads the answers of a member's clients to the other
// members (Client.doWithin) with buffers and gzip readers kept across
// requests, shared by all its clients: an answer costs one allocation of
// its exact decoded size. Before, io.ReadAll grew a fresh slice by
// doubling (about twice the answer in garbage) and HTTP/3's transparent
// gzip made a new decompressor (~45 KB) per answer: 370 MB of the 4.3 GB
// allocated during bench delta --members 45 --loop-log's convergence, most
// of it entry bundles fetched by mirrors and custodians (issue 20). At most
// freelist.Max of each are kept, and no buffer over keptAnswerBuffer
// bytes. Safe for concurrent use; a nil *answerReaders keeps nothing.
type answerReaders struct {
	zrs  freelist.List[*gzip.Reader]
	bufs freelist.List[*bytes.Buffer]
}

// keptAnswerBuffer bounds a kept buffer: a partial entry bundle, the usual
// answer, is tens of KB (a larger buffer is dropped after use; with
// buffers up to 1 MiB kept, bench delta's resident set grew ~4 MiB per
// member). With freelist.Max of each kept, ~0.6 MB per member at most.
const keptAnswerBuffer = 256 << 10

// read is io.ReadAll(io.LimitReader(body, limit)), body gunzipped first if
// gzipped: at most limit decoded bytes, what is past them ignored.
func (p *answerReaders) read(body io.Reader, gzipped bool, limit int64) ([]byte, error) {
	buf := p.buffer()
	defer p.keepBuffer(buf)
	r := body
	if gzipped {
		zr, err := p.gunzip(body)
		if err != nil {
			return nil, fmt.Errorf("gzip answer: %w", err)
		}
		defer p.keepGunzip(zr)
		r = zr
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, limit)); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

func (p *answerReaders) buffer() *bytes.Buffer {
	if p != nil {
		if b, ok := p.bufs.Get(); ok {
			return b
		}
	}
	return new(bytes.Buffer)
}

func (p *answerReaders) keepBuffer(b *bytes.Buffer) {
	if p == nil || b.Cap() > keptAnswerBuffer {
		return
	}
	b.Reset()
	p.bufs.Put(b)
}

// gunzip is a gzip reader of body, a kept one if any.
func (p *answerReaders) gunzip(body io.Reader) (*gzip.Reader, error) {
	if p == nil {
		return gzip.NewReader(body)
	}
	zr, ok := p.zrs.Get()
	if !ok {
		return gzip.NewReader(body)
	}
	if err := zr.Reset(body); err != nil {
		return nil, err // zr is dropped
	}
	return zr, nil
}

func (p *answerReaders) keepGunzip(zr *gzip.Reader) {
	if p == nil {
		return // the reader still refers to the body it read until reused or dropped
	}
	p.zrs.Put(zr)
}
