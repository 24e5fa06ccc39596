package raftcluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRaftFirstElectionIsInfo: the election every start begins with is not
// logged as a warning; losing a known leader still is.
func TestRaftFirstElectionIsInfo(t *testing.T) {
	var b bytes.Buffer
	w := slogWriter{slog.New(slog.NewTextHandler(&b, nil))}
	w.Write([]byte("2026-12-05T13:10:29.376Z [WARN]  raft: heartbeat timeout reached, starting election: last-leader-addr= last-leader-id=\n"))
	if !strings.Contains(b.String(), "level=INFO") {
		t.Errorf("first election: %s", b.String())
	}
	b.Reset()
	w.Write([]byte("2026-12-05T13:10:29.376Z [WARN]  raft: heartbeat timeout reached, starting election: last-leader-addr=127.0.0.1:9443 last-leader-id=zj-1\n"))
	if !strings.Contains(b.String(), "level=WARN") {
		t.Errorf("lost leader: %s", b.String())
	}
}
