package exchangeops

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// The replica's reads of the runtime's state outside the endpoints.

// MirrorOrigin maps the code of another member of the manifest in force
// (exchange/live.go) to its mirrored origin; false for this region, an
// unknown code, or a node that is not a consortium member.
func (h *Handlers) MirrorOrigin(code string) (string, bool) {
	if h.x == nil {
		return "", false
	}
	mb, ok := h.x.Cached().Member(code)
	if !ok || mb.Code == h.region {
		return "", false
	}
	return mb.Origin(), true
}

// Export writes this member's own ledger and every mirror as static C2SP
// tlog-tiles trees (ledger.Export) under dir/<member code>/, each with its
// vkey; the checkpoint files are the stored ones (with cosignature lines
// once witnessed). withStore runs fn on the replica's open store. The
// members are those of the manifest in force (members that joined too).
func (h *Handlers) Export(ctx context.Context, dir string, withStore func(fn func(s *ledger.Store) error) error) error {
	if h.x == nil {
		return fmt.Errorf("this node is not a consortium member")
	}
	m := h.x.InForce()
	for i := range m.Members {
		mb := &m.Members[i]
		err := withStore(func(s *ledger.Store) error {
			return ledger.Export(ctx, s.Log(mb.Origin()), filepath.Join(dir, mb.Code), strings.TrimSpace(mb.LogVKey))
		})
		if err != nil {
			return fmt.Errorf("exporting %s: %w", mb.Origin(), err)
		}
	}
	return nil
}

// AddPeerVerifiers adds to verifiers the log keys of the configured
// members and of those that joined by governance (the manifest in force as
// of ledger.db), so that the start-up check verifies their mirrors too.
func (h *Handlers) AddPeerVerifiers(verifiers map[string]note.Verifier) error {
	if h.x == nil {
		return nil
	}
	for o, v := range h.x.PeerVerifiers() {
		verifiers[o] = v
	}
	return h.n.View(func(tx *ledger.ReadTx) error {
		h.x.AddLiveVerifiers(tx, verifiers)
		return nil
	})
}
