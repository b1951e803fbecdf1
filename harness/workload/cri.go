package workload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodNamespace is the Kubernetes namespace relapse's pods claim in their
// metadata; it only labels them (no kubelet is involved).
const PodNamespace = "relapse"

// CRI drives a containerd's CRI plugin the way a kubelet does, minus
// networking: relapse reproduces runtime incidents on a bare machine without
// CNI, so pods share the node's network namespace.
type CRI struct {
	address string
	conn    *grpc.ClientConn
	rt      runtimeapi.RuntimeServiceClient

	mu   sync.Mutex
	pods map[string]*runtimeapi.PodSandboxConfig // by pod ID
}

// ContainerSpec is one workload container in a pod.
type ContainerSpec struct {
	// Name is unique within the pod.
	Name string
	// Image is a reference already loaded into the CRI namespace (Image.Ref).
	Image string
	// Command replaces the image's entrypoint when set.
	Command []string
	// Args replaces the image's Cmd (the arguments after the entrypoint).
	Args []string
	// Env is extra environment.
	Env map[string]string
	// LogPath is the container's log file relative to the pod's log
	// directory, as in the CRI; empty means "<Name>.log".
	LogPath string
	// CpusetCpus pins the container to these CPUs (cpuset list syntax,
	// e.g. "0-1"); empty leaves it on every CPU.
	CpusetCpus string
}

// DialCRI connects to the CRI runtime service on a containerd socket and
// checks it answers, so a daemon started without its CRI plugin is reported
// here and not at the first pod.
func DialCRI(ctx context.Context, address string) (*CRI, error) {
	path := strings.TrimPrefix(address, "unix://")
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("CRI at %s: %w", path, err)
	}
	c := &CRI{address: path, conn: conn, rt: runtimeapi.NewRuntimeServiceClient(conn), pods: map[string]*runtimeapi.PodSandboxConfig{}}
	v, err := c.rt.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("CRI at %s: version: %w (is the daemon running with the CRI plugin enabled?)", path, err)
	}
	if v.RuntimeApiVersion != "v1" {
		conn.Close()
		return nil, fmt.Errorf("CRI at %s: %s %s serves CRI %s, want v1", path, v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion)
	}
	return c, nil
}

// Runtime is the raw CRI runtime service, for what the helpers here do not cover.
func (c *CRI) Runtime() runtimeapi.RuntimeServiceClient { return c.rt }

// Close closes the connection; pods keep running.
func (c *CRI) Close() error { return c.conn.Close() }

// RunPod starts a pod sandbox (the sandbox image from the daemon's config)
// in the node's network namespace, with container logs under logDir, and
// returns its ID.
func (c *CRI) RunPod(ctx context.Context, name, logDir string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("run pod: empty name")
	}
	if !filepath.IsAbs(logDir) {
		return "", fmt.Errorf("run pod %s: log directory %q must be absolute", name, logDir)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", fmt.Errorf("run pod %s: %w", name, err)
	}
	var uid [8]byte
	if _, err := rand.Read(uid[:]); err != nil {
		return "", fmt.Errorf("run pod %s: %w", name, err)
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: PodNamespace, Uid: hex.EncodeToString(uid[:])},
		LogDirectory: logDir,
		Labels:       map[string]string{"relapse": "true"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: namespaces()},
		},
	}
	resp, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return "", fmt.Errorf("run pod %s on %s: %w", name, c.address, err)
	}
	c.mu.Lock()
	c.pods[resp.PodSandboxId] = cfg
	c.mu.Unlock()
	return resp.PodSandboxId, nil
}

// namespaces is node networking (no CNI), a PID namespace per container and
// an IPC namespace per pod, as a kubelet would ask for a hostNetwork pod.
func namespaces() *runtimeapi.NamespaceOption {
	return &runtimeapi.NamespaceOption{
		Network: runtimeapi.NamespaceMode_NODE,
		Pid:     runtimeapi.NamespaceMode_CONTAINER,
		Ipc:     runtimeapi.NamespaceMode_POD,
	}
}

// RunContainer creates and starts a container in a pod this client started,
// and returns its ID. A container that fails to start is removed.
func (c *CRI) RunContainer(ctx context.Context, podID string, spec ContainerSpec) (string, error) {
	c.mu.Lock()
	pod := c.pods[podID]
	c.mu.Unlock()
	if pod == nil {
		return "", fmt.Errorf("run container %s: pod %q was not started by this client (RunPod first)", spec.Name, podID)
	}
	if spec.Name == "" || spec.Image == "" {
		return "", fmt.Errorf("run container in pod %s: name %q and image %q are both required", pod.Metadata.Name, spec.Name, spec.Image)
	}
	logPath := spec.LogPath
	if logPath == "" {
		logPath = spec.Name + ".log"
	}
	if filepath.IsAbs(logPath) {
		return "", fmt.Errorf("run container %s: log path %q must be relative to the pod's log directory %s", spec.Name, logPath, pod.LogDirectory)
	}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	envs := make([]*runtimeapi.KeyValue, 0, len(keys))
	for _, k := range keys {
		envs = append(envs, &runtimeapi.KeyValue{Key: k, Value: []byte(spec.Env[k])})
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: spec.Name},
		Image:    &runtimeapi.ImageSpec{Image: spec.Image},
		Command:  spec.Command,
		Args:     spec.Args,
		Envs:     envs,
		LogPath:  logPath,
		Labels:   map[string]string{"relapse": "true"},
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: namespaces()},
		},
	}
	if spec.CpusetCpus != "" {
		cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{CpusetCpus: spec.CpusetCpus}
	}
	created, err := c.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
	if err != nil {
		return "", fmt.Errorf("create container %s (%s) in pod %s: %w", spec.Name, spec.Image, pod.Metadata.Name, err)
	}
	id := created.ContainerId
	if _, err := c.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		if rmErr := c.removeStarting(context.WithoutCancel(ctx), id); rmErr != nil {
			return "", fmt.Errorf("start container %s (%s): %w; removing it also failed: %v", spec.Name, spec.Image, err, rmErr)
		}
		return "", fmt.Errorf("start container %s (%s): %w", spec.Name, spec.Image, err)
	}
	return id, nil
}

// removeStarting removes a container whose start failed or was cancelled.
// containerd refuses to remove a container "in starting state" until the
// abandoned start has finished on its side, so it stops the container and
// tries again for a while instead of leaving it for the pod's removal.
func (c *CRI) removeStarting(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, _ = c.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id})
		_, err := c.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
		if err == nil || !strings.Contains(err.Error(), "starting state") {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove container %s: still starting: %w", id, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ContainerStatus is the container's CRI status (state, exit code, log path).
func (c *CRI) ContainerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, error) {
	resp, err := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return nil, fmt.Errorf("container %s status: %w", id, err)
	}
	return resp.Status, nil
}

// ContainerPID is the host PID of the container's init process, read from
// the verbose status' "info" JSON, so probes can watch the workload itself.
func (c *CRI) ContainerPID(ctx context.Context, id string) (int, error) {
	resp, err := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("container %s status: %w", id, err)
	}
	raw, ok := resp.Info["info"]
	if !ok {
		return 0, fmt.Errorf("container %s: the runtime's verbose status has no \"info\" (keys %v)", id, keysOf(resp.Info))
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return 0, fmt.Errorf("container %s: verbose info: %w", id, err)
	}
	if info.Pid <= 0 {
		return 0, fmt.Errorf("container %s has no pid (state %s)", id, resp.Status.GetState())
	}
	return info.Pid, nil
}

// ExecResult is what an ExecSync call returned.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
}

// ExecSync runs cmd in a running container and waits for it, as a kubelet
// exec probe does: timeout is the probe's timeoutSeconds (whole seconds, at
// least 1; the runtime ends the command after it), and ctx carries the
// caller's own deadline for the call as a whole, which kubelet sets longer
// than the timeout. The error keeps the gRPC status (DeadlineExceeded when
// ctx ran out first), so callers can tell the runtime's answer from their
// own deadline.
func (c *CRI) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error) {
	if len(cmd) == 0 {
		return ExecResult{}, fmt.Errorf("exec in container %s: empty command", containerID)
	}
	secs := int64(timeout / time.Second)
	if secs < 1 || timeout%time.Second != 0 {
		return ExecResult{}, fmt.Errorf("exec %q in container %s: timeout %v: the CRI takes whole seconds, at least 1", cmd, containerID, timeout)
	}
	resp, err := c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: containerID, Cmd: cmd, Timeout: secs})
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in container %s: %w", cmd, containerID, err)
	}
	return ExecResult{Stdout: resp.Stdout, Stderr: resp.Stderr, ExitCode: resp.ExitCode}, nil
}

// StopContainer stops a container, SIGKILLing it after timeoutSeconds.
func (c *CRI) StopContainer(ctx context.Context, id string, timeoutSeconds int64) error {
	if _, err := c.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: timeoutSeconds}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// StopPod stops every container of the pod and its sandbox.
func (c *CRI) StopPod(ctx context.Context, podID string) error {
	if _, err := c.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		return fmt.Errorf("stop pod %s: %w", podID, err)
	}
	return nil
}

// RemovePod removes the pod and its containers (stopping them if needed).
func (c *CRI) RemovePod(ctx context.Context, podID string) error {
	if _, err := c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		return fmt.Errorf("remove pod %s: %w", podID, err)
	}
	c.mu.Lock()
	delete(c.pods, podID)
	c.mu.Unlock()
	return nil
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
