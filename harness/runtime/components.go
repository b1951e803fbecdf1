package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Component is a binary a daemon runs besides itself (the containerd a
// dockerd starts, the shim, runc), as the daemon's PATH finds it.
type Component struct {
	// Path is the binary the daemon finds first on its PATH.
	Path string `json:"path"`
	// Version is what `<binary> --version` prints, on one line.
	Version string `json:"version,omitempty"`
	// Source is the first line of the cache entry's BUILDINFO or SOURCE
	// (how the build was obtained), when the binary is a cached build.
	Source string `json:"source,omitempty"`
}

// components finds each name on the PATH of env, in the order a daemon
// would, and asks it its version: the record of what a run really ran with.
func components(ctx context.Context, env []string, names ...string) map[string]Component {
	var path string
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = p
		}
	}
	out := map[string]Component{}
	for _, name := range names {
		for _, dir := range filepath.SplitList(path) {
			p := filepath.Join(dir, name)
			if checkExecutable(p) != nil {
				continue
			}
			flag := "--version"
			if strings.HasPrefix(name, "containerd-shim") {
				flag = "-v" // a shim's flag package knows no --version
			}
			out[name] = Component{Path: p, Version: versionLine(ctx, p, flag), Source: buildSource(p)}
			break
		}
	}
	return out
}

// versionLine runs binary with args and returns what it prints on one
// line (a shim prints its name, then the version on the next lines).
func versionLine(ctx context.Context, binary string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, _ := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	line := strings.Join(strings.Fields(string(b)), " ")
	if len(line) > 160 {
		line = line[:160]
	}
	return line
}

// buildSource is the first "source:" line of the BUILDINFO, or the SOURCE
// file, of the cache entry holding binary (a Debian package unpacks its
// binaries a few directories below the entry), or "".
func buildSource(binary string) string {
	if !strings.Contains(binary, string(filepath.Separator)+"runtimes"+string(filepath.Separator)) {
		return ""
	}
	for dir := filepath.Dir(binary); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		for _, f := range []string{"BUILDINFO", "SOURCE"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				data := string(b)
				for _, l := range strings.Split(data, "\n") {
					if s, ok := strings.CutPrefix(l, "source: "); ok {
						return s
					}
				}
				line, _, _ := strings.Cut(strings.TrimSpace(data), "\n")
				return line
			}
		}
		if filepath.Base(filepath.Dir(dir)) == "runtimes" {
			break
		}
	}
	return ""
}

// Components are the containerd, shim and runc this dockerd runs with.
func (s *DockerdSandbox) Components(ctx context.Context) map[string]Component {
	return components(ctx, s.d.env, "containerd", "containerd-shim-runc-v2", "runc")
}

// Components are the shim and runc this containerd runs containers with.
func (s *ContainerdSandbox) Components(ctx context.Context) map[string]Component {
	return components(ctx, s.d.env, "containerd-shim-runc-v2", "runc")
}
