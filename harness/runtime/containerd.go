package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/loopback"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerdStopGrace is how long Stop waits after SIGTERM before SIGKILL.
const containerdStopGrace = 10 * time.Second

// ContainerdOptions choose the containerd binary and configuration of a
// sandbox. The zero value runs the containerd on PATH with relapse's config.
type ContainerdOptions struct {
	// Binary is an explicit containerd path. Empty: RELAPSE_CONTAINERD, then
	// containerd on PATH.
	Binary string
	// Version selects a cached build (see Resolve); exclusive with Binary.
	Version string
	// Runc is the version of a cached runc build (scripts/build-runc.sh)
	// put first on the daemon's PATH, so its shim starts containers with
	// it; empty means the runc on the harness' PATH.
	Runc string
	// ConfigFile is a user's config.toml to run with instead of relapse's
	// template (empty: RELAPSE_CONTAINERD_CONFIG, then the template;
	// TemplateConfig: the template whatever the environment says). Only the
	// paths and addresses that keep the instance private are rewritten.
	ConfigFile string
	// Config holds the knobs rendered into the template. Not applied when a
	// user's config file is in use (that file is what is being validated).
	Config ContainerdConfig
	// MemoryLimit is the guard's RSS ceiling; 0 means DefaultMemoryLimit.
	MemoryLimit uint64
	// PauseImage is the CRI sandbox image; empty means DefaultPauseImage.
	PauseImage string
	// Debug logs at debug level instead of info.
	Debug bool
	// Logf narrates what the sandbox does (nil: silent).
	Logf func(format string, args ...any)
}

// ContainerdSandbox is a private containerd with its CRI plugin, under its
// own temp root.
type ContainerdSandbox struct {
	binary     string
	version    string
	layout     containerdLayout
	metrics    string
	userConfig string
	effective  effectiveContainerd
	lifecycle
}

var _ Sandbox = (*ContainerdSandbox)(nil)

// NewContainerd prepares a containerd instance: it finds the binary, asks
// its version, makes the temp root and writes the config. It does not start
// the daemon; call Start, and always Close.
func NewContainerd(opts ContainerdOptions) (*ContainerdSandbox, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binary, err := findBinary(Containerd, opts.Binary, opts.Version, EnvContainerd)
	if err != nil {
		return nil, err
	}
	version, err := binaryVersion(context.Background(), binary)
	if err != nil {
		return nil, err
	}
	if opts.Version != "" && strings.TrimPrefix(opts.Version, "v") != version {
		return nil, fmt.Errorf("cached containerd %s reports version %s: the cache entry is mislabelled; remove it and run `bash scripts/runtimes.sh containerd-%s`", opts.Version, version, opts.Version)
	}
	userConfig := userConfigPath(opts.ConfigFile, EnvContainerdConfig)
	var userData []byte
	if userConfig != "" {
		if userData, err = loadUserContainerdConfig(userConfig); err != nil {
			return nil, err
		}
	}
	metrics, err := loopback.FreeAddress()
	if err != nil {
		return nil, fmt.Errorf("containerd metrics address: %w", err)
	}

	dirs, err := pairedDirs(binary, opts.Runc, "")
	if err != nil {
		return nil, err
	}

	root, err := newRoot(Containerd)
	if err != nil {
		return nil, err
	}
	s := &ContainerdSandbox{
		binary: binary, version: version, layout: newContainerdLayout(root),
		metrics: metrics, userConfig: userConfig,
		lifecycle: lifecycle{name: "containerd", grace: containerdStopGrace, limit: opts.MemoryLimit, logf: logf},
	}
	s.start = s.startLocked
	if s.limit == 0 {
		s.limit = DefaultMemoryLimit
	}
	if err := s.prepare(opts, userData); err != nil {
		if cerr := cleanRoot(context.Background(), root, logf); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	ns, err := startNamespace(context.Background(), root, false)
	if err != nil {
		if cerr := cleanRoot(context.Background(), root, logf); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	s.ns = ns
	s.d = &daemon{
		ns:      ns,
		name:    "containerd",
		binary:  binary,
		args:    []string{"--config", s.layout.Config},
		env:     daemonEnv(s.layout.Tmp, dirs),
		dir:     root,
		logPath: s.layout.Log,
		pidPath: s.layout.PID,
	}
	logf("containerd %s (%s) in %s, config %s", version, binary, root, s.layout.Config)
	return s, nil
}

// prepare makes the root's directories and writes the effective config.
func (s *ContainerdSandbox) prepare(opts ContainerdOptions, userData []byte) error {
	for _, d := range s.layout.dirsToMake {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("containerd root: %w", err)
		}
	}
	var data []byte
	if userData != nil {
		out, eff, notes, err := privatizeContainerdConfig(userData, s.userConfig, s.layout, s.metrics, opts.Debug)
		if err != nil {
			return err
		}
		for _, n := range notes {
			s.logf("containerd config %s: %s", s.userConfig, n)
		}
		if !opts.Config.IsZero() {
			cfg, v, err := parseContainerdConfig(out, s.userConfig)
			if err != nil {
				return fmt.Errorf("containerd config %s does not read back after relapse rewrote it: %w", s.userConfig, err)
			}
			if eff.Knobs, err = containerdKnobs(cfg, v, opts.Config); err != nil {
				return err
			}
			s.logf("containerd config %s replaces relapse's template: the variant's CRI %v and overlay %v are not applied; the file holds %v", s.userConfig, opts.Config.CRI, opts.Config.Overlay, eff.Knobs)
		}
		if opts.PauseImage != "" && opts.PauseImage != eff.SandboxImage {
			s.logf("containerd config %s: sandbox image is %q, not the requested %q", s.userConfig, eff.SandboxImage, opts.PauseImage)
		}
		data, s.effective = out, eff
	} else {
		cv := 2
		if majorVersion(s.version) >= 2 {
			cv = 3
		}
		out, err := RenderContainerdConfig(ContainerdRender{
			ConfigVersion: cv, Root: s.layout.Root, MetricsAddress: s.metrics,
			PauseImage: opts.PauseImage, Debug: opts.Debug, Config: opts.Config,
		})
		if err != nil {
			return err
		}
		cfg, v, err := parseContainerdConfig(out, "rendered template")
		if err != nil {
			return fmt.Errorf("relapse's containerd template is broken: %w", err)
		}
		if s.effective, err = readEffective(cfg, v); err != nil {
			return fmt.Errorf("relapse's containerd template is broken: %w", err)
		}
		if s.effective.Knobs, err = containerdKnobs(cfg, v, opts.Config); err != nil {
			return err
		}
		data = out
	}
	if err := os.WriteFile(s.layout.Config, data, 0o644); err != nil {
		return fmt.Errorf("containerd config: %w", err)
	}
	return nil
}

// Kind implements Sandbox.
func (s *ContainerdSandbox) Kind() Kind { return Containerd }

// Version implements Sandbox: the daemon's version, e.g. "1.6.20".
func (s *ContainerdSandbox) Version() string { return s.version }

// Binary implements Sandbox.
func (s *ContainerdSandbox) Binary() string { return s.binary }

// Address implements Sandbox: the gRPC (and CRI) socket path.
func (s *ContainerdSandbox) Address() string { return s.layout.GRPC }

// PID implements Sandbox.
func (s *ContainerdSandbox) PID() int { return s.d.pid() }

// Root implements Sandbox.
func (s *ContainerdSandbox) Root() string { return s.layout.Root }

// LogPath implements Sandbox.
func (s *ContainerdSandbox) LogPath() string { return s.layout.Log }

// ConfigPath is the config.toml the daemon runs with, for reports and for
// people reproducing a run by hand.
func (s *ContainerdSandbox) ConfigPath() string { return s.layout.Config }

// UserConfig is the user's config file the effective config came from, ""
// when relapse's template is in use.
func (s *ContainerdSandbox) UserConfig() string { return s.userConfig }

// MetricsAddress is the host:port of containerd's Prometheus endpoint
// (GET /v1/metrics), where the CRI logger's counters appear.
func (s *ContainerdSandbox) MetricsAddress() string { return s.metrics }

// DebugAddress is the debug socket; pprof answers at /debug/pprof/ on it.
func (s *ContainerdSandbox) DebugAddress() string { return s.layout.Debug }

// CRISetting is a key of the CRI runtime table (the table ContainerdConfig.CRI
// merges into; nested keys dotted, e.g. "cni.max_conf_num") as the config in
// use holds it, read back rather than taken from the variant so that a
// caller sees what really ran, a user's file included. ok is false when the
// config leaves the key to containerd's default. Integers come back as int.
func (s *ContainerdSandbox) CRISetting(key string) (value any, ok bool) {
	v, ok := lookup(s.effective.CRI, strings.Split(key, ".")...)
	if !ok {
		return nil, false
	}
	return plainValue(v), true
}

// SandboxImage is the effective CRI sandbox (pause) image reference; "" when
// a user's config leaves containerd's built-in default.
func (s *ContainerdSandbox) SandboxImage() string { return s.effective.SandboxImage }

// DialCRI returns a gRPC connection to the CRI services; the caller closes it.
func (s *ContainerdSandbox) DialCRI() (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("unix://"+s.layout.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("containerd CRI at %s: %w", s.layout.GRPC, err)
	}
	return conn, nil
}

// Start implements Sandbox: it starts containerd and waits until the CRI
// RuntimeService answers Version and reports the runtime ready in Status.
func (s *ContainerdSandbox) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(ctx)
}

func (s *ContainerdSandbox) startLocked(ctx context.Context) error {
	if s.closed {
		return errors.New("containerd sandbox: Start after Close")
	}
	if s.guard == nil {
		g, err := StartGuard("containerd", s.d.pid, s.limit, 0, s.logf)
		if err != nil {
			return err
		}
		s.guard = g
	}
	began := time.Now()
	if err := s.d.start(); err != nil {
		return err
	}
	// grpc backs off a second after a refused connect; the daemon is usually
	// up in tens of milliseconds, so retry fast.
	conn, err := grpc.NewClient("unix://"+s.layout.GRPC,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.2, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}))
	if err != nil {
		return errors.Join(fmt.Errorf("containerd CRI at %s: %w", s.layout.GRPC, err), s.d.kill())
	}
	defer conn.Close()
	rs := runtimeapi.NewRuntimeServiceClient(conn)
	err = s.d.waitReady(ctx, func(ctx context.Context) error {
		if _, err := os.Stat(s.layout.GRPC); err != nil {
			return fmt.Errorf("no socket yet: %w", err)
		}
		if _, err := rs.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
			return fmt.Errorf("CRI Version: %w", err)
		}
		st, err := rs.Status(ctx, &runtimeapi.StatusRequest{})
		if err != nil {
			return fmt.Errorf("CRI Status: %w", err)
		}
		for _, c := range st.GetStatus().GetConditions() {
			if c.GetType() == runtimeapi.RuntimeReady && !c.GetStatus() {
				return fmt.Errorf("CRI Status: RuntimeReady false: %s: %s", c.GetReason(), c.GetMessage())
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(fmt.Errorf("start containerd %s in %s: %w", s.version, s.layout.Root, err), s.d.kill())
	}
	s.logf("containerd %s ready (pid %d) in %s", s.version, s.d.pid(), time.Since(began).Round(time.Millisecond))
	return nil
}

// Close implements Sandbox: it stops containerd, kills the containers and
// shims it started, unmounts everything below the root and removes it.
func (s *ContainerdSandbox) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cleaned {
		return nil
	}
	s.closed = true
	var errs []error
	if err := s.d.stop(ctx, 2*time.Second); err != nil {
		errs = append(errs, err)
	}
	if s.guard != nil {
		s.guard.Stop()
	}
	if err := cleanRoot(ctx, s.layout.Root, s.logf); err != nil {
		errs = append(errs, err)
	} else if err := s.ns.close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close containerd sandbox %s: %w", s.layout.Root, err)
	}
	s.cleaned = true
	s.logf("containerd sandbox %s closed", s.layout.Root)
	return nil
}

// String names the instance in logs.
func (s *ContainerdSandbox) String() string {
	return "containerd " + s.version + " pid " + strconv.Itoa(s.PID()) + " in " + s.layout.Root
}

// Settings is what a report records about the configuration this instance
// runs with: where the config is, whose it is, and every key the variant's
// ContainerdConfig sets with the value read back from the config in use (see
// containerdKnobs for how keys are named). max_container_log_line_size is
// always there, containerd's default when unset, because results have
// always carried it.
func (s *ContainerdSandbox) Settings() map[string]any {
	m := make(map[string]any, len(s.effective.Knobs)+5)
	maps.Copy(m, s.effective.Knobs)
	m["config_path"] = s.layout.Config
	m["max_container_log_line_size"] = s.effective.MaxContainerLogLineSize
	m["sandbox_image"] = s.effective.SandboxImage
	m["metrics_address"] = s.metrics
	if s.userConfig != "" {
		m["user_config"] = s.userConfig
	}
	return m
}
