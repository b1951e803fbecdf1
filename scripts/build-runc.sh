#!/usr/bin/env bash
# build-runc.sh VERSION...: puts runc releases into the relapse cache, built
# from the Go module proxy, so a cell can name its runc
# (containerd-2.3.5/runc-1.3.6) and a dockerd can run with a runc it
# supports.
#
#   $RELAPSE_CACHE/runtimes/runc-VERSION/runc       (default cache: $HOME/.cache/relapse)
#   $RELAPSE_CACHE/runtimes/runc-VERSION/BUILDINFO  (how it was built)
#
# runc is built with `go install -tags seccomp` and cgo against Debian's
# libseccomp-dev (scripts/install-deps.sh installs it), the version stamped
# in so `runc --version` reports it. Debian's own runc packages are not
# used: trixie's 1.1.15 and forky's 1.3.6 both need GLIBC 2.38, newer than
# bookworm's 2.36 (scripts/fetch-deb.sh says so when asked for them). The
# machine's own runc (bookworm 1.1.5) is linked when it is exactly VERSION.
#
# A second run finds the cached copy and does nothing. Environment:
#   RELAPSE_CACHE       cache root (default $HOME/.cache/relapse)
#   RELAPSE_BUILD_JOBS  parallel compile jobs (go build -p), default 1
#   GO                  the go command (default go)
set -euo pipefail

prog=build-runc
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: $prog VERSION... (a runc release without the leading v, e.g. 1.3.6)" >&2; exit 2; }

GO=${GO:-go}
jobs=${RELAPSE_BUILD_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "RELAPSE_BUILD_JOBS='$jobs' is not a positive number of jobs"
cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
mod=github.com/opencontainers/runc

for version in "$@"; do
  version=${version#v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$version' is not a runc release version (want MAJOR.MINOR.PATCH, e.g. 1.3.6)"
  dest=$cache/runtimes/runc-$version
  if [ -x "$dest/runc" ]; then
    echo "$prog: runc $version already cached at $dest (nothing to do)"
    continue
  fi
  start=$(date +%s)
  mkdir -p "$cache/runtimes"
  stage=$(mktemp -d "$cache/runtimes/.runc-$version.XXXXXX")
  chmod 755 "$stage"
  # shellcheck disable=SC2064 # expand $stage now: it changes per version
  trap "rm -rf '$stage'" EXIT
  sys=$(runc --version 2>/dev/null | sed -n 's/^runc version \([0-9.]*\).*/\1/p' || true)
  if [ "$sys" = "$version" ]; then
    ln -s "$(command -v runc)" "$stage/runc"
    echo "source: the system's runc $(dpkg-query -W -f '${Version}' runc 2>/dev/null || echo '?'), linked from $(command -v runc)" >"$stage/BUILDINFO"
  else
    command -v "$GO" >/dev/null || die "needs Go ($GO) to build runc $version"
    [ -r /usr/include/seccomp.h ] || die "runc is built with seccomp: install Debian's libseccomp-dev (scripts/install-deps.sh does)"
    echo "$prog: building runc $version from the Go module proxy (go install -tags seccomp, cgo)"
    env GOTOOLCHAIN=local CGO_ENABLED=1 GOBIN="$stage" GOFLAGS=-buildvcs=false nice -n 10 \
      "$GO" install -p "$jobs" -trimpath -tags seccomp \
      -ldflags "-s -w -X main.version=$version -X main.gitCommit=v$version" "$mod@v$version" ||
      die "go install $mod@v$version failed (see above); is v$version a release on the Go module proxy? (go list -m -versions $mod)"
    echo "source: go install -tags seccomp $mod@v$version (cgo, libseccomp $(dpkg-query -W -f '${Version}' libseccomp-dev 2>/dev/null || echo '?')); $("$GO" version)" >"$stage/BUILDINFO"
  fi
  out=$("$stage/runc" --version 2>&1) || die "$stage/runc --version failed: $out"
  grep -q "^runc version $version" <<<"$out" || die "the built runc reports '$out', not $version"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(($(date +%s) - start))s" >>"$stage/BUILDINFO"
  rm -rf "$dest"
  mv "$stage" "$dest"
  trap - EXIT
  echo "$prog: runc $version cached at $dest/runc in $(($(date +%s) - start))s ($(head -1 <<<"$out"))"
done
