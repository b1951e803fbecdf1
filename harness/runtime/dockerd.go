package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// dockerdStopGrace is how long Stop waits after SIGTERM before SIGKILL:
// dockerd's own shutdown-timeout (15s) plus a margin.
const dockerdStopGrace = 20 * time.Second

// maxSocketPath is the longest unix socket path the kernel accepts.
const maxSocketPath = 107

// DockerdOptions choose the dockerd binary and configuration of a sandbox.
// The zero value runs the dockerd on PATH with relapse's daemon.json.
type DockerdOptions struct {
	// Binary is an explicit dockerd path. Empty: RELAPSE_DOCKERD, then
	// dockerd on PATH.
	Binary string
	// Version selects a cached build (see Resolve); exclusive with Binary.
	Version string
	// Containerd and Runc are versions of cached builds put first on the
	// daemon's PATH, so dockerd starts that containerd (with its shim) and
	// containers run on that runc; empty means the harness' PATH.
	Containerd, Runc string
	// ConfigFile is a user's daemon.json (empty: RELAPSE_DOCKERD_CONFIG;
	// TemplateConfig: none, whatever the environment says). Its
	// keys win over Config.Overlay; the keys that keep the instance private
	// win over both.
	ConfigFile string
	// Config holds the scenario's knobs.
	Config DockerdConfig
	// MemoryLimit is the guard's RSS ceiling; 0 means DefaultMemoryLimit.
	MemoryLimit uint64
	// Host is the unix socket path the API listens on; empty means
	// <root>/docker.sock. A suite passes a fixed path so testcontainers-go,
	// which resolves DOCKER_HOST once per process, can follow successive
	// sandboxes there.
	Host string
	// Logf narrates what the sandbox does (nil: silent).
	Logf func(format string, args ...any)
}

// DockerdSandbox is a private dockerd, with the containerd it manages, under
// its own temp root.
type DockerdSandbox struct {
	binary     string
	version    string
	layout     dockerdLayout
	userConfig string
	config     map[string]any
	// overlayKeys are the daemon.json keys the variant's overlay set, which
	// Settings reports with their effective values.
	overlayKeys []string
	lifecycle
	// containerdGuard watches the managed containerd (under lifecycle.mu).
	containerdGuard *Guard
	// imageStore is what /info said at the last start (see imageStore).
	imageStore string
}

var _ Sandbox = (*DockerdSandbox)(nil)

// NewDockerd prepares a dockerd instance: it finds the binary, asks its
// version, makes the temp root and writes daemon.json. It does not start the
// daemon; call Start, and always Close.
func NewDockerd(opts DockerdOptions) (*DockerdSandbox, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binary, err := findBinary(Dockerd, opts.Binary, opts.Version, EnvDockerd)
	if err != nil {
		return nil, err
	}
	version, err := binaryVersion(context.Background(), binary)
	if err != nil {
		return nil, err
	}
	if opts.Version != "" && strings.TrimPrefix(opts.Version, "v") != version {
		return nil, fmt.Errorf("cached dockerd %s reports version %s: the cache entry is mislabelled; fetch it again", opts.Version, version)
	}
	knowsIP6, err := dockerdKnowsFlag(binary, "--ip6tables")
	if err != nil {
		return nil, err
	}
	userConfig := userConfigPath(opts.ConfigFile, EnvDockerdConfig)
	var user map[string]any
	if userConfig != "" {
		if user, err = loadUserDaemonJSON(userConfig); err != nil {
			return nil, err
		}
	}
	host := opts.Host
	if host != "" {
		if host, err = checkHost(host); err != nil {
			return nil, err
		}
	}

	dirs, err := pairedDirs(binary, opts.Runc, opts.Containerd)
	if err != nil {
		return nil, err
	}

	root, err := newRoot(Dockerd)
	if err != nil {
		return nil, err
	}
	s := &DockerdSandbox{
		binary: binary, version: version, layout: newDockerdLayout(root, host),
		userConfig: userConfig,
		lifecycle:  lifecycle{name: "dockerd", grace: dockerdStopGrace, limit: opts.MemoryLimit, logf: logf},
	}
	s.start = s.startLocked
	if s.limit == 0 {
		s.limit = DefaultMemoryLimit
	}
	if len(s.layout.Host) > maxSocketPath {
		err = fmt.Errorf("dockerd socket path %s is longer than %d bytes", s.layout.Host, maxSocketPath)
	} else {
		err = s.prepare(opts, user, knowsIP6)
	}
	if err != nil {
		if cerr := cleanRoot(context.Background(), root, logf); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	ns, err := startNamespace(context.Background(), root, true)
	if err != nil {
		if cerr := cleanRoot(context.Background(), root, logf); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	s.ns = ns
	s.d = &daemon{
		ns:      ns,
		name:    "dockerd",
		binary:  binary,
		args:    []string{"--config-file", s.layout.Config},
		env:     daemonEnv(s.layout.Tmp, dirs),
		dir:     root,
		logPath: s.layout.Log,
	}
	logf("dockerd %s (%s) in %s, socket %s", version, binary, root, s.layout.Host)
	return s, nil
}

// checkHost validates a caller-chosen socket path and makes its directory.
func checkHost(host string) (string, error) {
	h, err := filepath.Abs(strings.TrimPrefix(host, "unix://"))
	if err != nil {
		return "", fmt.Errorf("dockerd Host %q: %w", host, err)
	}
	if len(h) > maxSocketPath {
		return "", fmt.Errorf("dockerd Host %s is longer than %d bytes (unix socket limit); pick a shorter path", h, maxSocketPath)
	}
	if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
		return "", fmt.Errorf("dockerd Host %s: %w", h, err)
	}
	return h, nil
}

// dockerdKnowsFlag says whether `dockerd --help` lists flag: daemon.json
// keys mirror flags, and dockerd refuses keys it does not know.
func dockerdKnowsFlag(binary, flag string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--help").CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("%s --help: %w (output: %.200q)", binary, err, out)
	}
	return strings.Contains(string(out), flag), nil
}

// prepare makes the root's directories and writes daemon.json.
func (s *DockerdSandbox) prepare(opts DockerdOptions, user map[string]any, knowsIP6 bool) error {
	for _, d := range []string{s.layout.DataRoot, s.layout.ExecRoot, s.layout.Tmp} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("dockerd root: %w", err)
		}
	}
	cfg, notes, err := RenderDaemonJSON(DaemonJSON{
		Root: s.layout.Root, Host: s.layout.Host, Overlay: opts.Config.Overlay, User: user, KnowsIP6tables: knowsIP6,
		HasTrustKey: majorVersion(s.version) < 23,
	})
	for _, n := range notes {
		s.logf("dockerd daemon.json: %s", n)
	}
	if err != nil {
		if s.userConfig != "" {
			return fmt.Errorf("%w (user config %s)", err, s.userConfig)
		}
		return err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("daemon.json: %w", err)
	}
	if err := os.WriteFile(s.layout.Config, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("daemon.json: %w", err)
	}
	s.config = cfg
	s.overlayKeys = slices.Sorted(maps.Keys(opts.Config.Overlay))
	return nil
}

// Kind implements Sandbox.
func (s *DockerdSandbox) Kind() Kind { return Dockerd }

// Version implements Sandbox: the daemon's version, e.g. "20.10.24".
func (s *DockerdSandbox) Version() string { return s.version }

// Binary implements Sandbox.
func (s *DockerdSandbox) Binary() string { return s.binary }

// Address implements Sandbox: the API socket path (pprof is served at
// /debug/pprof/ on it, debug being on).
func (s *DockerdSandbox) Address() string { return s.layout.Host }

// PID implements Sandbox.
func (s *DockerdSandbox) PID() int { return s.d.pid() }

// Root implements Sandbox.
func (s *DockerdSandbox) Root() string { return s.layout.Root }

// LogPath implements Sandbox.
func (s *DockerdSandbox) LogPath() string { return s.layout.Log }

// ConfigPath is the daemon.json dockerd runs with.
func (s *DockerdSandbox) ConfigPath() string { return s.layout.Config }

// UserConfig is the user's daemon.json merged into the effective one, "" if none.
func (s *DockerdSandbox) UserConfig() string { return s.userConfig }

// DaemonConfig is a copy of the effective daemon.json, for reports.
func (s *DockerdSandbox) DaemonConfig() map[string]any {
	out := make(map[string]any, len(s.config))
	for k, v := range s.config {
		out[k] = v
	}
	return out
}

// ContainerdAddress is the socket of the containerd this dockerd manages.
func (s *DockerdSandbox) ContainerdAddress() string { return s.layout.ContainerdAddress() }

// ContainerdPID is the pid of the containerd this dockerd manages (a probe
// target: it holds the shims), 0 when it is not running.
func (s *DockerdSandbox) ContainerdPID() int {
	data, err := os.ReadFile(s.layout.ContainerdPIDFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if _, err := procStartTime(pid); err != nil {
		return 0 // stale pidfile (after a crash)
	}
	return pid
}

// Client returns a Docker API client for this sandbox, its API version
// negotiated with the daemon; the caller closes it.
func (s *DockerdSandbox) Client(ctx context.Context) (*client.Client, error) {
	c, err := client.New(client.WithHost("unix://"+s.layout.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", s.layout.Host, err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, fmt.Errorf("docker client for %s: ping: %w", s.layout.Host, err)
	}
	return c, nil
}

// Start implements Sandbox: it starts dockerd and waits until /_ping and
// /info answer on its socket.
func (s *DockerdSandbox) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(ctx)
}

func (s *DockerdSandbox) startLocked(ctx context.Context) error {
	if s.closed {
		return errors.New("dockerd sandbox: Start after Close")
	}
	if err := checkSocketFree(s.layout.Host); err != nil {
		return err
	}
	if s.guard == nil {
		g, err := StartGuard("dockerd", s.d.pid, s.limit, 0, s.logf)
		if err != nil {
			return err
		}
		s.guard = g
	}
	if s.containerdGuard == nil {
		// The managed containerd can run away on its own (a damaged meta.db)
		// while dockerd stays small: it gets the same ceiling.
		g, err := StartGuard("containerd", s.ContainerdPID, s.limit, 0, s.logf)
		if err != nil {
			return err
		}
		s.containerdGuard = g
	}
	began := time.Now()
	if err := s.d.start(); err != nil {
		return err
	}
	c, err := client.New(client.WithHost("unix://"+s.layout.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return errors.Join(fmt.Errorf("docker client for %s: %w", s.layout.Host, err), s.d.kill())
	}
	defer c.Close()
	err = s.d.waitReady(ctx, func(ctx context.Context) error {
		if _, err := os.Stat(s.layout.Host); err != nil {
			return fmt.Errorf("no socket yet: %w", err)
		}
		if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
			return fmt.Errorf("GET /_ping: %w", err)
		}
		info, err := c.Info(ctx, client.InfoOptions{})
		if err != nil {
			return fmt.Errorf("GET /info: %w", err)
		}
		s.imageStore = imageStore(info.Info)
		return nil
	})
	if err != nil {
		return errors.Join(fmt.Errorf("start dockerd %s in %s: %w", s.version, s.layout.Root, err), s.d.kill())
	}
	cpid, err := s.ownContainerd()
	if err != nil {
		return errors.Join(fmt.Errorf("start dockerd %s in %s: %w", s.version, s.layout.Root, err), s.d.kill())
	}
	s.logf("dockerd %s ready (pid %d, its own containerd pid %d at %s) in %s", s.version, s.d.pid(), cpid, s.layout.ContainerdAddress(), time.Since(began).Round(time.Millisecond))
	return nil
}

// checkSocketFree refuses to start on a socket another daemon serves:
// dockerd would unlink it and take over.
func checkSocketFree(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil // stale socket of a dead daemon: dockerd replaces it
	}
	conn.Close()
	return fmt.Errorf("dockerd socket %s is served by another process; close the sandbox using it or pick another Host", path)
}

// Close implements Sandbox: it stops dockerd (briefly gracefully, then by
// SIGKILL), kills its containerd, shims and containers, unmounts what it
// left mounted (its data-root bind mount, netns and shm mounts, container
// rootfs), removes the root and the socket if it lives outside the root.
func (s *DockerdSandbox) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cleaned {
		return nil
	}
	s.closed = true
	var errs []error
	if err := s.d.stop(ctx, 5*time.Second); err != nil {
		errs = append(errs, err)
	}
	if s.guard != nil {
		s.guard.Stop()
	}
	if s.containerdGuard != nil {
		s.containerdGuard.Stop()
	}
	if err := cleanRoot(ctx, s.layout.Root, s.logf); err != nil {
		errs = append(errs, err)
	} else if err := s.ns.close(); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(s.layout.Host, s.layout.Root+"/") {
		// Only a socket nobody serves: a later sandbox may listen there now.
		if fi, err := os.Lstat(s.layout.Host); err == nil && fi.Mode()&fs.ModeSocket != 0 && checkSocketFree(s.layout.Host) == nil {
			if err := os.Remove(s.layout.Host); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close dockerd sandbox %s: %w", s.layout.Root, err)
	}
	s.cleaned = true
	s.logf("dockerd sandbox %s closed", s.layout.Root)
	return nil
}

// String names the instance in logs.
func (s *DockerdSandbox) String() string {
	return "dockerd " + s.version + " pid " + strconv.Itoa(s.PID()) + " in " + s.layout.Root
}

// Settings is what a report records about the configuration this instance
// runs with: where daemon.json is, whose it is, its effective content, and
// every key the variant's overlay set with the value dockerd really got (a
// user's file or relapse's private paths may have replaced it; a key relapse
// removed is absent), so a comparison of variants reads at the top level.
func (s *DockerdSandbox) Settings() map[string]any {
	m := map[string]any{}
	for _, k := range s.overlayKeys {
		if v, ok := s.config[k]; ok {
			m[k] = v
		}
	}
	m["config_path"] = s.layout.Config
	m["daemon_json"] = s.DaemonConfig()
	if s.imageStore != "" {
		m["image_store"] = s.imageStore
	}
	if s.userConfig != "" {
		m["user_config"] = s.userConfig
	}
	return m
}

// Guard implements Sandbox: dockerd's guard, or its managed containerd's
// when that one fired (both have the same ceiling).
func (s *DockerdSandbox) Guard() GuardReport {
	s.mu.Lock()
	cg := s.containerdGuard
	s.mu.Unlock()
	if cg != nil {
		if r := cg.Report(); r.Fired {
			return r
		}
	}
	return s.lifecycle.Guard()
}

// imageStore names where the dockerd keeps images: "containerd (overlayfs)"
// when it uses containerd's image store (docker 29's default; /info reports
// the snapshotter as Driver and driver-type io.containerd.snapshotter.v1),
// else "graphdriver (overlay2)". Image ids differ between the two, so a
// result says which one it ran on.
func imageStore(info system.Info) string {
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.Contains(kv[1], "containerd.snapshotter") {
			return "containerd (" + info.Driver + ")"
		}
	}
	return "graphdriver (" + info.Driver + ")"
}
