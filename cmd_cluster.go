package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/idbolt/idbolt/store/cluster"
)

// clusterCmd runs "idbolt cluster SUBCOMMAND": only init-certs so far.
func clusterCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init-certs" {
		return errors.New("usage: idbolt cluster init-certs --out DIR --nodes ID,ID,... [--ca-dir DIR]")
	}
	return initCerts(args[1:], getenv, stdout, stderr)
}

// initCerts writes a cluster CA and node certificates (cluster.InitCerts),
// or, with --ca-dir, certificates of new nodes signed by an existing CA.
func initCerts(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cluster init-certs", stderr)
	out := fs.String("out", getenv("IDBOLT_CLUSTER_CERTS_OUT"), "directory to write into, made if missing; existing files are never overwritten (required) (IDBOLT_CLUSTER_CERTS_OUT)")
	nodes := fs.String("nodes", getenv("IDBOLT_CLUSTER_NODES"), "comma-separated node ids, as --node-id gives them (required) (IDBOLT_CLUSTER_NODES)")
	caDir := fs.String("ca-dir", getenv("IDBOLT_CLUSTER_CA_DIR"), "sign with this directory's ca.pem and ca-key.pem instead of making a new CA (IDBOLT_CLUSTER_CA_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *nodes == "" || fs.NArg() > 0 {
		return errors.New("init-certs needs --out and --nodes (and no other arguments)")
	}
	written, err := cluster.InitCerts(*out, strings.Split(*nodes, ","), *caDir)
	if err != nil {
		return err
	}
	for _, path := range written {
		fmt.Fprintln(stdout, "idbolt: wrote", path)
	}
	if *caDir == "" {
		fmt.Fprintf(stdout, "idbolt: give each node ca.pem, ID.pem and ID-key.pem (--cluster-tls-dir); keep %s/%s offline, it only makes new node certificates\n",
			*out, cluster.CAKeyFile)
	}
	return nil
}
