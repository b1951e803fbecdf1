package workload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// RefPrefix is the registry part of every workload image reference. It is a
// domain no registry answers for, so a runtime that tries to pull one of
// these fails at once instead of fetching someone else's image.
const RefPrefix = "relapse.local/"

// archiveFormat versions the archive layout; bump it when writeArchive
// changes so cached archives are rebuilt.
const archiveFormat = "relapse-image-v1"

// Image is a workload image packed as an archive both dockerd and containerd
// load without a registry.
type Image struct {
	// Name is the image's directory under images/ (or the PackRootfs name).
	Name string
	// Ref is its reference once loaded: "relapse.local/<name>:latest".
	Ref string
	// Tar is the image archive: docker-archive and OCI layout in one tar.
	Tar string
	// ID is the config digest ("sha256:..."): dockerd's image ID and the
	// config containerd records, so a load can be verified exactly.
	ID string
	// Cached is true when Build or PackRootfs reused an archive instead of
	// making it; callers narrate it.
	Cached bool
}

// ImageConfig is the part of an image's runtime config a workload sets.
type ImageConfig struct {
	// Entrypoint is the executable and its first arguments.
	Entrypoint []string
	// Cmd is the default arguments after Entrypoint.
	Cmd []string
	// Env is KEY=value pairs.
	Env []string
	// WorkingDir is the process' working directory; empty means /.
	WorkingDir string
}

var namePattern = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)

// ImageRef is the reference a workload image is loaded under.
func ImageRef(name string) string { return RefPrefix + name + ":latest" }

// Build packs images/<name> (package main, static Go) into an image archive
// under cacheDir/images, with the binary at /<name> as its entrypoint. The
// archive is keyed by a hash of the image's sources, go.mod, go.sum and the
// Go toolchain, so an unchanged image is never rebuilt: the cached archive is
// returned with Cached set. A directory with a rootfs.json (RootfsSpec) is
// instead built by the script it names and wrapped with PackRootfs, cached
// the same way.
func Build(ctx context.Context, repoRoot, cacheDir, name string) (Image, error) {
	if !namePattern.MatchString(name) {
		return Image{}, fmt.Errorf("build image %q: want a lower-case name (a directory under images/)", name)
	}
	if cacheDir == "" {
		return Image{}, fmt.Errorf("build image %s: empty cache dir (use $RELAPSE_CACHE or $HOME/.cache/relapse)", name)
	}
	// An image directory with a rootfs.json is built by the script it names.
	if spec, ok, err := ReadRootfsSpec(repoRoot, name); err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	} else if ok {
		return buildRootfs(ctx, repoRoot, cacheDir, name, spec)
	}
	src := filepath.Join(repoRoot, "images", name)
	if err := checkGoMain(src); err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	env, err := goEnv(ctx, repoRoot)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	key, err := sourceKey(repoRoot, src, env)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	img := Image{Name: name, Ref: ImageRef(name), Tar: filepath.Join(cacheDir, "images", name+"-"+key[:16]+".tar")}
	if id, ref, err := readArchiveID(img.Tar); err == nil && ref == img.Ref {
		img.ID, img.Cached = id.String(), true
		return img, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A damaged cache entry is rebuilt, not trusted.
		_ = os.Remove(img.Tar)
	}

	bin, err := goBuild(ctx, repoRoot, name)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	layer, err := singleFileLayer(name, bin)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: layer: %w", name, err)
	}
	id, err := writeArchive(img.Tar, img.Ref, ImageConfig{Entrypoint: []string{"/" + name}}, layer)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	img.ID = id.String()
	return img, nil
}

// checkGoMain says what is wrong when src is not a Go main package directory.
func checkGoMain(src string) error {
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no directory %s: an image is a package main under images/", src)
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return nil
		}
	}
	return fmt.Errorf("%s has no Go files: Build packs static Go programs; for other images add a %s naming a rootfs build script", src, RootfsSpecFile)
}

// goEnv is the toolchain identity that goes into the cache key: a new Go
// release gives a new binary.
func goEnv(ctx context.Context, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOARCH")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env (is the Go toolchain on PATH?): %w%s", err, stderrOf(err))
	}
	return strings.Join(strings.Fields(string(out)), " "), nil
}

// sourceKey hashes everything that decides the binary: the image directory's
// files but tests (names and contents), go.mod, go.sum, the toolchain and the
// archive format.
func sourceKey(repoRoot, src, toolchain string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", archiveFormat, toolchain)
	// Tests do not go into the binary: changing one keeps the cache.
	notTest := func(p string) bool { return !strings.HasSuffix(p, "_test.go") }
	if err := hashTree(h, repoRoot, src, notTest, filepath.Join(repoRoot, "go.mod"), filepath.Join(repoRoot, "go.sum")); err != nil {
		return "", fmt.Errorf("hash sources: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree writes into h every regular file below dir that keep accepts,
// sorted, then the extra files, each as its path relative to base and its
// content: the cache key of an image's inputs.
func hashTree(h io.Writer, base, dir string, keep func(path string) bool, extra ...string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && keep(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, p := range append(files, extra...) {
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\n", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// goBuild builds ./images/<name> as a static linux binary and returns it.
func goBuild(ctx context.Context, repoRoot, name string) ([]byte, error) {
	out, err := os.MkdirTemp("", "relapse-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", bin, "./images/"+name)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./images/%s: %w\n%s", name, err, strings.TrimSpace(stderr.String()))
	}
	return os.ReadFile(bin)
}

// stderrOf returns an exec.ExitError's stderr, for error messages.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
