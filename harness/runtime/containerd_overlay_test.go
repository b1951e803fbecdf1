package runtime

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// renderParsed renders relapse's template with c and parses the result.
func renderParsed(t *testing.T, version int, c ContainerdConfig) map[string]any {
	t.Helper()
	out, err := RenderContainerdConfig(ContainerdRender{ConfigVersion: version, Root: testRoot, MetricsAddress: "127.0.0.1:1234", Config: c})
	if err != nil {
		t.Fatal(err)
	}
	cfg, v, err := parseContainerdConfig(out, "rendered")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v != int64(version) {
		t.Fatalf("version = %d, want %d", v, version)
	}
	return cfg
}

func TestContainerdCRIOverlayLandsInRuntimeTable(t *testing.T) {
	for version, table := range map[int]string{2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			c := ContainerdConfig{
				CRI: map[string]any{
					"drain_exec_sync_io_timeout":  "2s",
					"max_container_log_line_size": -1,
					"cni":                         map[string]any{"max_conf_num": 2},
				},
				Overlay: map[string]any{
					"debug":   map[string]any{"level": "warn"},
					"plugins": map[string]any{"io.containerd.internal.v1.tracing": map[string]any{"sampling_ratio": 0.5}},
				},
			}
			cfg := renderParsed(t, version, c)
			cri, ok := lookup(cfg, "plugins", table)
			if !ok {
				t.Fatalf("no plugins.%q table", table)
			}
			for key, want := range map[string]any{
				"drain_exec_sync_io_timeout":  "2s",
				"max_container_log_line_size": int64(-1),
				"cni.max_conf_num":            int64(2),
				// The template's own settings survive the merge.
				"restrict_oom_score_adj": true,
				"cni.conf_dir":           filepath.Join(testRoot, "cni", "conf"),
			} {
				if got, _ := lookup(cri.(map[string]any), strings.Split(key, ".")...); got != want {
					t.Errorf("plugins.%q.%s = %v (%T), want %v", table, key, got, got, want)
				}
			}
			if version == 3 {
				if _, ok := lookup(cfg, "plugins", "io.containerd.grpc.v1.cri", "drain_exec_sync_io_timeout"); ok {
					t.Error("version 3: the CRI knob landed in the version 2 table too")
				}
			}
			for path, want := range map[string]any{"debug.level": "warn", "debug.address": filepath.Join(testRoot, "run", "debug.sock")} {
				if got, _ := lookup(cfg, strings.Split(path, ".")...); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if got, _ := lookup(cfg, "plugins", "io.containerd.internal.v1.tracing", "sampling_ratio"); got != 0.5 {
				t.Errorf("tracing sampling_ratio = %v, want 0.5", got)
			}

			knobs, err := containerdKnobs(cfg, int64(version), c)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"drain_exec_sync_io_timeout":  "2s",
				"max_container_log_line_size": -1,
				"cni.max_conf_num":            2,
				"debug.level":                 "warn",
				`plugins."io.containerd.internal.v1.tracing".sampling_ratio`: 0.5,
			}
			if !reflect.DeepEqual(knobs, want) {
				t.Errorf("knobs read back =\n%v\nwant\n%v", knobs, want)
			}
			if eff, _ := readEffective(cfg, int64(version)); eff.MaxContainerLogLineSize != -1 {
				t.Errorf("effective max_container_log_line_size = %d, want -1", eff.MaxContainerLogLineSize)
			}
		})
	}
}

func TestContainerdOverlayAddsRuncRuntimeBelowRoot(t *testing.T) {
	runtimes := map[string]any{"crun": map[string]any{"runtime_type": "io.containerd.runc.v2", "options": map[string]any{"BinaryName": "crun"}}}
	c := ContainerdConfig{CRI: map[string]any{"containerd": map[string]any{"runtimes": runtimes}}}
	for _, version := range []int{2, 3} {
		cfg := renderParsed(t, version, c)
		tables, _ := criTablesFor(int64(version))
		base := append(tables.runtime, "containerd", "runtimes")
		for name, want := range map[string]string{"runc": filepath.Join(testRoot, "state", "runc"), "crun": filepath.Join(testRoot, "state", "runc-crun")} {
			if got, _ := lookup(cfg, append(base, name, "options", "Root")...); got != want {
				t.Errorf("v%d: runtime %s Root = %v, want %s", version, name, got, want)
			}
		}
		if got, _ := lookup(cfg, append(base, "crun", "options", "BinaryName")...); got != "crun" {
			t.Errorf("v%d: crun BinaryName = %v", version, got)
		}
	}
	// The caller's maps are not written to.
	if _, ok := runtimes["crun"].(map[string]any)["options"].(map[string]any)["Root"]; ok {
		t.Error("rendering wrote Root into the variant's own map")
	}
}

func TestContainerdOverlayRefusesPrivateKeys(t *testing.T) {
	for name, tc := range map[string]struct {
		version int
		c       ContainerdConfig
		want    string // the key the error must name
	}{
		"root":              {2, ContainerdConfig{Overlay: map[string]any{"root": "/var/lib/containerd"}}, "root"},
		"state":             {3, ContainerdConfig{Overlay: map[string]any{"state": "/run/containerd"}}, "state"},
		"grpc address":      {2, ContainerdConfig{Overlay: map[string]any{"grpc": map[string]any{"address": "/run/containerd/containerd.sock"}}}, "grpc.address"},
		"grpc table":        {2, ContainerdConfig{Overlay: map[string]any{"grpc": "none"}}, "grpc"},
		"ttrpc address":     {3, ContainerdConfig{Overlay: map[string]any{"ttrpc": map[string]any{"address": "/x"}}}, "ttrpc.address"},
		"debug address":     {2, ContainerdConfig{Overlay: map[string]any{"debug": map[string]any{"address": "/x"}}}, "debug.address"},
		"runc Root via CRI": {2, ContainerdConfig{CRI: map[string]any{"containerd": map[string]any{"runtimes": map[string]any{"runc": map[string]any{"options": map[string]any{"Root": "/run/runc"}}}}}}, "containerd.runtimes.runc.options.Root"},
		"runc Root via overlay": {3, ContainerdConfig{Overlay: map[string]any{"plugins": map[string]any{"io.containerd.cri.v1.runtime": map[string]any{
			"containerd": map[string]any{"runtimes": map[string]any{"runc": map[string]any{"options": map[string]any{"Root": "/run/runc"}}}}}}}}, `plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options.Root`},
		"cni conf dir":  {3, ContainerdConfig{CRI: map[string]any{"cni": map[string]any{"conf_dir": "/etc/cni/net.d"}}}, "cni.conf_dir"},
		"cni bin dir":   {2, ContainerdConfig{CRI: map[string]any{"cni": map[string]any{"bin_dir": "/opt/cni/bin"}}}, "cni.bin_dir"},
		"opt path":      {2, ContainerdConfig{Overlay: map[string]any{"plugins": map[string]any{"io.containerd.internal.v1.opt": map[string]any{"path": "/opt/containerd"}}}}, `plugins."io.containerd.internal.v1.opt".path`},
		"nri socket":    {3, ContainerdConfig{Overlay: map[string]any{"plugins": map[string]any{"io.containerd.nri.v1.nri": map[string]any{"socket_path": "/var/run/nri/nri.sock"}}}}, `plugins."io.containerd.nri.v1.nri".socket_path`},
		"snapshot root": {2, ContainerdConfig{Overlay: map[string]any{"plugins": map[string]any{"io.containerd.snapshotter.v1.overlayfs": map[string]any{"root_path": "/var/lib/o"}}}}, `plugins."io.containerd.snapshotter.v1.overlayfs".root_path`},
		"version":       {2, ContainerdConfig{Overlay: map[string]any{"version": 3}}, "version"},
		"nil value":     {2, ContainerdConfig{CRI: map[string]any{"drain_exec_sync_io_timeout": nil}}, "drain_exec_sync_io_timeout"},
		"other runtime": {2, ContainerdConfig{CRI: map[string]any{"containerd": map[string]any{"runtimes": map[string]any{"runsc": map[string]any{"runtime_type": "io.containerd.runsc.v1"}}}}}, `"runsc"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := RenderContainerdConfig(ContainerdRender{ConfigVersion: tc.version, Root: testRoot, MetricsAddress: "127.0.0.1:1", Config: tc.c})
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}
