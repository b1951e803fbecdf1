package runtime

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestContainerdLifecycle runs a real containerd: Start until CRI answers,
// Crash it, Start again on the same state, and Close leaving nothing.
func TestContainerdLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	s, err := NewContainerd(ContainerdOptions{
		Config: ContainerdConfig{CRI: map[string]any{"max_container_log_line_size": -1, "drain_exec_sync_io_timeout": "2s"}},
		Logf:   testLogf(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, s)
	root := s.Root()
	if got, _ := s.CRISetting("max_container_log_line_size"); got != -1 {
		t.Errorf("effective max_container_log_line_size = %v, want -1", got)
	}
	if got := s.Settings()["max_container_log_line_size"]; got != -1 {
		t.Errorf("Settings() max_container_log_line_size = %v, want -1", got)
	}
	if got := s.Settings()["drain_exec_sync_io_timeout"]; got != "2s" {
		t.Errorf("Settings() drain_exec_sync_io_timeout = %v, want 2s", got)
	}

	began := time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("containerd %s time-to-ready: %s", s.Version(), time.Since(began).Round(time.Millisecond))
	if s.PID() == 0 {
		t.Fatal("PID() = 0 after Start")
	}
	if !strings.HasPrefix(s.Version(), "1.") && !strings.HasPrefix(s.Version(), "2.") {
		t.Errorf("Version() = %q, want 1.x or 2.x", s.Version())
	}
	criVersion(ctx, t, s)

	// The metrics endpoint answers Prometheus text.
	resp, err := http.Get("http://" + s.MetricsAddress() + "/v1/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "# TYPE") {
		t.Errorf("metrics at %s: status %d, body starts %.200q", s.MetricsAddress(), resp.StatusCode, body)
	}

	getUnix(t, s.DebugAddress(), "/debug/pprof/goroutine?debug=1")

	pid := s.PID()
	if err := s.Crash(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 {
		t.Fatalf("PID() = %d after Crash, want 0", s.PID())
	}
	if _, err := procStartTime(pid); err == nil {
		t.Fatalf("containerd pid %d still alive after Crash", pid)
	}

	began = time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start after Crash: %v", err)
	}
	t.Logf("containerd time-to-ready after crash: %s", time.Since(began).Round(time.Millisecond))
	criVersion(ctx, t, s)

	if g := s.Guard(); g.Fired || g.PeakRSS == 0 || g.Limit != DefaultMemoryLimit {
		t.Errorf("guard report %+v: want not fired, a peak RSS, limit %d", g, uint64(DefaultMemoryLimit))
	}

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, root)
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start(ctx); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func criVersion(ctx context.Context, t *testing.T, s *ContainerdSandbox) {
	t.Helper()
	conn, err := s.DialCRI()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatalf("CRI Version: %v", err)
	}
	if v.GetRuntimeName() != "containerd" || !strings.Contains(v.GetRuntimeVersion(), s.Version()) {
		t.Errorf("CRI Version = %s %s, want containerd %s", v.GetRuntimeName(), v.GetRuntimeVersion(), s.Version())
	}
}

// TestContainerdUserConfig runs a real containerd with a user's config: it
// starts, the instance stays below its root, and the effective log line
// size is the user's.
func TestContainerdUserConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(user, []byte(userConfigV2), 0o644); err != nil {
		t.Fatal(err)
	}
	// The variant's knobs are not applied to a user's file (that file is
	// what is being validated); Settings reports what the file holds.
	s, err := NewContainerd(ContainerdOptions{
		ConfigFile: user, Logf: testLogf(t),
		Config: ContainerdConfig{CRI: map[string]any{"max_container_log_line_size": 16384, "drain_exec_sync_io_timeout": "2s"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, s)
	if size, _ := s.CRISetting("max_container_log_line_size"); size != -1 || s.UserConfig() != user {
		t.Errorf("effective max_container_log_line_size = %v from %q, want -1 from %s", size, s.UserConfig(), user)
	}
	settings := s.Settings()
	if got := settings["max_container_log_line_size"]; got != -1 {
		t.Errorf("Settings() max_container_log_line_size = %v, want the user's -1", got)
	}
	if got, ok := settings["drain_exec_sync_io_timeout"]; ok {
		t.Errorf("Settings() drain_exec_sync_io_timeout = %v: the variant's knob reached a user's config", got)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	criVersion(ctx, t, s)
	root := s.Root()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, root)
}

// TestContainerdStartFailureShowsLog: a daemon that cannot start makes Start
// fail fast with the log's tail (where containerd says why), and Close still
// cleans up.
func TestContainerdStartFailureShowsLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user := filepath.Join(t.TempDir(), "config.toml")
	// Valid TOML that containerd itself rejects: a string where it wants a number.
	if err := os.WriteFile(user, []byte("version = 2\n[grpc]\n  max_recv_message_size = \"lots\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewContainerd(ContainerdOptions{ConfigFile: user, Logf: testLogf(t)})
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, s)
	began := time.Now()
	err = s.Start(ctx)
	if err == nil {
		t.Fatal("Start succeeded with a config containerd rejects")
	}
	if !strings.Contains(err.Error(), "exited during startup") || !strings.Contains(err.Error(), "lots") {
		t.Errorf("Start error does not carry the log's explanation:\n%v", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("Start took %s to notice the daemon died", d)
	}
	if s.PID() != 0 {
		t.Errorf("PID() = %d after a failed Start", s.PID())
	}
	root := s.Root()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, root)
}
