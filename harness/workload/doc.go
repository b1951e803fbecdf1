// Package workload gets workload containers running on a runtime sandbox
// without a registry: it builds the static Go programs under images/ into
// image archives (docker-archive and OCI layout in one tar), loads them into
// a sandbox's containerd (ctr import into the CRI namespace) or dockerd
// (ImageLoad), and starts them, through a small CRI client on containerd and
// through testcontainers-go on dockerd.
//
// Everything here talks to real daemons; the tests start private ones.
package workload
