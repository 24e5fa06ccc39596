package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/anchor/anchortest"

	"github.com/creditx/creditx/anchor"
	"golang.org/x/mod/sumdb/tlog"
)

// brokenReader fails every read.
type brokenReader struct{}

var errChannel = errors.New("peer unavailable")

func (brokenReader) Latest(context.Context, string) (anchor.Anchor, error) {
	return anchor.Anchor{}, errChannel
}
func (brokenReader) Get(context.Context, string, uint64) (anchor.Anchor, error) {
	return anchor.Anchor{}, errChannel
}

func TestCheckAnchors(t *testing.T) {
	ctx := context.Background()
	good, fork := anchortest.NewTree(40, "good"), anchortest.NewTree(40, "fork")
	at := func(tr anchortest.Tree, n int64) anchor.Anchor {
		return anchor.Anchor{Member: "330000", Size: uint64(n), Root: tr.Root(n)}
	}
	// backend returns a Memory holding the anchors, each put as the first
	// of a fresh backend would be, extended with proofs from tr.
	backend := func(tr anchortest.Tree, sizes ...int64) *anchor.Memory {
		m := anchor.NewMemory()
		var prev int64
		for _, n := range sizes {
			var p tlog.TreeProof
			if prev > 0 {
				var err error
				if p, err = tlog.ProveTree(n, prev, tr); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.Put(ctx, at(tr, n), p); err != nil {
				t.Fatal(err)
			}
			prev = n
		}
		return m
	}
	const size = 30 // the audited ledger: good, 30 entries
	for _, tc := range []struct {
		name     string
		r        AnchorReader
		ok       bool
		failure  string // substring of the failure reason; "" for none
		note     string // substring of the note
		anchored uint64
	}{
		{"nothing anchored", anchor.NewMemory(), false, "", "no anchor recorded", 0},
		{"anchored at the audited size", backend(good, 30), true, "", "", 30},
		{"anchored below, consistent", backend(good, 7, 19), true, "", "", 19},
		{"anchored below at a tile-unaligned size", backend(good, 1), true, "", "", 1},
		{"tampered: another root at the audited size", backend(fork, 30), false, "same size, different root", "", 30},
		{"tampered: another history below", backend(fork, 12), false, "no consistency", "", 12},
		{"anchor beyond, none at the audited size", backend(good, 35), false, "", "beyond the audited ledger", 0},
		{"anchor beyond, one at the audited size", backend(good, 30, 40), true, "", "", 30},
		{"anchor beyond, a forked one at the audited size", backend(fork, 30, 40), false, "same size, different root", "", 30},
		{"channel unreadable", brokenReader{}, false, "reading the latest anchor: peer unavailable", "", 0},
	} {
		res, f := CheckAnchors(ctx, tc.r, "330000", size, good.Root(size), good)
		if res.OK != tc.ok || res.AnchoredSize != tc.anchored || !strings.Contains(res.Note, tc.note) {
			t.Errorf("%s: %+v", tc.name, res)
		}
		switch {
		case tc.failure == "" && f != nil:
			t.Errorf("%s: unexpected failure %v", tc.name, f)
		case tc.failure != "" && (f == nil || f.Check != CheckAnchor || !strings.Contains(f.Reason, tc.failure)):
			t.Errorf("%s: failure %v, want a %s failure containing %q", tc.name, f, CheckAnchor, tc.failure)
		}
		if f != nil && tc.anchored > 0 {
			// the failure names the member, the size and both roots
			fr := fork.Root(int64(tc.anchored))
			gr := good.Root(int64(tc.anchored))
			for _, s := range []string{"member 330000", fmt.Sprintf("size %d", tc.anchored), hex.EncodeToString(fr[:]), hex.EncodeToString(gr[:])} {
				if !strings.Contains(f.Reason, s) {
					t.Errorf("%s: failure %q does not name %s", tc.name, f.Reason, s)
				}
			}
		}
	}
}

// TestRunCrossChecksAnchors audits the fixture with anchors on an
// in-memory channel: consistent anchors pass, a tampered one fails the
// audit naming the member, the size and both roots.
func TestRunCrossChecksAnchors(t *testing.T) {
	ctx := context.Background()
	fx := buildFixture(t, 2, fixtureOpts{})
	in, err := FromDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, in, Options{At: fixtureAt})
	if err != nil {
		t.Fatal(err)
	}
	// every checkpoint size and root the audit saw, per member
	type cp struct {
		size uint64
		root tlog.Hash
	}
	seen := map[string][]cp{}
	for _, c := range rep.Copies {
		var h tlog.Hash
		b, _ := hex.DecodeString(c.Root)
		copy(h[:], b)
		code := codeOf(c.Origin)
		if len(seen[code]) == 0 || seen[code][0].size != c.Size {
			seen[code] = append(seen[code], cp{c.Size, h})
		}
	}
	m := anchor.NewMemory()
	put := func(code string, size uint64, root tlog.Hash) {
		if _, err := m.Put(ctx, anchor.Anchor{Member: code, Size: size, Root: root}, nil); err != nil {
			t.Fatal(err)
		}
	}
	small := func(code string) cp { // the lagging mirror's checkpoint
		s := seen[code][0]
		for _, c := range seen[code] {
			if c.size < s.size {
				s = c
			}
		}
		return s
	}
	put("310000", small("310000").size, small("310000").root) // consistent, below
	full := seen["320000"][0]
	for _, c := range seen["320000"] {
		if c.size > full.size {
			full = c
		}
	}
	put("320000", full.size, full.root) // equal
	tampered := small("330000")
	tampered.root[0] ^= 0xff
	put("330000", tampered.size, tampered.root)

	rep, err = Run(ctx, in, Options{At: fixtureAt, Anchors: m})
	var ie *IntegrityError
	if !errors.As(err, &ie) || ie.Count != 1 || ie.First.Check != CheckAnchor || ie.First.Origin != "creditx.330000/ledger" {
		t.Fatalf("Run with a tampered anchor: %v, want exactly one anchor failure for 330000", err)
	}
	if want := fmt.Sprintf("the anchor at size %d has root %x", tampered.size, tampered.root[:]); !strings.Contains(ie.First.Reason, want) {
		t.Errorf("failure %q does not carry the anchored root (%s)", ie.First.Reason, want)
	}
	if len(rep.Anchors) != 3 || !rep.Anchors[0].OK || !rep.Anchors[1].OK || rep.Anchors[2].OK {
		t.Errorf("anchor results: %+v", rep.Anchors)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "Anchors (Fabric):") || !strings.Contains(text.String(), "FAILED 330000") {
		t.Errorf("text report lacks the anchor section:\n%s", text.String())
	}
}
