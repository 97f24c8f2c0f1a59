package cluster

import (
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus collectors (Collectors).
type metrics struct {
	state          prometheus.GaugeFunc
	appliedIndex   prometheus.GaugeFunc
	commitDuration prometheus.Histogram
	forwarded      *prometheus.CounterVec
	leaderChanges  prometheus.Counter
}

func newMetrics(n *Node) metrics {
	return metrics{
		state: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "idbolt_raft_state",
			Help: "This node's raft state: 0 follower, 1 candidate, 2 leader, 3 shut down."}, func() float64 {
			if n.raft == nil {
				return float64(raft.Shutdown)
			}
			return float64(n.raft.State())
		}),
		appliedIndex: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "idbolt_raft_applied_index",
			Help: "Log index of the last entry applied to this node's data file."}, func() float64 {
			if n.db == nil {
				return 0
			}
			return float64(n.db.AppliedIndex())
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "idbolt_raft_commit_duration_seconds",
			Help:    "Time from proposing a write-set on the leader until a quorum committed it and the leader applied it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idbolt_cluster_forwarded_requests_total",
			Help: "Requests this node forwarded to the leader, by outcome (ok, error)."}, []string{"outcome"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "idbolt_raft_leadership_changes_total",
			Help: "Times this node became or stopped being the leader."}),
	}
}

// Collectors returns the node's metrics, for a Prometheus registry.
func (n *Node) Collectors() []prometheus.Collector {
	m := &n.metrics
	return []prometheus.Collector{m.state, m.appliedIndex, m.commitDuration, m.forwarded, m.leaderChanges}
}
