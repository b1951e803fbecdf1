package bisect

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SourceBuilder builds commits of a local clone: each commit's tree is
// exported (git archive) into a private directory and Make builds it into
// a directory of its own, kept under Dir/<commit> so a second bisection
// over the same commits builds nothing. Make is what differs between
// runtimes: go build for a toy daemon, scripts/build-containerd.sh for a
// containerd clone, the same script that builds proxy tags.
type SourceBuilder struct {
	Repo string
	Dir  string
	// Make builds the source tree src of commit into out (which exists and
	// is empty).
	Make func(ctx context.Context, commit, src, out string) error
}

// doneFile marks a finished build: a build interrupted halfway is redone.
const doneFile = ".built"

// Build implements Builder: it returns the build's directory.
func (b SourceBuilder) Build(ctx context.Context, commit string) (string, error) {
	out := filepath.Join(b.Dir, commit)
	if _, err := os.Stat(filepath.Join(out, doneFile)); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	work, err := os.MkdirTemp(b.Dir, ".build-")
	if err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	defer os.RemoveAll(work)
	src, stage := filepath.Join(work, "src"), filepath.Join(work, "out")
	for _, d := range []string{src, stage} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
	}
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", b.Repo, commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("exporting %s from %s: %w: %s", commit, b.Repo, err, oneLine(string(out)))
	}
	if err := b.Make(ctx, commit, src, stage); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(stage, doneFile), nil, 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(out)
	if err := os.Rename(stage, out); err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	return out, nil
}

// GoBuild is a Make for a clone whose main package is at its root: a
// static build with the local toolchain and no network.
func GoBuild(binary string) func(ctx context.Context, commit, src, out string) error {
	return func(ctx context.Context, _, src, out string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(out, binary), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOPROXY=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w: %s", err, oneLine(string(b)))
		}
		return nil
	}
}

// ScriptBuild is a Make for a containerd clone: scripts/build-containerd.sh
// builds the exported tree into out (RELAPSE_CONTAINERD_SOURCE and
// RELAPSE_CONTAINERD_OUT), the same build as a proxy tag's, stamped with
// the commit's `git describe` (v2.3.4-12-g0123456789ab), so the sandbox
// sees the release line it belongs to (containerd 2.x takes another
// config version than 1.x).
func ScriptBuild(script, repo string, w io.Writer) func(ctx context.Context, commit, src, out string) error {
	return func(ctx context.Context, commit, src, out string) error {
		d, err := git(ctx, repo, "describe", "--tags", "--long", "--abbrev=12", "--match", "v[0-9]*", commit)
		if err != nil {
			return fmt.Errorf("naming %s: %w; the clone needs its release tags (git fetch --tags)", commit, err)
		}
		cmd := exec.CommandContext(ctx, "bash", script, strings.TrimPrefix(strings.TrimSpace(d), "v"))
		cmd.Env = append(os.Environ(), "RELAPSE_CONTAINERD_SOURCE="+src, "RELAPSE_CONTAINERD_OUT="+out)
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bash %s (from %s at %s): %w", script, repo, Short(commit), err)
		}
		return nil
	}
}
