package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/idbolt/idbolt/store"
)

// NodeStatus is one node as GET /system/cluster shows it.
type NodeStatus struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	URL      string `json:"url"`
	// State is leader, follower, candidate, or unreachable when the node
	// answering could not ask it.
	State        string `json:"state"`
	AppliedIndex uint64 `json:"appliedIndex"`
	// LastContact is when the node last heard from a leader (epoch ms;
	// now for the leader itself), or null.
	LastContact *int64 `json:"lastContact"`
}

// Status is the cluster as GET /system/cluster shows it.
type Status struct {
	Leader string       `json:"leader"`
	Nodes  []NodeStatus `json:"nodes"`
}

// localStatus is this node's own status.
func (n *Node) localStatus() NodeStatus {
	s := NodeStatus{ID: n.cfg.ID, RaftAddr: n.cfg.Addr, URL: n.cfg.URL, State: "unreachable"}
	if n.db != nil {
		s.AppliedIndex = n.db.AppliedIndex()
	}
	if n.raft == nil {
		return s
	}
	var contact time.Time
	switch n.raft.State() {
	case raft.Leader:
		s.State, contact = "leader", time.Now()
	case raft.Candidate:
		s.State, contact = "candidate", n.raft.LastContact()
	case raft.Follower:
		s.State, contact = "follower", n.raft.LastContact()
	}
	if !contact.IsZero() {
		ms := contact.UnixMilli()
		s.LastContact = &ms
	}
	return s
}

// Status asks every member of the cluster for its status, in parallel,
// each within a second; one that does not answer is unreachable.
func (n *Node) Status(ctx context.Context) (Status, error) {
	if n.raft == nil {
		return Status{}, errNoLeader()
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return Status{}, err
	}
	_, leader := n.raft.LeaderWithID()
	servers := f.Configuration().Servers
	st := Status{Leader: string(leader), Nodes: make([]NodeStatus, len(servers))}
	var wg sync.WaitGroup
	for i, srv := range servers {
		if string(srv.ID) == n.cfg.ID {
			st.Nodes[i] = n.localStatus()
			continue
		}
		wg.Go(func() {
			st.Nodes[i] = n.peerStatus(ctx, srv)
		})
	}
	wg.Wait()
	return st, nil
}

// peerStatus asks one other node for its status.
func (n *Node) peerStatus(ctx context.Context, srv raft.Server) NodeStatus {
	unreachable := NodeStatus{ID: string(srv.ID), RaftAddr: string(srv.Address), State: "unreachable"}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+string(srv.Address)+pathStatus, nil)
	if err != nil {
		return unreachable
	}
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return unreachable
	}
	defer resp.Body.Close()
	var s NodeStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&s) != nil || s.ID != string(srv.ID) {
		return unreachable
	}
	s.RaftAddr = string(srv.Address) // as the cluster knows it
	return s
}

// AddVoter adds a node to the cluster; it catches up from the leader (from
// a snapshot when the log no longer reaches back far enough). Only the
// leader can; a follower forwards the request.
//
// Returns EINVALID for an id a node could not have (no certificate can
// name it) or an address that is not HOST:PORT: raft would take either
// into the configuration, and a voter that can never answer weighs on
// every quorum until it is removed; ECONFLICT for the address of another
// member.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	if err := ValidNodeID(id); err != nil {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "id", Message: "id: " + err.Error()}
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" || port == "0" {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "raftAddr",
			Message: fmt.Sprintf("raftAddr %q: want HOST:PORT, the address the node's --raft-addr names.", addr)}
	}
	if err := n.waitReady(5 * time.Second); err != nil {
		return err
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.Address) == addr && string(srv.ID) != id {
			return &store.Error{Code: store.ECONFLICT, Detail: "cluster.address_in_use",
				Message: fmt.Sprintf("Node %q already has raftAddr %q.", srv.ID, addr)}
		}
	}
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 30*time.Second).Error(); err != nil {
		return membershipError(err)
	}
	return nil
}

// RemoveServer removes a node from the cluster. Removing the leader
// itself hands leadership to another node.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := n.waitReady(5 * time.Second); err != nil {
		return err
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	found := false
	for _, srv := range f.Configuration().Servers {
		found = found || string(srv.ID) == id
	}
	if !found {
		return &store.Error{Code: store.ENOTFOUND, Detail: "cluster.node_not_found", Message: fmt.Sprintf("No node %q in the cluster.", id)}
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, 30*time.Second).Error(); err != nil {
		return membershipError(err)
	}
	return nil
}

func membershipError(err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
		return errNoLeader()
	}
	return fmt.Errorf("change membership: %w", err)
}
