package workload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mkrootScript builds a tiny rootfs: the image directory's files under
// /app, plus /etc/built-by naming its working directory and RELAPSE_CACHE.
// Each run appends a line to $MKROOT_RUNS, so a test can count runs.
const mkrootScript = `#!/bin/sh
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT.tar" >&2; exit 2; }
echo run >>"$MKROOT_RUNS"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/etc" "$stage/app"
echo "$(pwd) $RELAPSE_CACHE" >"$stage/etc/built-by"
cp images/app/app.conf "$stage/app/"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$stage" -cf "$1" .
`

// fakeRepo makes a repository root with images/app (a rootfs.json and one
// file) and scripts/<script name> holding body.
func fakeRepo(t *testing.T, spec, script, body string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range map[string]string{
		"go.mod":                 "module example.com/fake\n",
		"images/app/app.conf":    "v1\n",
		"images/app/rootfs.json": spec,
	} {
		writeFile(t, filepath.Join(root, p), data, 0o644)
	}
	if script != "" {
		writeFile(t, filepath.Join(root, "scripts", script), body, 0o755)
	}
	return root
}

func writeFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func runsOf(t *testing.T, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

func TestBuildRunsRootfsScriptAndCaches(t *testing.T) {
	ctx := context.Background()
	const spec = `{"script": "scripts/mkroot.sh", "entrypoint": ["/app/run"], "cmd": ["-v"], "env": ["PORT=8080"], "workdir": "/app"}`
	root := fakeRepo(t, spec, "mkroot.sh", mkrootScript)
	cache := t.TempDir()
	runs := filepath.Join(t.TempDir(), "runs")
	t.Setenv("MKROOT_RUNS", runs)

	img, err := Build(ctx, root, cache, "app")
	if err != nil {
		t.Fatal(err)
	}
	if img.Cached || img.Ref != ImageRef("app") || filepath.Dir(img.Tar) != filepath.Join(cache, "images") || runsOf(t, runs) != 1 {
		t.Fatalf("first build %+v after %d script runs: want a fresh archive in %s/images from one run", img, runsOf(t, runs), cache)
	}
	cfg := checkArchive(t, img)
	c := cfg.Config
	if strings.Join(c.Entrypoint, " ") != "/app/run" || strings.Join(c.Cmd, " ") != "-v" ||
		strings.Join(c.Env, " ") != "PORT=8080" || c.WorkingDir != "/app" {
		t.Errorf("image config %+v: want rootfs.json's entrypoint, cmd, env and workdir", c)
	}
	lf := layerFiles(t, img)
	if got := string(lf["./app/app.conf"].data); got != "v1\n" {
		t.Errorf("layer /app/app.conf = %q, want the script's output", got)
	}
	if got, want := string(lf["./etc/built-by"].data), root+" "+cache+"\n"; got != want {
		t.Errorf("script ran in/with %q, want repo root and RELAPSE_CACHE %q", got, want)
	}
	// Nothing but the archive is left in the cache: the rootfs tar and
	// PackRootfs' key file went with the private work directory.
	entries, err := os.ReadDir(filepath.Join(cache, "images"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(img.Tar) {
		t.Errorf("cache holds %v, want only %s", entries, filepath.Base(img.Tar))
	}

	again, err := Build(ctx, root, cache, "app")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Tar != img.Tar || again.ID != img.ID || runsOf(t, runs) != 1 {
		t.Fatalf("second build %+v after %d runs: want the cached %s without running the script", again, runsOf(t, runs), img.Tar)
	}

	// A changed file of the image directory reruns the script.
	writeFile(t, filepath.Join(root, "images/app/app.conf"), "v2\n", 0o644)
	changed, err := Build(ctx, root, cache, "app")
	if err != nil {
		t.Fatal(err)
	}
	if changed.Cached || changed.ID == img.ID || runsOf(t, runs) != 2 {
		t.Errorf("after editing app.conf: %+v, %d runs; want a new image from a second run", changed, runsOf(t, runs))
	}
	// So does a changed image config.
	writeFile(t, filepath.Join(root, "images/app/rootfs.json"), strings.Replace(spec, "8080", "9090", 1), 0o644)
	reconf, err := Build(ctx, root, cache, "app")
	if err != nil {
		t.Fatal(err)
	}
	if reconf.Cached || reconf.ID == changed.ID || checkArchive(t, reconf).Config.Env[0] != "PORT=9090" {
		t.Errorf("after editing rootfs.json: %+v; want a new image with PORT=9090", reconf)
	}

	// A damaged archive is rebuilt, not trusted.
	if err := os.WriteFile(reconf.Tar, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	fixed, err := Build(ctx, root, cache, "app")
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Cached || fixed.ID != reconf.ID {
		t.Errorf("after damage: %+v, want a rebuild with ID %s", fixed, reconf.ID)
	}
}

func TestBuildRootfsRejectsBadSpecs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, spec, script, body string
		mode                     os.FileMode
		want                     string
	}{
		{"bad json", `{"script": `, "", "", 0, "rootfs.json"},
		{"unknown field", `{"script": "scripts/s.sh", "entrypoint": ["/x"], "entrypiont": []}`, "s.sh", mkrootScript, 0o755, `unknown field "entrypiont"`},
		{"two values", `{"script": "scripts/s.sh", "entrypoint": ["/x"]} {}`, "s.sh", mkrootScript, 0o755, "one object"},
		{"no script", `{"entrypoint": ["/x"]}`, "", "", 0, `"script" is empty`},
		{"outside repo", `{"script": "../s.sh", "entrypoint": ["/x"]}`, "", "", 0, "inside the repository"},
		{"absolute", `{"script": "/bin/true", "entrypoint": ["/x"]}`, "", "", 0, "inside the repository"},
		{"missing script", `{"script": "scripts/none.sh", "entrypoint": ["/x"]}`, "", "", 0, "no such file"},
		{"not executable", `{"script": "scripts/s.sh", "entrypoint": ["/x"]}`, "s.sh", mkrootScript, 0o644, "chmod +x"},
		{"nothing to run", `{"script": "scripts/s.sh"}`, "s.sh", mkrootScript, 0o755, "nothing to run"},
		{"bad env", `{"script": "scripts/s.sh", "entrypoint": ["/x"], "env": ["PORT"]}`, "s.sh", mkrootScript, 0o755, "KEY=value"},
		{"relative workdir", `{"script": "scripts/s.sh", "entrypoint": ["/x"], "workdir": "app"}`, "s.sh", mkrootScript, 0o755, "absolute"},
		{"script fails", `{"script": "scripts/s.sh", "entrypoint": ["/x"]}`, "s.sh", "#!/bin/sh\necho no mirror reachable >&2\nexit 3\n", 0o755, "no mirror reachable"},
		{"script writes nothing", `{"script": "scripts/s.sh", "entrypoint": ["/x"]}`, "s.sh", "#!/bin/sh\nexit 0\n", 0o755, "did not write"},
		{"script writes junk", `{"script": "scripts/s.sh", "entrypoint": ["/x"]}`, "s.sh", "#!/bin/sh\necho junk >\"$1\"\n", 0o755, "not a tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRepo(t, tc.spec, "", "")
			if tc.script != "" {
				writeFile(t, filepath.Join(root, "scripts", tc.script), tc.body, tc.mode)
			}
			t.Setenv("MKROOT_RUNS", filepath.Join(t.TempDir(), "runs"))
			cache := t.TempDir()
			_, err := Build(ctx, root, cache, "app")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v, want an error saying %q", err, tc.want)
			}
			// A failed build leaves no archive and no work directory.
			if entries, _ := os.ReadDir(filepath.Join(cache, "images")); len(entries) != 0 {
				t.Errorf("failed build left %v in the cache", entries)
			}
		})
	}
}

// TestBuildRootfsStopsScriptOnCancel checks a cancelled build stops the
// script's whole process group, gracefully first (its trap runs).
func TestBuildRootfsStopsScriptOnCancel(t *testing.T) {
	state := t.TempDir()
	body := `#!/bin/sh
trap 'echo trapped >` + state + `/trap; exit 1' TERM
sleep 600 &
echo $! >` + state + `/child
wait
`
	root := fakeRepo(t, `{"script": "scripts/slow.sh", "entrypoint": ["/x"]}`, "slow.sh", body)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Build(ctx, root, t.TempDir(), "app")
		done <- err
	}()
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the script did not start its child within 10s")
		}
		if b, err := os.ReadFile(filepath.Join(state, "child")); err == nil && strings.HasSuffix(string(b), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled build: %v, want context.Canceled", err)
		}
	case <-time.After(rootfsScriptStop + 5*time.Second):
		t.Fatal("Build did not return after cancel")
	}
	if _, err := os.Stat(filepath.Join(state, "trap")); err != nil {
		t.Errorf("the script's TERM trap did not run: %v", err)
	}
	// A killed child stays a zombie until init reaps it: give that a moment.
	err := syscall.Kill(child, 0)
	for deadline := time.Now().Add(2 * time.Second); err == nil && time.Now().Before(deadline); err = syscall.Kill(child, 0) {
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the script's child %d survived the cancel (kill 0: %v)", child, err)
	}
}

// TestPhpUploadRootfsSpec checks the real php-upload image is a valid rootfs
// image without building it (that takes a debootstrap).
func TestPhpUploadRootfsSpec(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	spec, ok, err := ReadRootfsSpec(root, "php-upload")
	if err != nil || !ok {
		t.Fatalf("php-upload rootfs.json: ok=%v %v", ok, err)
	}
	if spec.Entrypoint[0] != "/usr/local/bin/php-upload-entrypoint" {
		t.Errorf("entrypoint %v", spec.Entrypoint)
	}
	if _, ok, err := ReadRootfsSpec(root, "pause"); ok || err != nil {
		t.Errorf("pause (a Go image): ok=%v %v, want no rootfs spec", ok, err)
	}
}
