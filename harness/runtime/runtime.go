// Package runtime starts private instances of the container runtimes under
// test: a containerd with its CRI plugin, or a dockerd with its own managed
// containerd. Each instance lives under its own temp root (root, state,
// exec-root, sockets, pidfile, log) and in its own mount namespace (dockerd
// also its own network namespace), where the fixed paths runtimes resolve
// (/run/containerd, /run/docker, /etc/docker, /etc/containerd) are private,
// so it neither uses nor changes a host runtime running beside it; a memory
// guard SIGKILLs the daemon before it can take the machine, and Close removes
// every process of the namespace and every mount the instance made.
package runtime

import (
	"context"
	"time"
)

// Kind names a runtime under test. It is also the Ginkgo label and the
// "runtime" field of results.
type Kind string

const (
	// Containerd is a standalone containerd with the CRI plugin.
	Containerd Kind = "containerd"
	// Dockerd is a dockerd with its own managed containerd.
	Dockerd Kind = "dockerd"
)

// DefaultMemoryLimit is the memory guard's default RSS ceiling for a daemon.
const DefaultMemoryLimit = 4 << 30

// Sandbox is one private runtime instance.
type Sandbox interface {
	// Kind says which runtime this is.
	Kind() Kind
	// Version is the daemon's version as it reports it (e.g. "1.6.20").
	Version() string
	// Binary is the absolute path of the daemon binary in use.
	Binary() string
	// Address is the API socket: containerd's gRPC socket or dockerd's unix socket.
	Address() string
	// PID is the daemon's current pid, 0 while it is down.
	PID() int
	// Root is the instance's temp root; everything it made lives below it.
	Root() string
	// LogPath is the daemon's log file.
	LogPath() string

	// Start starts the daemon and waits until its API answers or ctx ends.
	Start(ctx context.Context) error
	// Stop stops the daemon gracefully (SIGTERM, then SIGKILL after a grace period).
	Stop(ctx context.Context) error
	// Crash SIGKILLs the daemon: power loss as far as its state is concerned.
	Crash() error
	// Restart is Stop then Start.
	Restart(ctx context.Context) error
	// Guard reports what the memory guard saw and whether it fired.
	Guard() GuardReport
	// Close stops everything the instance started (daemon, shims, containers),
	// unmounts everything below Root and removes Root. Safe to call twice.
	Close(ctx context.Context) error
}

// GuardReport is what the memory guard recorded.
type GuardReport struct {
	// Name is the daemon the report is about (e.g. "dockerd", or the
	// "containerd" a dockerd manages when that is the one that fired).
	Name string `json:"name,omitempty"`
	// Limit is the RSS ceiling in bytes.
	Limit uint64 `json:"limit"`
	// PeakRSS is the largest RSS the guard saw.
	PeakRSS uint64 `json:"peak_rss"`
	// Fired is true when the guard SIGKILLed the daemon.
	Fired bool `json:"fired"`
	// At is when it fired.
	At time.Time `json:"at,omitzero"`
}

// ContainerdConfig is what a variant changes in the config.toml relapse
// renders, as TOML overlays rather than one field per setting, so that an
// incident about a containerd setting relapse has never heard of declares it
// without touching this package. A user's own config
// (RELAPSE_CONTAINERD_CONFIG) replaces the template and the overlays are not
// applied: that file is what is being validated.
type ContainerdConfig struct {
	// CRI is merged into the CRI runtime table of whatever config version the
	// containerd uses (plugins."io.containerd.grpc.v1.cri" for version 2,
	// plugins."io.containerd.cri.v1.runtime" for version 3), e.g.
	// {"max_container_log_line_size": -1, "drain_exec_sync_io_timeout": "2s"}.
	CRI map[string]any
	// Overlay is a TOML tree deep-merged over the rendered config.toml
	// (for anything outside the CRI runtime table).
	Overlay map[string]any
}

// IsZero says whether c changes nothing (the struct holds maps, so == does
// not compile).
func (c ContainerdConfig) IsZero() bool { return len(c.CRI) == 0 && len(c.Overlay) == 0 }

// DockerdConfig is what a variant changes in the daemon.json relapse
// renders.
type DockerdConfig struct {
	// Overlay is merged into the generated daemon.json (a user's file wins,
	// and the paths and sockets that keep the instance private win over
	// both).
	Overlay map[string]any
}
