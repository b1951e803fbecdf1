package workload

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadContainerd(t *testing.T) {
	needRoot(t, "containerd", "ctr", "runc")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pause, hugeline := buildImage(t, "pause"), buildImage(t, "hugeline")
	cd := startContainerd(t, pause.Ref)

	for _, img := range []Image{pause, hugeline, pause} { // the second pause load re-imports
		start := time.Now()
		if err := LoadContainerd(ctx, cd.Address(), img); err != nil {
			t.Fatal(err)
		}
		t.Logf("LoadContainerd %s: %v", img.Ref, time.Since(start).Round(time.Millisecond))
	}

	// Unpacked for overlayfs, with the config digest of the archive.
	start := time.Now()
	ctr, err := CtrFor(cd.Address())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ctr, "-a", cd.Address(), "-n", CRINamespace, "images", "check").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr images check: %v\n%s", err, out)
	}
	t.Logf("ctr images check: %v", time.Since(start))
	for _, img := range []Image{pause, hugeline} {
		var line string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, img.Ref+" ") {
				line = l
			}
		}
		if !strings.Contains(line, "complete") || !strings.HasSuffix(strings.TrimSpace(line), "true") {
			t.Errorf("ctr images check for %s: %q, want complete and unpacked\n%s", img.Ref, line, out)
		}
	}
	// CRI adds its own reference by image ID (the config digest); nothing
	// else may appear (ctr names OCI ref.name-only imports import-<date>).
	out, err = exec.Command(ctr, "-a", cd.Address(), "-n", CRINamespace, "images", "ls", "-q").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{pause.Ref: true, hugeline.Ref: true, pause.ID: true, hugeline.ID: true}
	if refs := strings.Fields(string(out)); len(refs) != len(want) {
		t.Errorf("images in %s: %q, want %v", CRINamespace, refs, want)
	} else {
		for _, r := range refs {
			if !want[r] {
				t.Errorf("unexpected image %s in %s", r, CRINamespace)
			}
		}
	}

	// A daemon that is not there is an error naming the address.
	missing := filepath.Join(cd.Root(), "nothing.sock")
	if err := LoadContainerd(ctx, missing, pause); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("load into missing containerd: %v, want an error naming %s", err, missing)
	}
}

func TestCtrForFindsTheServingDaemon(t *testing.T) {
	needRoot(t, "containerd", "ctr")
	cd := startContainerd(t, ImageRef("pause"))
	exe, err := listenerExe(cd.Address())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(cd.Binary())
	if exe != want {
		t.Errorf("listener of %s: %s, want %s", cd.Address(), exe, want)
	}
	ctr, err := CtrFor(cd.Address())
	if err != nil || ctr != filepath.Join(filepath.Dir(exe), "ctr") {
		t.Errorf("CtrFor: %s %v, want the ctr beside %s", ctr, err, exe)
	}
	t.Setenv(EnvCtr, "/nonexistent/ctr")
	if _, err := CtrFor(cd.Address()); err == nil || !strings.Contains(err.Error(), EnvCtr) {
		t.Errorf("CtrFor with a bad %s: %v", EnvCtr, err)
	}
}

func TestLoadDocker(t *testing.T) {
	needRoot(t, "dockerd", "containerd", "runc")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pause, hugeline := buildImage(t, "pause"), buildImage(t, "hugeline")
	_, cli := startDockerd(t)

	for _, img := range []Image{pause, hugeline} {
		start := time.Now()
		if err := LoadDocker(ctx, cli, img); err != nil {
			t.Fatal(err)
		}
		t.Logf("LoadDocker %s: %v", img.Ref, time.Since(start).Round(time.Millisecond))
		got, err := cli.ImageInspect(ctx, img.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != img.ID || len(got.Config.Entrypoint) != 1 || got.Config.Entrypoint[0] != "/"+img.Name {
			t.Errorf("%s in dockerd: id %s entrypoint %q, want %s and [/%s]", img.Ref, got.ID, got.Config.Entrypoint, img.ID, img.Name)
		}
	}

	// A broken archive fails loudly, not with a silent 200.
	bad := filepath.Join(t.TempDir(), "bad.tar")
	if err := os.WriteFile(bad, []byte("not a tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := LoadDocker(ctx, cli, Image{Name: "bad", Ref: ImageRef("bad"), Tar: bad}); err == nil {
		t.Error("loading a broken archive succeeded")
	} else {
		t.Logf("broken archive: %v", err)
	}
}
