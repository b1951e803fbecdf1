package workload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RootfsSpecFile is the file that turns images/<name>/ into a rootfs image:
// when it exists, Build runs the script it names instead of `go build`, so an
// image that is not a static Go program (PHP-FPM + nginx on Debian, say)
// still needs nothing but its directory.
const RootfsSpecFile = "rootfs.json"

// rootfsScriptStop is how long a build script gets, after SIGTERM to its
// process group when ctx ends, to undo its mounts before it is SIGKILLed.
const rootfsScriptStop = 30 * time.Second

// RootfsSpec is the content of images/<name>/rootfs.json. The root filesystem
// tar has no image config of its own, so the spec carries it.
type RootfsSpec struct {
	// Script is the build script, relative to the repository root. It is run
	// from the repository root as `<script> OUT.tar`, with RELAPSE_CACHE set
	// to Build's cache dir, and must write an uncompressed or gzip tar of the
	// root filesystem to OUT.tar. It may keep its own cache there.
	Script string `json:"script"`
	// Entrypoint, Cmd, Env (KEY=value) and WorkingDir become the image's
	// runtime config.
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workdir,omitempty"`
}

// ImageConfig is the runtime config the spec gives the image.
func (s RootfsSpec) ImageConfig() ImageConfig {
	return ImageConfig{Entrypoint: s.Entrypoint, Cmd: s.Cmd, Env: s.Env, WorkingDir: s.WorkingDir}
}

// ReadRootfsSpec reads and checks images/<name>/rootfs.json. ok is false,
// with no error, when the image has no such file (a Go image).
func ReadRootfsSpec(repoRoot, name string) (spec RootfsSpec, ok bool, err error) {
	p := filepath.Join(repoRoot, "images", name, RootfsSpecFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return RootfsSpec{}, false, nil
	}
	if err != nil {
		return RootfsSpec{}, false, fmt.Errorf("reading %s: %w", p, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return RootfsSpec{}, false, fmt.Errorf("%s: %w (want {\"script\": \"scripts/x.sh\", \"entrypoint\": [...], \"cmd\": [...], \"env\": [\"K=v\"], \"workdir\": \"/\"})", p, err)
	}
	if dec.More() {
		return RootfsSpec{}, false, fmt.Errorf("%s: more than one JSON value; want one object", p)
	}
	if err := spec.check(repoRoot); err != nil {
		return RootfsSpec{}, false, fmt.Errorf("%s: %w", p, err)
	}
	return spec, true, nil
}

// check says what is wrong with a spec, as a user would fix it.
func (s RootfsSpec) check(repoRoot string) error {
	if s.Script == "" {
		return errors.New(`"script" is empty: name the script that builds the rootfs tar, relative to the repository root`)
	}
	clean := filepath.Clean(filepath.FromSlash(s.Script))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return fmt.Errorf("script %q must be a path inside the repository, relative to its root", s.Script)
	}
	st, err := os.Stat(filepath.Join(repoRoot, clean))
	if err != nil {
		return fmt.Errorf("script %q: %w", s.Script, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("script %q is not a regular file", s.Script)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("script %q is not executable: chmod +x it (it is run directly, its #! line picks the interpreter)", s.Script)
	}
	if len(s.Entrypoint) == 0 && len(s.Cmd) == 0 {
		return errors.New(`neither "entrypoint" nor "cmd" is set: a container of this image would have nothing to run`)
	}
	for _, kv := range s.Env {
		if k, _, found := strings.Cut(kv, "="); !found || k == "" {
			return fmt.Errorf("env entry %q: want KEY=value", kv)
		}
	}
	if s.WorkingDir != "" && !strings.HasPrefix(s.WorkingDir, "/") {
		return fmt.Errorf("workdir %q must be absolute", s.WorkingDir)
	}
	return nil
}

// buildRootfs is Build for an image with a rootfs.json: the archive is
// keyed by the spec, the script and every file of the image directory, so an
// unchanged image neither runs the script nor repacks (Cached set).
func buildRootfs(ctx context.Context, repoRoot, cacheDir, name string, spec RootfsSpec) (Image, error) {
	script := filepath.Join(repoRoot, filepath.FromSlash(spec.Script))
	key, err := rootfsKey(filepath.Join(repoRoot, "images", name), script, spec)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	dir := filepath.Join(cacheDir, "images")
	img := Image{Name: name, Ref: ImageRef(name), Tar: filepath.Join(dir, name+"-"+key[:16]+".tar")}
	if id, ref, err := readArchiveID(img.Tar); err == nil && ref == img.Ref {
		img.ID, img.Cached = id.String(), true
		return img, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A damaged cache entry is rebuilt, not trusted.
		_ = os.Remove(img.Tar)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	// The rootfs tar and PackRootfs' output live in a private directory on
	// the cache's filesystem; only the finished archive is renamed out of it.
	work, err := os.MkdirTemp(dir, "."+name+"-rootfs-")
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	defer os.RemoveAll(work)
	rootfs := filepath.Join(work, "rootfs.tar")
	if err := runRootfsScript(ctx, repoRoot, cacheDir, script, rootfs); err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	if st, err := os.Stat(rootfs); err != nil || !st.Mode().IsRegular() {
		return Image{}, fmt.Errorf("build image %s: %s exited 0 but did not write the rootfs tar %s it was given", name, spec.Script, rootfs)
	}
	packed, err := PackRootfs(ctx, rootfs, name, spec.ImageConfig())
	if err != nil {
		return Image{}, fmt.Errorf("build image %s from %s: %w", name, spec.Script, err)
	}
	if err := os.Rename(packed.Tar, img.Tar); err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	img.ID = packed.ID
	return img, nil
}

// runRootfsScript runs `script out` from the repository root. When ctx ends
// the script's whole process group gets SIGTERM, so a script that mounts
// (debootstrap) can undo it in its trap, and SIGKILL after rootfsScriptStop.
func runRootfsScript(ctx context.Context, repoRoot, cacheDir, script, out string) error {
	cmd := exec.CommandContext(ctx, script, out)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "RELAPSE_CACHE="+cacheDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = rootfsScriptStop
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the script left running in its group goes with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: stopped: %w", script, out, context.Cause(ctx))
		}
		return fmt.Errorf("%s %s: %w; last output:\n%s", script, out, err, lastLines(output.String(), 30))
	}
	return nil
}

// rootfsKey hashes what decides a rootfs image: the archive format, the
// spec, the script, and every file of the image directory by name and
// content (the script's inputs by convention).
func rootfsKey(src, script string, spec RootfsSpec) (string, error) {
	h := sha256.New()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s\nrootfs\n%s\n", archiveFormat, specJSON)
	all := func(string) bool { return true }
	if err := hashTree(h, src, src, all, script); err != nil {
		return "", fmt.Errorf("hash image sources: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
