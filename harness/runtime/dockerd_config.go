package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
)

// dockerdLayout is where a dockerd instance keeps everything, all below its
// root except, optionally, its API socket (DockerdOptions.Host).
type dockerdLayout struct {
	Root     string
	DataRoot string
	ExecRoot string
	Tmp      string
	Config   string
	Log      string
	PID      string
	Host     string // the API socket path
}

func newDockerdLayout(root, host string) dockerdLayout {
	l := dockerdLayout{
		Root:     root,
		DataRoot: filepath.Join(root, "data"),
		ExecRoot: filepath.Join(root, "exec"),
		Tmp:      filepath.Join(root, "tmp"),
		Config:   filepath.Join(root, "daemon.json"),
		Log:      filepath.Join(root, "dockerd.log"),
		PID:      filepath.Join(root, "dockerd.pid"),
		Host:     host,
	}
	if l.Host == "" {
		l.Host = filepath.Join(root, "docker.sock")
	}
	return l
}

// ContainerdAddress is the socket of the containerd dockerd starts and
// manages (libcontainerd's supervisor puts it in <exec-root>/containerd).
func (l dockerdLayout) ContainerdAddress() string {
	return filepath.Join(l.ExecRoot, "containerd", "containerd.sock")
}

// ContainerdPIDFile is where dockerd's supervisor records its containerd's pid.
func (l dockerdLayout) ContainerdPIDFile() string {
	return filepath.Join(l.ExecRoot, "containerd", "containerd.pid")
}

// DaemonJSON is the input of RenderDaemonJSON.
type DaemonJSON struct {
	// Root is the instance root; data-root, exec-root and pidfile go below it.
	Root string
	// Host is the API socket path; empty means <Root>/docker.sock.
	Host string
	// Overlay is the variant's DockerdConfig.Overlay.
	Overlay map[string]any
	// User is a user's daemon.json (already parsed), applied over Overlay.
	User map[string]any
	// KnowsIP6tables says whether this dockerd has the ip6tables option
	// (dockerd refuses keys it does not know).
	KnowsIP6tables bool
	// HasTrustKey says whether this dockerd makes a libtrust key (before
	// 23.0); it goes below Root instead of /etc/docker/key.json.
	HasTrustKey bool
}

// RenderDaemonJSON builds the daemon.json relapse runs dockerd with:
// Overlay, then the user's file over it, then the keys that keep the instance
// private and off the host's network forced over both: its own data-root,
// exec-root, pidfile, socket and trust key, no bridge, no iptables rules, and debug on
// (pprof at /debug/pprof/ on the socket). "containerd" is removed so dockerd
// starts and manages its own. notes lists every value relapse overrode.
func RenderDaemonJSON(in DaemonJSON) (cfg map[string]any, notes []string, err error) {
	if !filepath.IsAbs(in.Root) {
		return nil, nil, fmt.Errorf("daemon.json: root %q is not absolute", in.Root)
	}
	l := newDockerdLayout(in.Root, in.Host)
	cfg = map[string]any{}
	maps.Copy(cfg, in.Overlay)
	for k, v := range in.User {
		if old, ok := cfg[k]; ok && !reflect.DeepEqual(old, v) {
			notes = append(notes, fmt.Sprintf("%s: user config's %v replaces the variant's %v", k, v, old))
		}
		cfg[k] = v
	}
	forced := map[string]any{
		"data-root":  l.DataRoot,
		"exec-root":  l.ExecRoot,
		"pidfile":    l.PID,
		"hosts":      []any{"unix://" + l.Host},
		"bridge":     "none",
		"iptables":   false,
		"ip-masq":    false,
		"ip-forward": false, // dockerd would otherwise write the host's net.ipv4.ip_forward
		"debug":      true,
	}
	if in.KnowsIP6tables {
		forced["ip6tables"] = false
	}
	if in.HasTrustKey {
		forced["deprecated-key-path"] = filepath.Join(in.Root, "key.json")
	}
	for _, k := range slices.Sorted(maps.Keys(forced)) {
		if old, ok := cfg[k]; ok && !reflect.DeepEqual(old, forced[k]) {
			notes = append(notes, fmt.Sprintf("%s: %v -> %v (keeps the instance private)", k, old, forced[k]))
		}
		cfg[k] = forced[k]
	}
	for _, k := range []string{"containerd", "graph"} { // graph: the old name of data-root
		if old, ok := cfg[k]; ok {
			notes = append(notes, fmt.Sprintf("%s: %v removed (keeps the instance private)", k, old))
			delete(cfg, k)
		}
	}
	if !in.KnowsIP6tables {
		if old, ok := cfg["ip6tables"]; ok {
			return nil, notes, fmt.Errorf("daemon.json: ip6tables = %v, but this dockerd has no ip6tables option; remove the key", old)
		}
	}
	return cfg, notes, nil
}

// loadUserDaemonJSON reads and parses a user's daemon.json with errors that
// name the file, the position and what to do.
func loadUserDaemonJSON(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("dockerd config %s does not exist: fix the path (DockerdOptions.ConfigFile or %s) or unset it", path, EnvDockerdConfig)
		}
		return nil, fmt.Errorf("dockerd config %s: %w", path, err)
	}
	return parseDaemonJSON(data, path)
}

func parseDaemonJSON(data []byte, name string) (map[string]any, error) {
	cfg := map[string]any{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
			return nil, fmt.Errorf("dockerd config %s is not valid JSON: line %d: %w", name, line, err)
		}
		return nil, fmt.Errorf("dockerd config %s is not a JSON object: %w", name, err)
	}
	return cfg, nil
}
