#!/usr/bin/env bash
# runtimes.sh CELL...: puts every runtime build a matrix names into the
# relapse cache, and says how long each took.
#
#   CELL = containerd-VERSION   built by scripts/build-containerd.sh
#                               (or linked from the system's package)
#        | dockerd-VERSION      fetched by scripts/fetch-dockerd.sh
#                               (or linked from the system's package)
#
# e.g. runtimes.sh containerd-1.6.20 containerd-1.7.18 containerd-2.0.14 dockerd-20.10.5
# Cached builds take milliseconds; the first build of a containerd version
# from the Go module proxy takes one to two minutes.
set -euo pipefail

prog=runtimes
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $prog CELL... (e.g. containerd-1.7.18 dockerd-20.10.5)" >&2; exit 2; }

for cell in "$@"; do
  start=$(date +%s%N)
  case $cell in
    containerd-[0-9]*) bash "$here/build-containerd.sh" "${cell#containerd-}" ;;
    dockerd-[0-9]*) bash "$here/fetch-dockerd.sh" "${cell#dockerd-}" ;;
    *)
      echo "$prog: unknown runtime '$cell': want containerd-VERSION or dockerd-VERSION, e.g. containerd-1.7.18 or dockerd-20.10.5" >&2
      exit 2
      ;;
  esac
  ms=$((($(date +%s%N) - start) / 1000000))
  printf '%s: %s ready in %d.%03ds\n' "$prog" "$cell" $((ms / 1000)) $((ms % 1000))
done
