package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for out, want := range map[string]string{
		"containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n":                  "1.6.20",
		"containerd github.com/containerd/containerd/v2 v2.0.0 207ad711eabd375a01713109a8a197d197ff6542": "2.0.0",
		"containerd github.com/containerd/containerd v1.7.18 ae71819c4f5e67bb4d5ae76a6b735f29cc25774e":   "1.7.18",
		"Docker version 20.10.24+dfsg1, build 5d6db84\n":                                                 "20.10.24",
	} {
		got, err := parseVersion(out)
		if err != nil || got != want {
			t.Errorf("parseVersion(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	if _, err := parseVersion("containerd github.com/containerd/containerd dev"); err == nil {
		t.Error("parseVersion without a version: no error")
	}
	if majorVersion("20.10.24") != 20 || majorVersion("2.0.0") != 2 {
		t.Error("majorVersion")
	}
}

func TestResolve(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCache, cache)
	_, err := Resolve(Containerd, "1.7.18")
	if err == nil || !strings.Contains(err.Error(), "scripts/runtimes.sh containerd-1.7.18") || !strings.Contains(err.Error(), "containerd-1.7.18") {
		t.Errorf("missing build: err = %v, want it to name the path and scripts/runtimes.sh", err)
	}
	dir := filepath.Join(cache, "runtimes", "containerd-1.7.18")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "containerd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("bin/containerd", filepath.Join(dir, "containerd")); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(Containerd, "1.7.18")
	if err != nil || got != filepath.Join(dir, "containerd") {
		t.Errorf("Resolve = %q, %v", got, err)
	}
	if _, err := Resolve("crio", "1.0.0"); err == nil {
		t.Error("Resolve of an unknown kind: no error")
	}
	if _, err := findBinary(Containerd, "/bin/true", "1.7.18", EnvContainerd); err == nil {
		t.Error("Binary and Version both set: no error")
	}
	t.Setenv(EnvContainerd, filepath.Join(cache, "nope"))
	if _, err := findBinary(Containerd, "", "", EnvContainerd); err == nil || !strings.Contains(err.Error(), EnvContainerd) {
		t.Errorf("bad %s: err = %v, want it named", EnvContainerd, err)
	}
}

func TestUserConfigPath(t *testing.T) {
	t.Setenv(EnvContainerdConfig, "/etc/containerd/config.toml")
	for option, want := range map[string]string{
		"":             "/etc/containerd/config.toml",
		TemplateConfig: "",
		"/my.toml":     "/my.toml",
	} {
		if got := userConfigPath(option, EnvContainerdConfig); got != want {
			t.Errorf("userConfigPath(%q) = %q, want %q", option, got, want)
		}
	}
}
