// Package cluster replicates the store over hashicorp/raft: the leader
// proposes each write transaction's write-set as one raft entry, and every
// node applies the entries in log order to its own bbolt data file, storing
// the applied index in the same transaction.
//
// # Transport
//
// Each node listens on one TLS port, its raft address. Mux splits the
// connections it accepts by ALPN protocol: ProtoRaft carries raft's
// NetworkTransport streams (RaftLayer, NewTransport) and ProtoHTTP carries
// HTTP between nodes, such as forwarded writes (HTTPListener, HTTPClient).
// Both directions authenticate with certificates of the cluster CA only,
// TLS 1.3, no system roots: a node certificate is the only credential of a
// cluster member.
//
// # Certificates
//
// InitCerts (the "idbolt cluster init-certs" command) writes the CA and one
// certificate per node into a directory; LoadTLS reads one node's files from
// it. Files, for a node ID:
//
//	ca.pem        the CA certificate, on every node
//	ca-key.pem    the CA key (0600), needed only to make node certificates
//	ID.pem        the node certificate: CN ID, DNS names ID, ServerName,
//	              localhost, IPs 127.0.0.1 and ::1; server and client auth
//	ID-key.pem    the node key (0600)
//
// Raft only knows addresses, not node IDs, so a dialer verifies the peer's
// certificate against the fixed ServerName that every node certificate
// holds; PeerNodeID tells which node a verified peer is.
package cluster
