package crash

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// LocalKV is libnetwork's local store under a dockerd data-root: networks,
// endpoints and IPAM pools, read by every dockerd start
// (initNetworkController -> libnetwork.New -> reservePools).
func LocalKV(dataRoot string) string {
	return filepath.Join(dataRoot, "network", "files", "local-kv.db")
}

// MetaDB is the metadata store of the containerd a dockerd manages under its
// data-root: containers, images, content, leases, snapshots (bucket "v1").
func MetaDB(dataRoot string) string {
	return filepath.Join(dataRoot, "containerd", "daemon", "io.containerd.metadata.v1.bolt", "meta.db")
}

// daemonConfig is what a dockerd sandbox tells about its effective
// daemon.json (runtime.DockerdSandbox has it).
type daemonConfig interface {
	DaemonConfig() map[string]any
}

// DataRoot is a dockerd sandbox's --data-root, read from its effective
// daemon.json.
func DataRoot(sb runtime.Sandbox) (string, error) {
	return configPath(sb, "data-root")
}

// ExecRoot is a dockerd sandbox's --exec-root (where dockerd writes its
// SIGUSR1 goroutine dumps and its containerd keeps its sockets).
func ExecRoot(sb runtime.Sandbox) (string, error) {
	return configPath(sb, "exec-root")
}

func configPath(sb runtime.Sandbox, key string) (string, error) {
	if sb == nil {
		return "", errors.New("no sandbox")
	}
	d, ok := sb.(daemonConfig)
	if !ok {
		return "", fmt.Errorf("%s sandbox has no daemon.json to read %s from: want a dockerd sandbox", sb.Kind(), key)
	}
	v, ok := d.DaemonConfig()[key].(string)
	if !ok || !filepath.IsAbs(v) {
		return "", fmt.Errorf("dockerd sandbox in %s: daemon.json has no absolute %q (got %v)", sb.Root(), key, d.DaemonConfig()[key])
	}
	return v, nil
}
