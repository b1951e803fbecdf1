package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
)

// writeTool writes an executable script at dir/name that prints line.
func writeTool(t *testing.T, dir, name, line string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+line+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A dockerd cell's PATH starts with its runc, then the daemon's own
// (resolved) directory, then its containerd's, so each finds the cell's
// binaries and a Debian containerd its own package's shim; the components
// record says which binaries those were and where they came from.
func TestPairedDirsAndComponents(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCache, cache)
	rt := filepath.Join(cache, "runtimes")
	writeTool(t, filepath.Join(rt, "runc-1.3.6"), "runc", "runc version 1.3.6")
	if err := os.WriteFile(filepath.Join(rt, "runc-1.3.6", "BUILDINFO"), []byte("source: go install -tags seccomp\nbuilt: now\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(rt, "containerd-2.1.9", "deb", "usr", "bin")
	writeTool(t, deb, "containerd", "containerd github.com/containerd/containerd/v2 2.1.9+unknown")
	writeTool(t, deb, "containerd-shim-runc-v2", "shim 2.1.9")
	if err := os.WriteFile(filepath.Join(rt, "containerd-2.1.9", "BUILDINFO"), []byte("source: Debian forky containerd=2.1.9+ds1-5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2"} {
		if err := os.Symlink(filepath.Join("deb", "usr", "bin", b), filepath.Join(rt, "containerd-2.1.9", b)); err != nil {
			t.Fatal(err)
		}
	}
	dockerd := writeTool(t, filepath.Join(rt, "dockerd-28.5.2"), "dockerd", "Docker version 28.5.2")

	dirs, err := pairedDirs(dockerd, "1.3.6", "2.1.9")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(rt, "runc-1.3.6"), filepath.Join(rt, "dockerd-28.5.2"), deb}
	if strings.Join(dirs, ":") != strings.Join(want, ":") {
		t.Errorf("pairedDirs = %v, want %v", dirs, want)
	}
	t.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	env := daemonEnv(t.TempDir(), dirs)
	got := components(t.Context(), env, "containerd", "containerd-shim-runc-v2", "runc")
	if c := got["containerd"]; c.Path != filepath.Join(deb, "containerd") || !strings.Contains(c.Version, "2.1.9") || c.Source != "Debian forky containerd=2.1.9+ds1-5" {
		t.Errorf("containerd component %+v", c)
	}
	if c := got["containerd-shim-runc-v2"]; c.Path != filepath.Join(deb, "containerd-shim-runc-v2") {
		t.Errorf("shim component %+v, want Debian's package's", c)
	}
	if c := got["runc"]; c.Path != filepath.Join(rt, "runc-1.3.6", "runc") || c.Version != "runc version 1.3.6" || c.Source != "go install -tags seccomp" {
		t.Errorf("runc component %+v", c)
	}

	if _, err := pairedDirs(dockerd, "9.9.9", ""); err == nil || !strings.Contains(err.Error(), "scripts/runtimes.sh runc-9.9.9") {
		t.Errorf("a runc missing from the cache: %v, want the command that builds it", err)
	}
}

func TestImageStore(t *testing.T) {
	for want, info := range map[string]system.Info{
		"containerd (overlayfs)": {Driver: "overlayfs", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}},
		"graphdriver (overlay2)": {Driver: "overlay2", DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}},
	} {
		if got := imageStore(info); got != want {
			t.Errorf("imageStore(%+v) = %q, want %q", info, got, want)
		}
	}
}
