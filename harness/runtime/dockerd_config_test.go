package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testDockerRoot = "/tmp/relapse/dockerd-0000abcd"

func TestRenderDaemonJSON(t *testing.T) {
	user := map[string]any{
		"log-level":  "warn",
		"data-root":  "/var/lib/docker",
		"iptables":   true,
		"containerd": "/run/containerd/containerd.sock",
		"log-opts":   map[string]any{"max-size": "1m"},
	}
	overlay := map[string]any{"log-level": "info", "default-ulimits": map[string]any{}, "bridge": "docker0"}
	cfg, notes, err := RenderDaemonJSON(DaemonJSON{Root: testDockerRoot, Overlay: overlay, User: user, KnowsIP6tables: true, HasTrustKey: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notes:\n%s", strings.Join(notes, "\n"))
	want := map[string]any{
		"data-root":           filepath.Join(testDockerRoot, "data"),
		"exec-root":           filepath.Join(testDockerRoot, "exec"),
		"pidfile":             filepath.Join(testDockerRoot, "dockerd.pid"),
		"hosts":               []any{"unix://" + filepath.Join(testDockerRoot, "docker.sock")},
		"deprecated-key-path": filepath.Join(testDockerRoot, "key.json"),
		"bridge":              "none",
		"iptables":            false,
		"ip6tables":           false,
		"ip-masq":             false, "ip-forward": false,
		"debug":           true,
		"log-level":       "warn", // the user's file wins over the variant's Overlay
		"log-opts":        map[string]any{"max-size": "1m"},
		"default-ulimits": map[string]any{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("daemon.json =\n%v\nwant\n%v", cfg, want)
	}
	for _, n := range []string{"containerd:", "data-root:", "iptables:", "log-level:", "bridge:"} {
		if !strings.Contains(strings.Join(notes, "\n"), n) {
			t.Errorf("no note about %s", strings.TrimSuffix(n, ":"))
		}
	}

	// An older dockerd without ip6tables gets no such key, and a user's
	// ip6tables setting for it is an error rather than a startup failure.
	cfg, _, err = RenderDaemonJSON(DaemonJSON{Root: testDockerRoot, Host: "/tmp/relapse/x.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg["ip6tables"]; ok {
		t.Error("ip6tables set for a dockerd that does not know it")
	}
	if _, ok := cfg["deprecated-key-path"]; ok {
		t.Error("deprecated-key-path set for a dockerd without a trust key")
	}
	if !reflect.DeepEqual(cfg["hosts"], []any{"unix:///tmp/relapse/x.sock"}) {
		t.Errorf("hosts = %v", cfg["hosts"])
	}
	if _, _, err := RenderDaemonJSON(DaemonJSON{Root: testDockerRoot, User: map[string]any{"ip6tables": true}}); err == nil {
		t.Error("user ip6tables on a dockerd without it: no error")
	}
}

func TestUserDaemonJSONErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(corrupt, []byte("{\n  \"debug\": true,\n  \"bridge\": none\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadUserDaemonJSON(corrupt)
	if err == nil || !strings.Contains(err.Error(), corrupt) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("corrupt daemon.json: err = %v, want it to name the file and line 3", err)
	}
	notObject := filepath.Join(dir, "list.json")
	if err := os.WriteFile(notObject, []byte("[1]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadUserDaemonJSON(notObject); err == nil || !strings.Contains(err.Error(), notObject) {
		t.Errorf("non-object daemon.json: err = %v", err)
	}
	t.Setenv(EnvDockerdConfig, corrupt)
	if _, err := NewDockerd(DockerdOptions{}); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("NewDockerd with a corrupt %s: err = %v, want it to name the file", EnvDockerdConfig, err)
	}
	t.Setenv(EnvDockerdConfig, filepath.Join(dir, "missing.json"))
	if _, err := NewDockerd(DockerdOptions{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("NewDockerd with a missing config: err = %v", err)
	}
	if _, err := NewDockerd(DockerdOptions{ConfigFile: "", Host: "/tmp/" + strings.Repeat("x", 120)}); err == nil {
		t.Error("NewDockerd with a 124-byte socket path: no error")
	}
}
