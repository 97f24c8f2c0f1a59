package main

import (
	"context"
	"log/slog"
	"net"
	"sync"

	"github.com/idbolt/idbolt/store/cluster"
)

// clusterNode is this process's cluster member with its cluster port.
type clusterNode struct {
	*cluster.Node
	mux       *cluster.Mux
	closeOnce sync.Once
}

// startClusterPort listens on --raft-addr with the cluster's TLS and
// returns the node, not yet started (it needs the store).
func startClusterPort(cfg serveConfig, logger *slog.Logger, onLeader func(context.Context)) (*clusterNode, error) {
	c := cfg.cluster
	tlsConfig, err := cluster.LoadTLS(c.tlsDir, c.nodeID)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.raftAddr)
	if err != nil {
		return nil, err
	}
	mux := cluster.NewMux(ln, tlsConfig, cluster.MuxOptions{AdvertiseAddr: c.raftAddr, Logger: logger})
	node, err := cluster.New(cluster.Config{ID: c.nodeID, Addr: c.raftAddr, URL: c.advertiseURL, Peers: c.peers,
		Dir: cfg.data + ".raft", Transport: cluster.NewTransport(mux, logger), Client: mux.HTTPClient(),
		ContactBound: c.contactBound, SnapshotThreshold: c.snapshotThreshold, SnapshotInterval: c.snapshotInterval,
		OnLeader: onLeader, Logger: logger})
	if err != nil {
		mux.Close()
		return nil, err
	}
	logger.Info("cluster port listening", "node", c.nodeID, "raft_addr", ln.Addr().String(), "peers", len(c.peers))
	return &clusterNode{Node: node, mux: mux}, nil
}

// close stops raft and the cluster port; it is safe to call twice.
func (n *clusterNode) close() {
	n.closeOnce.Do(func() {
		if err := n.Shutdown(); err != nil {
			slog.Default().Warn("raft shutdown", "err", err)
		}
		n.mux.Close()
	})
}
