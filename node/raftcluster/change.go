package raftcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/hashicorp/raft"
)

var (
	// ErrConflict is wrapped by a change the configuration refuses: an id
	// already a member with another address, an address used by another
	// replica, removing the last voter.
	ErrConflict = errors.New("conflicts with the raft configuration")
	// ErrUnknownReplica is wrapped by removing an id that is not a member.
	ErrUnknownReplica = errors.New("not a member of the raft configuration")
)

// refusal is a change refused for what the configuration holds; its text is
// the reason, and it is kind (ErrConflict or ErrUnknownReplica).
type refusal struct {
	kind error
	msg  string
}

func (e *refusal) Error() string        { return e.msg }
func (e *refusal) Is(target error) bool { return target == e.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// LostLead says whether err means this replica does not (or no longer)
// lead: the change was not made here, and the new leader may make it.
func LostLead(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress)
}

// changeTimeout bounds raft's own wait to enqueue one change (the caller's
// ctx bounds the whole).
const changeTimeout = 5 * time.Second

// Status is the raft configuration as r sees it: every server, which one
// leads, and for self its last and applied index; API addresses come from
// peers.
func Status(r *raft.Raft, self string, peers []Peer) (api.ClusterStatus, error) {
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return api.ClusterStatus{}, err
	}
	_, leader := r.LeaderWithID()
	// cf.Index() is always 0 in hashicorp/raft v1.7.3 (see lockChanges):
	// the status does not claim an index it cannot know.
	st := api.ClusterStatus{Replica: self, Leader: string(leader), Servers: []api.ClusterServer{}}
	for _, s := range cf.Configuration().Servers {
		cs := api.ClusterServer{ID: string(s.ID), RaftAddress: string(s.Address), Suffrage: suffrageName(s.Suffrage), Leader: s.ID == leader}
		for _, p := range peers {
			if p.ID == cs.ID {
				cs.API = p.API
			}
		}
		if cs.ID == self {
			cs.LastIndex = r.LastIndex()
			cs.AppliedIndex = r.AppliedIndex()
		}
		st.Servers = append(st.Servers, cs)
	}
	return st, nil
}

func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	default:
		return "staging"
	}
}

// lockChanges waits until no other configuration change is under way
// through r (or ctx ends) and returns the function that ends this one.
//
// Why here and not raft's prevIndex: hashicorp/raft v1.7.3's
// GetConfiguration never fills in the configuration's index (Index() is
// always 0), so prevIndex 0 disables raft's "configuration changed since"
// check, and two concurrent changes could both pass the checks below:
// raft's own check refuses duplicate ids and addresses and a configuration
// without voters, but an AddVoter of an existing voter moves it to the new
// address, so the same replica added at two addresses at once would
// silently move (TestConcurrentAddsSerialized). Raft itself takes one change
// at a time once the previous one committed; holding this for the whole
// check-then-change makes each check see every change before it. Changes
// reach raft only through the leader, and a change begun under a lead that
// is lost fails (ErrNotLeader), so one replica's lock is enough.
func (r *Replica) lockChanges(ctx context.Context) (unlock func(), err error) {
	r.changesOnce.Do(func() { r.changes = make(chan struct{}, 1) })
	select {
	case r.changes <- struct{}{}:
		return func() { <-r.changes }, nil
	case <-ctx.Done():
		return nil, notCommitted(ctx.Err())
	}
}

// AddVoter makes id (at addr) a voter; the replica must lead. Changes
// through one replica are made one at a time (lockChanges), each checked
// against the configuration left by the one before. changed is false for
// an idempotent repeat (answered once the configuration that has it is
// committed, with the index this replica had applied then).
func (rep *Replica) AddVoter(ctx context.Context, id, addr string, logger *slog.Logger) (changed bool, index uint64, err error) {
	unlock, err := rep.lockChanges(ctx)
	if err != nil {
		return false, 0, err
	}
	defer unlock()
	r := rep.Raft
	sid, saddr := raft.ServerID(id), raft.ServerAddress(addr)
	for {
		cf := r.GetConfiguration()
		if err := cf.Error(); err != nil {
			return false, 0, fmt.Errorf("reading the raft configuration: %w", err)
		}
		present := false
		for _, s := range cf.Configuration().Servers {
			switch {
			case s.ID == sid && s.Address != saddr:
				return false, 0, refuse(ErrConflict, "replica %s is already a member with raft address %s, not %s; remove it first to replace it", sid, s.Address, saddr)
			case s.ID != sid && s.Address == saddr:
				return false, 0, refuse(ErrConflict, "raft address %s is already used by replica %s", saddr, s.ID)
			case s.ID == sid:
				present = s.Suffrage == raft.Voter
			}
		}
		if present {
			// Idempotent repeat: answer once the configuration that has it
			// is committed (a barrier commits everything before it).
			if err := WaitFuture(ctx, r.Barrier(changeTimeout)); err != nil {
				return false, 0, notCommitted(err)
			}
			return false, r.AppliedIndex(), nil
		}
		if rep.checked != nil {
			rep.checked()
		}
		f := r.AddVoter(sid, saddr, 0, changeTimeout)
		err := WaitFuture(ctx, f)
		if err == nil {
			logger.Info("replica added to the raft configuration", "id", id, "raft_address", addr, "index", f.Index())
			return true, f.Index(), nil
		}
		if err := retryChange(ctx, err, logger); err != nil {
			return false, 0, err
		}
	}
}

// Remove removes id from the configuration; the replica must lead.
// Removing the last voter is refused (ErrConflict), an id that is not a
// member too (ErrUnknownReplica). One change at a time, as AddVoter.
func (rep *Replica) Remove(ctx context.Context, id string, logger *slog.Logger) (index uint64, err error) {
	unlock, err := rep.lockChanges(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	r := rep.Raft
	sid := raft.ServerID(id)
	for {
		cf := r.GetConfiguration()
		if err := cf.Error(); err != nil {
			return 0, fmt.Errorf("reading the raft configuration: %w", err)
		}
		found, voters, isVoter := false, 0, false
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			}
			if s.ID == sid {
				found, isVoter = true, s.Suffrage == raft.Voter
			}
		}
		if !found {
			return 0, refuse(ErrUnknownReplica, "replica %q is not a member of the raft configuration", id)
		}
		if isVoter && voters == 1 {
			return 0, refuse(ErrConflict, "replica %s is the last voter; removing it would leave the region without a cluster", id)
		}
		f := r.RemoveServer(sid, 0, changeTimeout)
		err := WaitFuture(ctx, f)
		if err == nil {
			logger.Info("replica removed from the raft configuration", "id", id, "index", f.Index())
			return f.Index(), nil
		}
		if err := retryChange(ctx, err, logger); err != nil {
			return 0, err
		}
	}
}

// retryChange decides after a failed configuration change: nil to try again
// (the configuration changed under us), or the error to return: a lost lead
// as it is (LostLead), anything else as not known to be committed.
func retryChange(ctx context.Context, err error, logger *slog.Logger) error {
	if LostLead(err) || ctx.Err() != nil {
		return notCommitted(err)
	}
	// Raft refused or timed out enqueueing it (e.g. a configuration
	// change of raft's own, such as a leader's, not yet committed). Re-read
	// and decide again.
	logger.Warn("configuration change failed; retrying", "err", err)
	select {
	case <-ctx.Done():
		return notCommitted(ctx.Err())
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

func notCommitted(err error) error {
	return fmt.Errorf("configuration change not known to be committed, safe to retry: %w", err)
}

// ValidateAdd checks the fields of an add request and names each bad one;
// nil if both are good.
func ValidateAdd(req api.AddReplicaRequest) *api.ErrorBody {
	var fes []api.FieldError
	if !ValidReplicaID(req.ID) {
		fes = append(fes, api.FieldError{Record: -1, Field: "id", Rule: "replica_id",
			Message: fmt.Sprintf("%q is not a replica id: 1-32 characters a-z, 0-9 and '-', starting with a letter, not ending with '-'", req.ID)})
	}
	if msg := CheckRaftAddress(req.RaftAddress); msg != "" {
		fes = append(fes, api.FieldError{Record: -1, Field: "raft_address", Rule: "host_port", Message: msg})
	}
	if len(fes) == 0 {
		return nil
	}
	var names []string
	for _, fe := range fes {
		names = append(names, fe.Field)
	}
	return &api.ErrorBody{Status: http.StatusBadRequest, Error: "invalid " + strings.Join(names, ", "), Errors: fes}
}

// ValidReplicaID is the rule the region CA applies to the id of a replica
// certificate (package pki), so that a replica can add itself by its
// certificate's id.
func ValidReplicaID(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CheckRaftAddress returns why a is not an address other replicas can dial,
// or "".
func CheckRaftAddress(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Sprintf("%q is not host:port: %v", a, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("%q: port must be 1-65535", a)
	}
	if host == "" {
		return fmt.Sprintf("%q: host is required (the address the other replicas dial)", a)
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return fmt.Sprintf("%q: %s is a listen address, not one the other replicas can dial", a, host)
		}
		return ""
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Sprintf("%q: %q is not a host name or IP address", a, host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("%q: %q is not a host name or IP address", a, host)
			}
		}
	}
	return ""
}

// LeaderAPIBase is the HTTPS base URL of the leader's API: its entry in
// peers, else, for a replica that joined after this one was configured, the
// leader's raft host with this replica's own API port (every layout creditx
// generates gives all replicas of a region the same ports; a guess that is
// wrong fails the TLS dial or the connection, never reaches another region:
// the peer client accepts only this region's replica certificates). It is ""
// when no leader is known.
func LeaderAPIBase(peers []Peer, leaderAddr, leaderID, ownAPI string) string {
	if leaderID == "" {
		return ""
	}
	for _, p := range peers {
		if p.ID == leaderID && p.API != "" {
			return strings.TrimSuffix(p.API, "/")
		}
	}
	host, _, err := net.SplitHostPort(leaderAddr)
	if err != nil || host == "" {
		return ""
	}
	ownHost, port, err := net.SplitHostPort(ownAPI)
	if err != nil || port == "" || port == "0" || host == ownHost {
		return "" // no port to guess, or the guess would be this replica itself (replicas sharing a host)
	}
	return "https://" + net.JoinHostPort(host, port)
}
