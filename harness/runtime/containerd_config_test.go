package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

const testRoot = "/tmp/relapse/containerd-0000abcd"

// criTable returns the table holding the CRI runtime settings for a config version.
func criTable(t *testing.T, cfg map[string]any, version int64) map[string]any {
	t.Helper()
	tables, err := criTablesFor(version)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := lookup(cfg, tables.runtime...)
	if !ok {
		t.Fatalf("no %s table", strings.Join(tables.runtime, "."))
	}
	return v.(map[string]any)
}

// pathsOutside lists every absolute path in a config tree that is not below root.
func pathsOutside(v any, key, root string) []string {
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, pathsOutside(e, key+"."+k, root)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, pathsOutside(e, key, root)...)
		}
		return out
	case string:
		if strings.HasPrefix(x, "/") && !strings.HasPrefix(x, root+"/") {
			return []string{key + " = " + x}
		}
	}
	return nil
}

// logLineSize is the ContainerdConfig setting max_container_log_line_size to
// size, 0 meaning containerd's default (the key left out).
func logLineSize(size int) ContainerdConfig {
	if size == 0 {
		return ContainerdConfig{}
	}
	return ContainerdConfig{CRI: map[string]any{"max_container_log_line_size": size}}
}

func TestRenderContainerdConfig(t *testing.T) {
	for _, version := range []int{2, 3} {
		for _, size := range []int{0, -1, 16384, 1 << 20} {
			t.Run(fmt.Sprintf("v%d/size=%d", version, size), func(t *testing.T) {
				out, err := RenderContainerdConfig(ContainerdRender{
					ConfigVersion: version, Root: testRoot, MetricsAddress: "127.0.0.1:1234",
					Config: logLineSize(size),
				})
				if err != nil {
					t.Fatal(err)
				}
				cfg := map[string]any{}
				if err := toml.Unmarshal(out, &cfg); err != nil {
					t.Fatalf("rendered config is not valid TOML: %v\n%s", err, out)
				}
				if got := cfg["version"]; got != int64(version) {
					t.Errorf("version = %v, want %d", got, version)
				}
				if bad := pathsOutside(cfg, "", testRoot); len(bad) > 0 {
					t.Errorf("paths outside the root:\n%s", strings.Join(bad, "\n"))
				}
				cri := criTable(t, cfg, int64(version))
				v, present := cri["max_container_log_line_size"]
				switch {
				case size == 0 && present:
					t.Errorf("max_container_log_line_size = %v rendered for 0 (want containerd's default: absent)", v)
				case size != 0 && v != int64(size):
					t.Errorf("max_container_log_line_size = %v, want %d", v, size)
				}
				if cri["restrict_oom_score_adj"] != true {
					t.Errorf("restrict_oom_score_adj = %v, want true", cri["restrict_oom_score_adj"])
				}
				root, _ := lookup(cri, "containerd", "runtimes", "runc", "options", "Root")
				if root != filepath.Join(testRoot, "state", "runc") {
					t.Errorf("runc Root = %v, want below the state dir", root)
				}
				eff, err := readEffective(cfg, int64(version))
				if err != nil {
					t.Fatal(err)
				}
				want := size
				if want == 0 {
					want = containerdDefaultLogLineSize
				}
				if eff.MaxContainerLogLineSize != want || eff.SandboxImage != DefaultPauseImage {
					t.Errorf("effective = %+v, want size %d and sandbox image %s", eff, want, DefaultPauseImage)
				}
				disabled, _ := cfg["disabled_plugins"].([]any)
				for _, p := range disabledContainerdPlugins {
					if !slices.Contains(disabled, any(p)) {
						t.Errorf("plugin %s not disabled", p)
					}
				}
				if metrics, _ := lookup(cfg, "metrics", "address"); metrics != "127.0.0.1:1234" {
					t.Errorf("metrics address = %v", metrics)
				}
			})
		}
	}
}

func TestRenderContainerdConfigRejects(t *testing.T) {
	for name, r := range map[string]ContainerdRender{
		"version 1":     {ConfigVersion: 1, Root: testRoot, MetricsAddress: "127.0.0.1:1"},
		"relative root": {ConfigVersion: 2, Root: "tmp/x", MetricsAddress: "127.0.0.1:1"},
		"no metrics":    {ConfigVersion: 2, Root: testRoot},
	} {
		if _, err := RenderContainerdConfig(r); err == nil {
			t.Errorf("%s: rendered, want an error", name)
		}
	}
	// A pause image with characters TOML must escape stays one valid string.
	out, err := RenderContainerdConfig(ContainerdRender{ConfigVersion: 2, Root: testRoot, MetricsAddress: "127.0.0.1:1", PauseImage: `we"ird\image`})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := toml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if eff, _ := readEffective(cfg, 2); eff.SandboxImage != `we"ird\image` {
		t.Errorf("sandbox image read back as %q", eff.SandboxImage)
	}
}

const userConfigV2 = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
imports = []

[grpc]
  address = "/run/containerd/containerd.sock"
  tcp_address = "0.0.0.0:9999"

[plugins."io.containerd.grpc.v1.cri"]
  max_container_log_line_size = -1
  restrict_oom_score_adj = true
  stream_idle_timeout = "1h"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = false
    Root = "/run/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]
    runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.snapshotter.v1.overlayfs"]
  root_path = "/var/lib/overlay"
`

func TestPrivatizeUserContainerdConfig(t *testing.T) {
	l := newContainerdLayout(testRoot)
	out, eff, notes, err := privatizeContainerdConfig([]byte(userConfigV2), "user.toml", l, "127.0.0.1:4321", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notes:\n%s", strings.Join(notes, "\n"))
	cfg := map[string]any{}
	if err := toml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("privatized config is not valid TOML: %v\n%s", err, out)
	}
	for path, want := range map[string]any{
		"root":             l.DataRoot,
		"state":            l.State,
		"grpc.address":     l.GRPC,
		"ttrpc.address":    l.TTRPC,
		"debug.address":    l.Debug,
		"grpc.tcp_address": "",
		"metrics.address":  "127.0.0.1:4321",
		`plugins.io.containerd.grpc.v1.cri.containerd.runtimes.runc.options.Root`: l.runcRoot("runc"),
		`plugins.io.containerd.grpc.v1.cri.containerd.runtimes.crun.options.Root`: l.runcRoot("crun"),
		// Kept as the user wrote them:
		`plugins.io.containerd.grpc.v1.cri.stream_idle_timeout`:                            "1h",
		`plugins.io.containerd.grpc.v1.cri.cni.conf_dir`:                                   "/etc/cni/net.d",
		`plugins.io.containerd.grpc.v1.cri.containerd.runtimes.runc.options.SystemdCgroup`: false,
		`plugins.io.containerd.grpc.v1.cri.max_container_log_line_size`:                    int64(-1),
	} {
		got, ok := lookupDotted(cfg, path)
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
		}
	}
	if _, ok := lookupDotted(cfg, "plugins.io.containerd.snapshotter.v1.overlayfs.root_path"); ok {
		t.Error("overlayfs root_path kept: it would put snapshots outside the root")
	}
	if eff.MaxContainerLogLineSize != -1 {
		t.Errorf("effective max_container_log_line_size = %d, want -1", eff.MaxContainerLogLineSize)
	}
	// No sandbox_image: containerd's default would be pulled; relapse's
	// pause stands in, and the notes say so.
	if got, _ := lookupDotted(cfg, "plugins.io.containerd.grpc.v1.cri.sandbox_image"); got != DefaultPauseImage || eff.SandboxImage != DefaultPauseImage {
		t.Errorf("sandbox_image = %v (effective %q), want %s", got, eff.SandboxImage, DefaultPauseImage)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "sandbox_image: unset -> "+DefaultPauseImage) {
		t.Errorf("notes do not say the sandbox image was set: %q", notes)
	}
	// Only the CNI conf dir (read-only) may stay outside the root.
	for _, p := range pathsOutside(cfg, "", testRoot) {
		if !strings.Contains(p, "cni.conf_dir") {
			t.Errorf("path outside the root: %s", p)
		}
	}
}

// lookupDotted looks up a path whose plugin ids contain dots, by trying the
// known plugin ids as single keys.
func lookupDotted(cfg map[string]any, path string) (any, bool) {
	for _, id := range []string{"io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.overlayfs", "io.containerd.cri.v1.runtime"} {
		if rest, ok := strings.CutPrefix(path, "plugins."+id); ok {
			keys := []string{"plugins", id}
			if rest != "" {
				keys = append(keys, strings.Split(strings.TrimPrefix(rest, "."), ".")...)
			}
			return lookup(cfg, keys...)
		}
	}
	return lookup(cfg, strings.Split(path, ".")...)
}

func TestPrivatizeUserContainerdConfigV3Default(t *testing.T) {
	// A version 3 config that does not set the log line size: the effective
	// value is containerd's default, and runc's Root is still made private.
	in := "version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = 'my/pause:1'\n"
	out, eff, _, err := privatizeContainerdConfig([]byte(in), "v3.toml", newContainerdLayout(testRoot), "127.0.0.1:1", true)
	if err != nil {
		t.Fatal(err)
	}
	if eff.MaxContainerLogLineSize != containerdDefaultLogLineSize || eff.SandboxImage != "my/pause:1" {
		t.Errorf("effective = %+v", eff)
	}
	cfg := map[string]any{}
	if err := toml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	root, _ := lookup(cfg, "plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc", "options", "Root")
	typ, _ := lookup(cfg, "plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc", "runtime_type")
	if root != filepath.Join(testRoot, "state", "runc") || typ != "io.containerd.runc.v2" {
		t.Errorf("runc runtime = Root %v type %v", root, typ)
	}
	if lvl, _ := lookup(cfg, "debug", "level"); lvl != "debug" {
		t.Errorf("debug.level = %v, want debug", lvl)
	}
	if nri, _ := lookup(cfg, "plugins", "io.containerd.nri.v1.nri", "socket_path"); nri != filepath.Join(testRoot, "run", "nri.sock") {
		t.Errorf("NRI socket = %v, want below the root", nri)
	}
}

func TestUserContainerdConfigErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.toml")
	if err := os.WriteFile(corrupt, []byte("version = 2\n[grpc\naddress = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := newContainerdLayout(testRoot)
	data, err := loadUserContainerdConfig(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = privatizeContainerdConfig(data, corrupt, l, "127.0.0.1:1", false)
	if err == nil || !strings.Contains(err.Error(), corrupt) || !strings.Contains(err.Error(), "not valid TOML") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("corrupt config: err = %v, want it to name the file, TOML and line 2", err)
	}

	missing := filepath.Join(dir, "missing.toml")
	if _, err := loadUserContainerdConfig(missing); err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing config: err = %v", err)
	}
	t.Setenv(EnvContainerdConfig, missing)
	if _, err := NewContainerd(ContainerdOptions{}); err == nil || !strings.Contains(err.Error(), EnvContainerdConfig) {
		t.Errorf("NewContainerd with a missing %s: err = %v, want it named", EnvContainerdConfig, err)
	}

	for name, in := range map[string]string{
		"imports":         "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n",
		"unknown version": "version = 9\n",
		"string version":  "version = \"2\"\n",
	} {
		if _, _, _, err := privatizeContainerdConfig([]byte(in), name+".toml", l, "127.0.0.1:1", false); err == nil || !strings.Contains(err.Error(), name+".toml") {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}
