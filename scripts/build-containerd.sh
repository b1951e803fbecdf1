#!/usr/bin/env bash
# build-containerd.sh VERSION...: puts containerd releases into the relapse
# cache without a registry, built from the Go module proxy (or linked from the
# system's package when that is the version asked for), so a scenario or a
# nightly matrix job can run an exact containerd version.
#
# Each version lands in
#
#   $RELAPSE_CACHE/runtimes/containerd-VERSION/containerd               (default cache: $HOME/.cache/relapse)
#   $RELAPSE_CACHE/runtimes/containerd-VERSION/containerd-shim-runc-v2
#   $RELAPSE_CACHE/runtimes/containerd-VERSION/ctr
#   $RELAPSE_CACHE/runtimes/containerd-VERSION/BUILDINFO                (how it was built)
#
# The shim must come from the same build: containerd looks for
# containerd-shim-runc-v2 on its PATH first and only then next to its own
# executable, so a sandbox running a cached containerd must put that
# directory (symlinks resolved) first on the daemon's PATH. relapse's runtime
# package does this (daemonEnv); anything else starting these binaries must
# too. runc is taken from PATH (the machine's runc).
#
# How a version is obtained:
#   - Debian's package, for the versions in the DEBIAN table below (the
#     containerd a Debian release ships with its docker.io): downloaded and
#     unpacked by scripts/fetch-deb.sh (never installed), with the shim and
#     ctr of the same package; the cell's binaries link into deb/usr/bin, so
#     the sandbox's PATH (symlinks resolved) finds that package's shim.
#       1.4.13  Debian bullseye containerd 1.4.13~ds1-1~deb11u6 (bullseye-security; bullseye's docker.io 20.10.5 runs on it)
#       1.7.24  Debian trixie containerd 1.7.24~ds1-6+deb13u1 (trixie's docker.io 26.1.5 runs on it)
#       2.1.9   Debian forky containerd 2.1.9+ds1-5 (forky's docker.io 28.5.2 runs on it)
#   - the system's package, when /usr/bin/containerd is exactly VERSION (on
#     Debian bookworm 1.6.20, installed by scripts/install-deps.sh): symlinks
#     to /usr/bin, so the version measured is the one the distribution ships;
#   - otherwise (1.6.x, 1.7.x, 2.x): go mod download
#     github.com/containerd/containerd[/v2]@vVERSION, then go build -mod=mod
#     in a private copy of the module. `go install mod@version` would be
#     simpler, but it refuses a go.mod with exclude directives, which 1.7.x
#     and later 2.0.x releases have (2.0.0 has none; 2.0.14 has).
# Builds are static (CGO_ENABLED=0) with the btrfs, devmapper and zfs
# snapshotters left out (relapse uses overlayfs; btrfs needs cgo), and the
# version stamped in so `containerd --version` reports it.
#
# A second run finds the cached copy and does nothing. Environment:
#   RELAPSE_CACHE         cache root (default $HOME/.cache/relapse)
#   RELAPSE_CONTAINERD_SOURCE=DIR RELAPSE_CONTAINERD_OUT=DIR
#                         build one commit of a clone instead (relapse bisect
#                         -repo): DIR's tree, stamped VERSION (e.g. its git
#                         describe, 2.3.4-12-g0123456789ab), into OUT, with the
#                         same flags as a proxy tag's build
#   RELAPSE_CONTAINERD_FROM_SOURCE=1
#                         build even when the system's or Debian's package is VERSION
#   RELAPSE_BUILD_JOBS    parallel compile jobs (go build -p), default 1:
#                         the machine's cores are shared with the runs
#   GO                    the go command (default go)
set -euo pipefail

prog=build-containerd
here=$(cd "$(dirname "$0")" && pwd)

# VERSION -> "suite debian-version" of the containerd package.
declare -A DEBIAN=(
  [1.4.13]="bullseye 1.4.13~ds1-1~deb11u6"
  [1.7.24]="trixie 1.7.24~ds1-6+deb13u1"
  [2.1.9]="forky 2.1.9+ds1-5"
)

die() { echo "$prog: $*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $prog VERSION...
  VERSION is a containerd release without the leading v, e.g. 1.6.20, 1.7.18 or 2.0.14.
  The system's /usr/bin/containerd is linked when it is exactly VERSION;
  otherwise 1.6.x, 1.7.x and 2.x are built from the Go module proxy.
EOF
  exit 2
}

[ $# -ge 1 ] || usage
for a in "$@"; do
  case $a in
    -h | --help) usage ;;
  esac
done

GO=${GO:-go}
jobs=${RELAPSE_BUILD_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "RELAPSE_BUILD_JOBS='$jobs' is not a positive number of jobs"
cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
tags="no_btrfs no_devmapper no_zfs"
binaries=(containerd containerd-shim-runc-v2 ctr)

# Everything temporary lives under one private root, removed on any exit.
mkdir -p /tmp/relapse
work=$(mktemp -d /tmp/relapse/build-containerd-XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

cached() {
  local dir=$1 b
  for b in "${binaries[@]}"; do
    [ -x "$dir/$b" ] || return 1
  done
}

# reported VERSION BINARY: fail unless `BINARY --version` names VERSION.
reported() {
  local version=$1 bin=$2 out
  out=$("$bin" --version 2>&1) || die "$bin --version failed: $out"
  grep -Eq "(^|[^0-9.])v?${version//./\\.}([^0-9]|$)" <<<"$out" ||
    die "$bin reports '$out', not containerd $version"
  echo "$out"
}

# go_env runs the go command with what every build here shares: a local
# toolchain (never download another), no cgo, low priority.
go_env() {
  env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 "$GO" "$@"
}

# system_has VERSION: the machine's packaged containerd (with its shim and
# ctr) is exactly VERSION.
system_has() {
  local version=$1 b out
  for b in "${binaries[@]}"; do
    [ -x "/usr/bin/$b" ] || return 1
  done
  out=$(/usr/bin/containerd --version 2>/dev/null) || return 1
  grep -Eq "(^|[^0-9.])v?${version//./\\.}([^0-9]|$)" <<<"$out"
}

link_system() {
  local version=$1 stage=$2 b pkg
  for b in "${binaries[@]}"; do
    ln -s "/usr/bin/$b" "$stage/$b"
  done
  pkg=$(dpkg-query -S /usr/bin/containerd 2>/dev/null | cut -d: -f1 || true)
  echo "source: the system's package ${pkg:-(unknown)}=$(dpkg-query -W -f '${Version}' "${pkg:-containerd}" 2>/dev/null || echo '?'), linked from /usr/bin" >"$stage/BUILDINFO"
}

# build_module VERSION STAGE MODULE: downloads MODULE@vVERSION from the Go
# module proxy and builds the binaries in a private copy of it.
build_module() {
  local version=$1 stage=$2 mod=$3 dir
  dir=$(cd "$work" && go_env mod download -json "$mod@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [ -n "$dir" ] && [ -f "$dir/go.mod" ] ||
    die "go mod download $mod@v$version failed; is v$version a release on the Go module proxy? (go list -m -versions $mod)"
  build_tree "$version" "$stage" "$mod" "$dir"
  echo "source: go mod download $mod@v$version; go build -mod=mod ./cmd/{$(IFS=,; echo "${binaries[*]}")}" >"$stage/BUILDINFO"
}

# build_tree VERSION STAGE MODULE DIR: builds the binaries of the source
# tree DIR (module MODULE) into STAGE, stamped VERSION.
build_tree() {
  local version=$1 stage=$2 mod=$3 dir=$4 src pkgs=() b
  # The module cache is read-only and -mod=mod may rewrite go.mod/go.sum:
  # build in a private copy.
  src=$work/src-$version
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  for b in "${binaries[@]}"; do
    pkgs+=("./cmd/$b")
  done
  (cd "$src" && go_env build -mod=mod -p "$jobs" -trimpath -tags "$tags" -o "$stage/" \
    -ldflags "-s -w -X $mod/version.Version=$version -X $mod/version.Revision=v$version" "${pkgs[@]}") ||
    die "go build of containerd v$version failed (see above)"
}

# fetch_debian VERSION STAGE: Debian's containerd package, unpacked in
# STAGE/deb, its binaries linked from STAGE.
fetch_debian() {
  local version=$1 stage=$2 suite debver b checks=()
  read -r suite debver <<<"${DEBIAN[$version]}"
  for b in "${binaries[@]}"; do
    checks+=("usr/bin/$b")
  done
  bash "$here/fetch-deb.sh" "$suite" containerd "$debver" "$stage/deb" "${checks[@]}"
  for b in "${binaries[@]}"; do
    ln -s "deb/usr/bin/$b" "$stage/$b"
  done
  echo "source: Debian $suite containerd=$debver (scripts/fetch-deb.sh), with its own shim" >"$stage/BUILDINFO"
}

source_dir=${RELAPSE_CONTAINERD_SOURCE:-}
if [ -n "$source_dir" ]; then
  [ $# -eq 1 ] || die "RELAPSE_CONTAINERD_SOURCE builds one tree: give one VERSION to stamp it with"
  [ -n "${RELAPSE_CONTAINERD_OUT:-}" ] || die "RELAPSE_CONTAINERD_SOURCE needs RELAPSE_CONTAINERD_OUT, the directory for the binaries"
  [ -f "$source_dir/go.mod" ] || die "RELAPSE_CONTAINERD_SOURCE=$source_dir has no go.mod: not a containerd source tree"
  version=${1#v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    die "'$version' does not start with a release number (want e.g. 2.3.4-12-g0123456789ab, a git describe)"
  command -v "$GO" >/dev/null || die "needs Go ($GO) to build containerd"
  mod=$(sed -n 's/^module[[:space:]]*//p' "$source_dir/go.mod")
  start=$(date +%s)
  echo "$prog: building containerd $version from $source_dir (go build -p $jobs)"
  build_tree "$version" "$RELAPSE_CONTAINERD_OUT" "$mod" "$source_dir"
  for b in "${binaries[@]}"; do
    [ -x "$RELAPSE_CONTAINERD_OUT/$b" ] || die "containerd $version: $b was not produced"
  done
  report=$(reported "$version" "$RELAPSE_CONTAINERD_OUT/containerd")
  printf 'source: %s (%s)\nversion: %s\nreports: %s\ngo: %s\ntags: %s\ncgo: 0\nbuilt: %s in %ss\n' "$source_dir" "$mod" "$version" "$report" \
    "$("$GO" version)" "$tags" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(($(date +%s) - start))" >"$RELAPSE_CONTAINERD_OUT/BUILDINFO"
  echo "$prog: containerd $version built into $RELAPSE_CONTAINERD_OUT in $(($(date +%s) - start))s ($report)"
  exit 0
fi

for version in "$@"; do
  version=${version#v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "'$version' is not a containerd release version (want MAJOR.MINOR.PATCH, e.g. 1.7.18 or 2.0.14)"
  dest=$cache/runtimes/containerd-$version
  if cached "$dest"; then
    echo "$prog: containerd $version already cached at $dest (nothing to do)"
    continue
  fi
  if [ -e "$dest" ]; then
    echo "$prog: $dest is incomplete (needs ${binaries[*]}); rebuilding it" >&2
  fi

  start=$(date +%s)
  mkdir -p "$cache/runtimes"
  stage=$(mktemp -d "$cache/runtimes/.containerd-$version.XXXXXX")
  chmod 755 "$stage"
  # shellcheck disable=SC2064 # expand $stage now: it changes per version
  trap "rm -rf '$stage'; chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT
  if [ "${RELAPSE_CONTAINERD_FROM_SOURCE:-0}" != 1 ] && system_has "$version"; then
    echo "$prog: linking the system's containerd $version from /usr/bin"
    link_system "$version" "$stage"
  elif [ -n "${DEBIAN[$version]:-}" ] && [ "${RELAPSE_CONTAINERD_FROM_SOURCE:-0}" != 1 ]; then
    echo "$prog: fetching containerd $version from Debian (${DEBIAN[$version]})"
    fetch_debian "$version" "$stage"
  else
    command -v "$GO" >/dev/null || die "needs Go ($GO) to build containerd $version"
    case $version in
      1.6.* | 1.7.*) mod=github.com/containerd/containerd ;;
      2.*) mod=github.com/containerd/containerd/v2 ;;
      *) die "containerd $version: this script builds 1.6.x, 1.7.x and 2.x from the Go module proxy; other versions need a recipe here" ;;
    esac
    echo "$prog: building containerd $version from the Go module proxy (go build -p $jobs)"
    build_module "$version" "$stage" "$mod"
  fi
  for b in "${binaries[@]}"; do
    [ -x "$stage/$b" ] || die "containerd $version: $b was not produced"
  done
  report=$(reported "$version" "$stage/containerd")
  {
    echo "version: $version"
    echo "reports: $report"
    if [ ! -L "$stage/containerd" ]; then
      echo "go: $("$GO" version)"
      echo "tags: $tags"
      echo "cgo: 0"
    fi
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(($(date +%s) - start))s"
  } >>"$stage/BUILDINFO"
  rm -rf "$dest"
  mv "$stage" "$dest"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  echo "$prog: containerd $version cached at $dest/containerd in $(($(date +%s) - start))s ($report)"
done
