#!/usr/bin/env bash
# build-dockerd.sh VERSION...: puts a docker 29.x dockerd into the relapse
# cache, built from the Go module proxy (no registry, no Debian package has
# it yet).
#
#   $RELAPSE_CACHE/runtimes/dockerd-VERSION/dockerd    (default cache: $HOME/.cache/relapse)
#   $RELAPSE_CACHE/runtimes/dockerd-VERSION/BUILDINFO  (how it was built)
#
# Since docker 29 the engine is the Go module github.com/moby/moby/v2; its
# tags are v2.0.0-beta.N, each cut on the commit of a docker release tag
# (docker-v29.x.y). The module's releases/versions.yaml names that release
# as "next"; the mappings below were checked against moby's git tags where
# the tag was visible (beta.18 and docker-v29.6.0 are one commit) and read
# from versions.yaml otherwise. The build stamps the docker version into
# the dockerversion package (a module build prints "library-import"
# otherwise), and leaves out the btrfs and devicemapper graph drivers (cgo
# libraries relapse does not need; it runs overlay2 or the containerd
# snapshotter).
#
# Only dockerd is built. docker-proxy is not needed (relapse's dockerds run
# with bridge none and publish no ports) and docker-init neither (no
# container runs with --init). The containerd and runc each docker 29
# release names in its Dockerfile (CONTAINERD_VERSION, RUNC_VERSION) are
# the companions relapse pairs it with (harness/engine/companions.go);
# scripts/runtimes.sh builds them when a plan needs them.
#
# Known versions (add a row to KNOWN for another beta tag):
#   29.8.1  v2.0.0-beta.24 (versions.yaml next 29.8.1; Dockerfile containerd v2.3.5, runc v1.5.1)
#   29.8.0  v2.0.0-beta.23 (versions.yaml next 29.8.0; containerd v2.3.4, runc v1.5.1)
#   29.6.0  v2.0.0-beta.18 (tag docker-v29.6.0; containerd v2.2.4, runc v1.3.6)
#   29.5.2  v2.0.0-beta.15 (tag docker-v29.5.2; containerd v2.2.3, runc v1.3.5)
#
# A second run finds the cached copy and does nothing. Environment:
#   RELAPSE_CACHE       cache root (default $HOME/.cache/relapse)
#   RELAPSE_BUILD_JOBS  parallel compile jobs (go build -p), default 1
#   GO                  the go command (default go)
set -euo pipefail

prog=build-dockerd
die() { echo "$prog: $*" >&2; exit 1; }

declare -A KNOWN=(
  [29.8.1]=v2.0.0-beta.24
  [29.8.0]=v2.0.0-beta.23
  [29.6.0]=v2.0.0-beta.18
  [29.5.2]=v2.0.0-beta.15
)
usage() {
  echo "usage: $prog VERSION...   known versions:" >&2
  for v in "${!KNOWN[@]}"; do printf '  %-8s github.com/moby/moby/v2@%s\n' "$v" "${KNOWN[$v]}" >&2; done
  exit 2
}
[ $# -ge 1 ] || usage

GO=${GO:-go}
jobs=${RELAPSE_BUILD_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "RELAPSE_BUILD_JOBS='$jobs' is not a positive number of jobs"
cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
mod=github.com/moby/moby/v2
tags="exclude_graphdriver_btrfs exclude_graphdriver_devicemapper"

for version in "$@"; do
  tag=${KNOWN[$version]:-}
  [ -n "$tag" ] || { echo "$prog: unknown dockerd version '$version'." >&2; usage; }
  dest=$cache/runtimes/dockerd-$version
  if [ -x "$dest/dockerd" ]; then
    echo "$prog: dockerd $version already cached at $dest (nothing to do)"
    continue
  fi
  command -v "$GO" >/dev/null || die "needs Go ($GO) to build dockerd $version"
  start=$(date +%s)
  mkdir -p "$cache/runtimes"
  stage=$(mktemp -d "$cache/runtimes/.dockerd-$version.XXXXXX")
  chmod 755 "$stage"
  # shellcheck disable=SC2064 # expand $stage now: it changes per version
  trap "rm -rf '$stage'" EXIT
  echo "$prog: building dockerd $version from $mod@$tag (go install -p $jobs; about two minutes cold)"
  env GOTOOLCHAIN=local CGO_ENABLED=1 GOBIN="$stage" GOFLAGS=-buildvcs=false nice -n 10 \
    "$GO" install -p "$jobs" -trimpath -tags "$tags" \
    -ldflags "-s -w -X $mod/dockerversion.Version=$version -X $mod/dockerversion.GitCommit=$tag -X $mod/dockerversion.BuildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$mod/cmd/dockerd@$tag" || die "go install $mod/cmd/dockerd@$tag failed (see above)"
  out=$("$stage/dockerd" --version 2>&1) || die "$stage/dockerd --version failed: $out"
  grep -q "version $version," <<<"$out" || die "the built dockerd reports '$out', not $version"
  {
    echo "source: go install -tags '$tags' $mod/cmd/dockerd@$tag, stamped $version"
    echo "reports: $out"
    echo "go: $("$GO" version)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(($(date +%s) - start))s"
  } >"$stage/BUILDINFO"
  rm -rf "$dest"
  mv "$stage" "$dest"
  trap - EXIT
  echo "$prog: dockerd $version cached at $dest/dockerd in $(($(date +%s) - start))s ($out)"
done
