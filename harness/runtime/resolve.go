package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Environment variables that point relapse at a runtime binary or a user's
// configuration instead of the one found on PATH or rendered by relapse.
const (
	EnvContainerd       = "RELAPSE_CONTAINERD"
	EnvContainerdConfig = "RELAPSE_CONTAINERD_CONFIG"
	EnvDockerd          = "RELAPSE_DOCKERD"
	EnvDockerdConfig    = "RELAPSE_DOCKERD_CONFIG"
	EnvCache            = "RELAPSE_CACHE"
)

// TemplateConfig, as ContainerdOptions.ConfigFile or DockerdOptions.ConfigFile,
// means relapse's own configuration even when RELAPSE_CONTAINERD_CONFIG or
// RELAPSE_DOCKERD_CONFIG is set: incident variants must run with their own
// knobs, while a regression run judges the user's file.
const TemplateConfig = "relapse:template"

// userConfigPath picks the user's config file: the option, else the
// environment variable; "" when relapse's template is to be used.
func userConfigPath(option, envVar string) string {
	switch option {
	case TemplateConfig:
		return ""
	case "":
		return os.Getenv(envVar)
	}
	return option
}

// CacheDir is where relapse keeps what persists between runs (built images,
// fetched runtimes): $RELAPSE_CACHE, or $HOME/.cache/relapse.
func CacheDir() (string, error) {
	if d := os.Getenv(EnvCache); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("relapse cache: neither %s nor HOME is set: %w", EnvCache, err)
	}
	return filepath.Join(home, ".cache", "relapse"), nil
}

// Resolve returns the binary of a cached runtime build, so a scenario can
// name a version (e.g. containerd "1.7.18") instead of a path. Builds live in
// $RELAPSE_CACHE/runtimes/<kind>-<version>/<kind> (a binary or a symlink to
// one); scripts/runtimes.sh puts them there.
func Resolve(kind Kind, version string) (string, error) {
	if kind != Containerd && kind != Dockerd {
		return "", fmt.Errorf("resolve runtime: unknown kind %q (want %q or %q)", kind, Containerd, Dockerd)
	}
	return resolveCached(string(kind), version)
}

// ResolveEntry returns the binary of a runtime cache entry named
// "<containerd|dockerd|runc>-<version>" (what a plan's Builds lists).
func ResolveEntry(entry string) (string, error) {
	name, version, _ := strings.Cut(entry, "-")
	switch name {
	case string(Containerd), string(Dockerd), runcName:
		return resolveCached(name, version)
	}
	return "", fmt.Errorf("runtime cache entry %q: want <containerd|dockerd|runc>-<version>", entry)
}

// runcName is the OCI runtime binary and its cache entries' prefix.
const runcName = "runc"

// resolveCached finds $RELAPSE_CACHE/runtimes/<name>-<version>/<name>.
func resolveCached(name, version string) (string, error) {
	if version == "" {
		return "", fmt.Errorf("resolve %s: empty version", name)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, "runtimes", fmt.Sprintf("%s-%s", name, version), name)
	if err := checkExecutable(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s %s is not in the relapse cache (looked for %s): run `bash scripts/runtimes.sh %s-%s` to build or fetch it (`make matrix` does)", name, version, p, name, version)
		}
		return "", fmt.Errorf("%s %s in the relapse cache is unusable: %w; remove %s and run `bash scripts/runtimes.sh %s-%s`", name, version, err, filepath.Dir(p), name, version)
	}
	return p, nil
}

// pairedDirs are the directories a daemon's PATH starts with: the cached
// runc (when named), the daemon binary's own directory (symlinks resolved,
// so a build finds the shim and helpers of its own package) and, for a
// dockerd, the cached containerd it starts (with that build's shim). A
// daemon finds each of these by name on its PATH, first match wins.
func pairedDirs(binary, runcVersion, containerdVersion string) ([]string, error) {
	var dirs []string
	if runcVersion != "" {
		r, err := resolveCached(runcName, runcVersion)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Dir(r))
	}
	dirs = append(dirs, binaryDir(binary))
	if containerdVersion != "" {
		c, err := resolveCached(string(Containerd), containerdVersion)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, binaryDir(c))
	}
	return dirs, nil
}

// binaryDir is the directory of binary with symlinks resolved.
func binaryDir(binary string) string {
	if real, err := filepath.EvalSymlinks(binary); err == nil {
		return filepath.Dir(real)
	}
	return filepath.Dir(binary)
}

// findBinary picks the daemon binary: an explicit path, a cached version, the
// environment variable, or PATH, in that order.
func findBinary(kind Kind, explicit, version, envVar string) (string, error) {
	switch {
	case explicit != "" && version != "":
		return "", fmt.Errorf("%s: both Binary (%s) and Version (%s) are set; set one", kind, explicit, version)
	case explicit != "":
		p, err := filepath.Abs(explicit)
		if err != nil {
			return "", fmt.Errorf("%s binary %s: %w", kind, explicit, err)
		}
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s binary: %w", kind, err)
		}
		return p, nil
	case version != "":
		return Resolve(kind, version)
	}
	if env := os.Getenv(envVar); env != "" {
		p, err := filepath.Abs(env)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", envVar, env, err)
		}
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w; point it at a %s binary or unset it", envVar, env, err, kind)
		}
		return p, nil
	}
	p, err := exec.LookPath(string(kind))
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH (install it with scripts/install-deps.sh, or set %s to a binary): %w", kind, envVar, err)
	}
	return filepath.Abs(p)
}

// checkExecutable says why p cannot be run as a daemon binary, if it cannot.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode())
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable (%s)", p, fi.Mode().Perm())
	}
	return nil
}

var versionPattern = regexp.MustCompile(`\bv?(\d+\.\d+\.\d+)`)

// parseVersion extracts "1.6.20" from `containerd --version` ("containerd
// github.com/containerd/containerd 1.6.20~ds1 ...", "... v2.0.0 ...") or
// "20.10.24" from `dockerd --version` ("Docker version 20.10.24+dfsg1, ...").
func parseVersion(out string) (string, error) {
	m := versionPattern.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no version (x.y.z) in %q", strings.TrimSpace(out))
	}
	return m[1], nil
}

// binaryVersion runs `binary --version` and parses what it prints.
func binaryVersion(ctx context.Context, binary string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w (output: %q)", binary, err, strings.TrimSpace(string(out)))
	}
	v, err := parseVersion(string(out))
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", binary, err)
	}
	return v, nil
}

// majorVersion returns the leading number of "2.0.0".
func majorVersion(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// daemonEnv is the environment a daemon runs with: the harness' own, with
// dirs first on PATH (see pairedDirs) and TMPDIR inside the instance's root.
func daemonEnv(tmp string, dirs []string) []string {
	var env []string
	path := strings.Join(dirs, string(os.PathListSeparator))
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PATH="):
			if p := strings.TrimPrefix(kv, "PATH="); p != "" {
				path += string(os.PathListSeparator) + p
			}
		case strings.HasPrefix(kv, "TMPDIR="), strings.HasPrefix(kv, "NOTIFY_SOCKET="):
			// TMPDIR is replaced; NOTIFY_SOCKET would make the daemon talk to
			// the host's service manager.
		default:
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+path, "TMPDIR="+tmp)
}
