package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	toml "github.com/pelletier/go-toml/v2"
)

// DefaultPauseImage is the sandbox (pause) image reference relapse's
// rendered config names; the workload package loads an image under it
// because there is no registry to pull registry.k8s.io/pause from.
const DefaultPauseImage = "relapse.local/pause:latest"

// containerdDefaultLogLineSize is containerd's own max_container_log_line_size.
const containerdDefaultLogLineSize = 16384

// disabledContainerdPlugins cannot work on this kind of machine (no btrfs,
// zfs, aufs or devmapper pool); disabling them keeps startup quiet.
var disabledContainerdPlugins = []string{
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.zfs",
}

// containerdLayout is where a containerd instance keeps everything, all
// below its root.
type containerdLayout struct {
	Root       string // the instance root
	DataRoot   string // containerd's root
	State      string // containerd's state
	Tmp        string
	GRPC       string
	TTRPC      string
	Debug      string
	Opt        string
	CNIBin     string
	CNIConf    string
	RuncRoot   string // runc --root base for the "runc" runtime (namespace appended by the shim)
	NRISocket  string
	Config     string
	Log        string
	PID        string
	dirsToMake []string
}

func newContainerdLayout(root string) containerdLayout {
	l := containerdLayout{
		Root:      root,
		DataRoot:  filepath.Join(root, "root"),
		State:     filepath.Join(root, "state"),
		Tmp:       filepath.Join(root, "tmp"),
		GRPC:      filepath.Join(root, "run", "containerd.sock"),
		TTRPC:     filepath.Join(root, "run", "containerd.sock.ttrpc"),
		Debug:     filepath.Join(root, "run", "debug.sock"),
		Opt:       filepath.Join(root, "opt"),
		CNIBin:    filepath.Join(root, "cni", "bin"),
		CNIConf:   filepath.Join(root, "cni", "conf"),
		NRISocket: filepath.Join(root, "run", "nri.sock"),
		Config:    filepath.Join(root, "config.toml"),
		Log:       filepath.Join(root, "containerd.log"),
		PID:       filepath.Join(root, "containerd.pid"),
	}
	l.RuncRoot = l.runcRoot("runc")
	l.dirsToMake = []string{l.DataRoot, l.State, l.Tmp, filepath.Dir(l.GRPC), l.Opt, l.CNIBin, l.CNIConf}
	return l
}

// runcRoot is the runc state dir for a CRI runtime name. Every one matches
// the state/runc* glob cleanup looks in.
func (l containerdLayout) runcRoot(runtimeName string) string {
	if runtimeName == "runc" {
		return filepath.Join(l.State, "runc")
	}
	return filepath.Join(l.State, "runc-"+runtimeName)
}

// ContainerdRender is everything relapse's containerd config template needs.
type ContainerdRender struct {
	// ConfigVersion is 2 for containerd 1.x and 3 for containerd 2.x.
	ConfigVersion int
	// Root is the instance root; every path in the config is below it.
	Root string
	// MetricsAddress is the host:port of the Prometheus endpoint.
	MetricsAddress string
	// PauseImage is the CRI sandbox image reference.
	PauseImage string
	// Debug sets the log level to debug instead of info.
	Debug bool
	// Config is the variant's overlays, merged over the template.
	Config ContainerdConfig
}

// RenderContainerdConfig renders the config.toml relapse gives a private
// containerd: everything below Root, the CRI plugin set up for this machine
// (restricted oom_score_adj, empty CNI dirs, overlayfs, runc with its state
// below Root), then the variant's overlays merged over it (see
// applyContainerdConfig). A setting no overlay names is left out, so
// containerd's own default applies.
func RenderContainerdConfig(r ContainerdRender) ([]byte, error) {
	if r.ConfigVersion != 2 && r.ConfigVersion != 3 {
		return nil, fmt.Errorf("containerd config: version %d not supported (2 for containerd 1.x, 3 for 2.x)", r.ConfigVersion)
	}
	if !filepath.IsAbs(r.Root) {
		return nil, fmt.Errorf("containerd config: root %q is not absolute", r.Root)
	}
	if r.MetricsAddress == "" {
		return nil, errors.New("containerd config: no metrics address")
	}
	if r.PauseImage == "" {
		r.PauseImage = DefaultPauseImage
	}
	level := "info"
	if r.Debug {
		level = "debug"
	}
	data := struct {
		containerdLayout
		Metrics, Level, Pause string
		Disabled              []string
	}{newContainerdLayout(r.Root), r.MetricsAddress, level, r.PauseImage, disabledContainerdPlugins}
	tmpl := containerdV2Template
	if r.ConfigVersion == 3 {
		tmpl = containerdV3Template
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("containerd config: %w", err)
	}
	cfg, version, err := parseContainerdConfig(b.Bytes(), "template")
	if err != nil {
		return nil, fmt.Errorf("relapse's containerd template is broken: %w", err)
	}
	if err := applyContainerdConfig(cfg, version, data.containerdLayout, r.Config); err != nil {
		return nil, fmt.Errorf("containerd config: %w", err)
	}
	out, err := toml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("containerd config: encode: %w", err)
	}
	header := fmt.Sprintf("# Rendered by relapse for a private containerd instance; every path is below\n# %s. Do not edit: it is rewritten on every run.\n", r.Root)
	return append([]byte(header), out...), nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var tmplFuncs = template.FuncMap{"q": tomlString}

const containerdHeader = `root = {{q .DataRoot}}
state = {{q .State}}
temp = {{q .Tmp}}
disabled_plugins = [{{range $i, $p := .Disabled}}{{if $i}}, {{end}}{{q $p}}{{end}}]

[grpc]
  address = {{q .GRPC}}

[ttrpc]
  address = {{q .TTRPC}}

[debug]
  address = {{q .Debug}}
  level = {{q .Level}}

[metrics]
  address = {{q .Metrics}}
`

var containerdV2Template = template.Must(template.New("containerd-v2").Funcs(tmplFuncs).Parse(`version = 2
` + containerdHeader + `
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = {{q .Opt}}

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = {{q .Pause}}
    restrict_oom_score_adj = true
    disable_tcp_service = true
    netns_mounts_under_state_dir = true

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = {{q .CNIBin}}
      conf_dir = {{q .CNIConf}}

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          Root = {{q .RuncRoot}}
`))

var containerdV3Template = template.Must(template.New("containerd-v3").Funcs(tmplFuncs).Parse(`version = 3
` + containerdHeader + `
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = {{q .Opt}}

  [plugins."io.containerd.nri.v1.nri"]
    socket_path = {{q .NRISocket}}

  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"

    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = {{q .Pause}}

  [plugins."io.containerd.cri.v1.runtime"]
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true

    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dir = {{q .CNIBin}}
      conf_dir = {{q .CNIConf}}

    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          Root = {{q .RuncRoot}}

  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
`))

// criTables names, per config version, the plugin tables relapse reads and
// rewrites.
type criTables struct {
	runtime []string // table holding max_container_log_line_size and containerd.runtimes
	sandbox []string // key path of the sandbox image
	opt     []string
	nri     []string
}

func criTablesFor(version int64) (criTables, error) {
	switch version {
	case 1:
		return criTables{
			runtime: []string{"plugins", "cri"},
			sandbox: []string{"plugins", "cri", "sandbox_image"},
			opt:     []string{"plugins", "opt"},
		}, nil
	case 2:
		return criTables{
			runtime: []string{"plugins", "io.containerd.grpc.v1.cri"},
			sandbox: []string{"plugins", "io.containerd.grpc.v1.cri", "sandbox_image"},
			opt:     []string{"plugins", "io.containerd.internal.v1.opt"},
			nri:     []string{"plugins", "io.containerd.nri.v1.nri"},
		}, nil
	case 3:
		return criTables{
			runtime: []string{"plugins", "io.containerd.cri.v1.runtime"},
			sandbox: []string{"plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"},
			opt:     []string{"plugins", "io.containerd.internal.v1.opt"},
			nri:     []string{"plugins", "io.containerd.nri.v1.nri"},
		}, nil
	}
	return criTables{}, fmt.Errorf("config version %d is unknown (containerd knows 1, 2 and 3)", version)
}

// effectiveContainerd is what relapse reads back from the config in use,
// for reports.
type effectiveContainerd struct {
	// MaxContainerLogLineSize is reported whatever the variant sets: results
	// have always carried it (containerd's default when unset).
	MaxContainerLogLineSize int
	SandboxImage            string
	// Knobs are the keys the variant's ContainerdConfig sets, with the
	// values the config in use holds (see containerdKnobs).
	Knobs map[string]any
	// CRI is the CRI runtime table of the config in use.
	CRI map[string]any
}

// parseContainerdConfig parses TOML and returns the tree and its version
// (1 when absent, as containerd 1.x assumes).
func parseContainerdConfig(data []byte, name string) (map[string]any, int64, error) {
	cfg := map[string]any{}
	if err := toml.Unmarshal(data, &cfg); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, 0, fmt.Errorf("containerd config %s is not valid TOML: line %d column %d: %v\n%s", name, row, col, err, de.String())
		}
		return nil, 0, fmt.Errorf("containerd config %s is not valid TOML: %w", name, err)
	}
	version := int64(1)
	if v, ok := cfg["version"]; ok {
		n, ok := v.(int64)
		if !ok {
			return nil, 0, fmt.Errorf("containerd config %s: version = %v is not an integer", name, v)
		}
		version = n
	}
	return cfg, version, nil
}

// readEffective reads the settings relapse reports from a parsed config.
func readEffective(cfg map[string]any, version int64) (effectiveContainerd, error) {
	t, err := criTablesFor(version)
	if err != nil {
		return effectiveContainerd{}, err
	}
	eff := effectiveContainerd{MaxContainerLogLineSize: containerdDefaultLogLineSize}
	if v, ok := lookup(cfg, append(t.runtime, "max_container_log_line_size")...); ok {
		n, ok := v.(int64)
		if !ok {
			return eff, fmt.Errorf("max_container_log_line_size = %v is not an integer", v)
		}
		eff.MaxContainerLogLineSize = int(n)
	}
	if v, ok := lookup(cfg, t.sandbox...); ok {
		s, _ := v.(string)
		eff.SandboxImage = s
	}
	if v, ok := lookup(cfg, t.runtime...); ok {
		eff.CRI, _ = v.(map[string]any)
	}
	return eff, nil
}

// privatizeContainerdConfig takes a user's config.toml and rewrites only what
// keeps the instance private: root, state, temp, the grpc/ttrpc/debug/metrics
// addresses, runc's Root for every runc runtime, the opt plugin's path, the
// NRI socket and snapshotter root_paths. Everything else is kept as written,
// so running a scenario with it validates exactly that config. notes says
// what was overridden, for the log.
func privatizeContainerdConfig(data []byte, name string, l containerdLayout, metrics string, debug bool) (out []byte, eff effectiveContainerd, notes []string, err error) {
	cfg, version, err := parseContainerdConfig(data, name)
	if err != nil {
		return nil, eff, nil, err
	}
	t, err := criTablesFor(version)
	if err != nil {
		return nil, eff, nil, fmt.Errorf("containerd config %s: %w", name, err)
	}
	if imp, ok := cfg["imports"]; ok {
		if list, _ := imp.([]any); len(list) > 0 {
			return nil, eff, nil, fmt.Errorf("containerd config %s imports %v: relapse cannot keep imported settings private; inline them into %s", name, list, name)
		}
	}
	set := func(value any, path ...string) {
		parent := table(cfg, path[:len(path)-1]...)
		key := path[len(path)-1]
		if old, ok := parent[key]; ok && old != value {
			notes = append(notes, fmt.Sprintf("%s: %v -> %v", strings.Join(path, "."), old, value))
		}
		parent[key] = value
	}
	set(l.DataRoot, "root")
	set(l.State, "state")
	set(l.Tmp, "temp")
	set(l.GRPC, "grpc", "address")
	if v, ok := lookup(cfg, "grpc", "tcp_address"); ok && v != "" {
		set("", "grpc", "tcp_address")
	}
	set(l.TTRPC, "ttrpc", "address")
	set(l.Debug, "debug", "address")
	if debug {
		set("debug", "debug", "level")
	}
	set(metrics, "metrics", "address")
	set(l.Opt, append(t.opt, "path")...)
	if t.nri != nil {
		set(l.NRISocket, append(t.nri, "socket_path")...)
	}
	plugins := table(cfg, "plugins")
	ids := make([]string, 0, len(plugins))
	for id := range plugins {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if p, ok := plugins[id].(map[string]any); ok {
			if old, ok := p["root_path"]; ok {
				delete(p, "root_path")
				notes = append(notes, fmt.Sprintf("plugins.%q.root_path: %v removed (defaults below root)", id, old))
			}
		}
	}

	runtimes := table(cfg, append(t.runtime, "containerd", "runtimes")...)
	defaultName := "runc"
	if v, ok := lookup(cfg, append(t.runtime, "containerd", "default_runtime_name")...); ok {
		if s, _ := v.(string); s != "" {
			defaultName = s
		}
	}
	if _, ok := runtimes[defaultName]; !ok && defaultName == "runc" {
		runtimes["runc"] = map[string]any{"runtime_type": "io.containerd.runc.v2"}
	}
	names := make([]string, 0, len(runtimes))
	for n := range runtimes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rt, ok := runtimes[n].(map[string]any)
		if !ok {
			continue
		}
		typ, _ := rt["runtime_type"].(string)
		if typ != "" && !strings.Contains(typ, "runc") { // "" is containerd's default: runc v2
			notes = append(notes, fmt.Sprintf("runtime %q (%s) keeps its own state dir: relapse only knows where runc keeps state", n, typ))
			continue
		}
		set(l.runcRoot(n), append(t.runtime, "containerd", "runtimes", n, "options", "Root")...)
	}
	if v, ok := lookup(cfg, t.sandbox...); !ok || v == "" {
		// containerd's built-in default (registry.k8s.io/pause:3.x) would be
		// pulled, and nothing can be pulled here; relapse loads its own.
		set(DefaultPauseImage, t.sandbox...)
		notes = append(notes, fmt.Sprintf("%s: unset -> %s (relapse's pause image; containerd's default would be pulled from a registry)", strings.Join(t.sandbox, "."), DefaultPauseImage))
	}
	if v, ok := lookup(cfg, append(t.runtime, "restrict_oom_score_adj")...); !ok || v != true {
		notes = append(notes, "restrict_oom_score_adj is not true: without CAP_SYS_RESOURCE containers fail to start")
	}

	eff, err = readEffective(cfg, version)
	if err != nil {
		return nil, eff, nil, fmt.Errorf("containerd config %s: %w", name, err)
	}
	out, err = toml.Marshal(cfg)
	if err != nil {
		return nil, eff, nil, fmt.Errorf("containerd config %s: re-encode: %w", name, err)
	}
	header := fmt.Sprintf("# %s made private by relapse (root, state, sockets and runc state below %s).\n", name, l.Root)
	return append([]byte(header), out...), eff, notes, nil
}

// loadUserContainerdConfig reads a user's config file with errors that say
// what to do.
func loadUserContainerdConfig(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("containerd config %s does not exist: fix the path (ContainerdOptions.ConfigFile or %s) or unset it to use relapse's template", path, EnvContainerdConfig)
		}
		return nil, fmt.Errorf("containerd config %s: %w", path, err)
	}
	return data, nil
}

// table returns the nested table at path, creating missing levels.
func table(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

// lookup returns the value at path, if every level exists.
func lookup(m map[string]any, path ...string) (any, bool) {
	var cur any = m
	for _, k := range path {
		t, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = t[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}
