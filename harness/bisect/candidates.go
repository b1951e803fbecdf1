package bisect

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// Module is the Go module a containerd release is tagged in: 2.x moved to
// the /v2 module path.
func Module(version string) string {
	if semver.Major(version) == "v1" {
		return "github.com/containerd/containerd"
	}
	return "github.com/containerd/containerd/" + semver.Major(version)
}

// Tags are the module's release tags from good to bad inclusive, in
// version order, from a `go list -m -versions` listing. Pre-releases are
// left out unless asked for. Both ends must be listed tags: a typo or a tag
// the proxy does not serve is named, with the tags it does serve nearby.
func Tags(listing []string, good, bad string, prereleases bool) ([]string, error) {
	for _, end := range []string{good, bad} {
		if !semver.IsValid(end) {
			return nil, fmt.Errorf("%q is not a release tag: want vMAJOR.MINOR.PATCH, e.g. v2.3.4", end)
		}
		if !slices.Contains(listing, end) {
			return nil, fmt.Errorf("unknown tag %s: the module proxy lists %s; pick ends from those", end, near(listing, end))
		}
	}
	lo, hi := good, bad
	if semver.Compare(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	var out []string
	for _, v := range listing {
		if semver.Compare(v, lo) < 0 || semver.Compare(v, hi) > 0 {
			continue
		}
		if semver.Prerelease(v) != "" && !prereleases && v != good && v != bad {
			continue
		}
		out = append(out, v)
	}
	semver.Sort(out)
	if semver.Compare(good, bad) > 0 {
		// Searching backwards in versions: from good down to bad.
		slices.Reverse(out)
	}
	if len(out) < 3 {
		return nil, fmt.Errorf("%w: the module proxy lists nothing between %s and %s; if their verdicts differ, %s is the change itself; widen the range to bisect", ErrNoCandidates, good, bad, bad)
	}
	return out, nil
}

// near lists the tags of the same minor line as v, or the last few.
func near(listing []string, v string) string {
	var same []string
	for _, t := range listing {
		if semver.MajorMinor(t) == semver.MajorMinor(v) {
			same = append(same, t)
		}
	}
	if len(same) == 0 {
		same = listing[max(0, len(listing)-6):]
	}
	if len(same) == 0 {
		return "no tags"
	}
	return strings.Join(same, " ")
}

// ListVersions runs `go list -m -versions module` (the module proxy's
// listing) and returns the versions.
func ListVersions(ctx context.Context, module string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-versions", module)
	cmd.Dir = "/"
	cmd.Env = append(cmd.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m -versions %s: %w%s", module, err, stderrOf(err))
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return nil, fmt.Errorf("go list -m -versions %s: the module proxy lists no versions", module)
	}
	return f[1:], nil
}

// Commits are good and the first-parent commits after it up to bad, oldest
// first (`git rev-list --first-parent --reverse good..bad`), as full
// hashes. An unknown revision or an empty range is named.
func Commits(ctx context.Context, repo, good, bad string) ([]string, error) {
	if _, err := git(ctx, repo, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("%s is not a git clone: -repo takes the directory of a local clone of the runtime", repo)
	}
	var ends []string
	for _, rev := range []string{good, bad} {
		h, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
		if err != nil {
			return nil, fmt.Errorf("unknown revision %q in %s: give a commit, tag or branch of that clone (git -C %s log --oneline)", rev, repo, repo)
		}
		ends = append(ends, strings.TrimSpace(h))
	}
	out, err := git(ctx, repo, "rev-list", "--first-parent", "--reverse", ends[0]+".."+ends[1])
	if err != nil {
		return nil, err
	}
	list := strings.Fields(out)
	switch len(list) {
	case 0:
		return nil, fmt.Errorf("%w: %s..%s has no commits; is %s an ancestor of %s on the first-parent line?", ErrNoCandidates, good, bad, good, bad)
	case 1:
		return nil, fmt.Errorf("%w: %s is the only commit after %s; if their verdicts differ, it is the change itself; widen the range to bisect", ErrNoCandidates, bad, good)
	}
	return append([]string{ends[0]}, list...), nil
}

func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w%s", strings.Join(args, " "), repo, err, stderrOf(err))
	}
	return string(out), nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return ": " + oneLine(string(ee.Stderr))
	}
	return ""
}
