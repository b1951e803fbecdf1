#!/usr/bin/env bash
# runtimes.sh CELL...: puts every runtime build a matrix names into the
# relapse cache, and says how long each took.
#
#   CELL  = RUNTIME[/containerd-VERSION][/runc-VERSION]
#           each part is a cache entry of its own, fetched or built once:
#   containerd-VERSION  scripts/build-containerd.sh (the system's package,
#                       Debian's package for 1.4.13, 1.7.24 and 2.1.9, else built
#                       from the Go module proxy)
#   dockerd-VERSION     scripts/fetch-dockerd.sh (Debian's docker.io) for
#                       20.10.x to 28.x, scripts/build-dockerd.sh (the Go
#                       module proxy) for 29.x
#   runc-VERSION        scripts/build-runc.sh (the Go module proxy)
#
# e.g. runtimes.sh containerd-1.6.20 containerd-2.3.5/runc-1.3.6 dockerd-29.8.1 runc-1.5.1
# A dockerd's own containerd and runc (harness/engine/companions.go) are
# cache entries too; `relapse plan -builds` lists every entry a plan needs,
# and `make matrix` passes them here. Cached builds take milliseconds; the
# first build of a containerd or runc from the Go module proxy takes half a
# minute to two minutes, of a docker 29 dockerd about two minutes.
set -euo pipefail

prog=runtimes
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $prog CELL... (e.g. containerd-1.7.18 containerd-2.3.5/runc-1.3.6 dockerd-20.10.5)" >&2; exit 2; }

for cell in "$@"; do
  start=$(date +%s%N)
  IFS=/ read -r -a parts <<<"$cell"
  for part in "${parts[@]}"; do
    case $part in
      containerd-[0-9]*) bash "$here/build-containerd.sh" "${part#containerd-}" ;;
      dockerd-29.*) bash "$here/build-dockerd.sh" "${part#dockerd-}" ;;
      dockerd-[0-9]*) bash "$here/fetch-dockerd.sh" "${part#dockerd-}" ;;
      runc-[0-9]*) bash "$here/build-runc.sh" "${part#runc-}" ;;
      *)
        echo "$prog: unknown runtime '$part' in '$cell': want containerd-VERSION, dockerd-VERSION or runc-VERSION, e.g. containerd-1.7.18, dockerd-20.10.5 or containerd-2.3.5/runc-1.3.6" >&2
        exit 2
        ;;
    esac
  done
  ms=$((($(date +%s%N) - start) / 1000000))
  printf '%s: %s ready in %d.%03ds\n' "$prog" "$cell" $((ms / 1000)) $((ms % 1000))
done
