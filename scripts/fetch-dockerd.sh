#!/usr/bin/env bash
# fetch-dockerd.sh VERSION: puts an old dockerd into the relapse cache without
# a registry and without touching the machine's own packages.
#
# Old dockerd releases (the ones incidents happened on) are not in this
# machine's Debian release, but an older Debian release ships them as the
# docker.io package. This script downloads that .deb with a PRIVATE apt
# configuration (its own sources list, lists, cache and an empty dpkg status:
# the system's apt state is never read or written, nothing is installed) and
# unpacks it with `dpkg-deb -x` into
#
#   $RELAPSE_CACHE/runtimes/dockerd-VERSION/          (default cache: $HOME/.cache/relapse)
#   $RELAPSE_CACHE/runtimes/dockerd-VERSION/dockerd -> usr/sbin/dockerd
#
# The dockerd found there runs against the containerd and runc on PATH.
# When the machine's own /usr/sbin/dockerd is exactly VERSION (Debian
# bookworm: 20.10.24, installed by scripts/install-deps.sh) it is linked
# instead, so a matrix can name the packaged version like any other.
# A second run finds the cached copy and does nothing.
#
# Known versions (add a row to KNOWN to support another one):
#   20.10.5  Debian bullseye docker.io 20.10.5+dfsg1-1+deb11u2
#            (leaks 2 goroutines + 1 fd per kill of a D-state container;
#             fixed in 20.10.10 by moby PR #42956)
#   20.10.24 Debian bookworm docker.io 20.10.24+dfsg1-1+deb12u1+b6 (linked
#            from /usr/sbin on bookworm; downloaded elsewhere, e.g. on a CI
#            runner with another Docker)
#   26.1.5   Debian trixie docker.io 26.1.5+dfsg1-9+deb13u1+b1 (keeps an
#            attach's goroutines and fd when the client leaves a silent
#            container; fixed in 27.0.1 by moby PR #45052)
#   28.5.2   Debian forky docker.io 28.5.2+dfsg4-5 (forky is testing: signed
#            by the archive's automatic keys, hence the whole keyring)
#
# The download and unpacking is scripts/fetch-deb.sh (private apt state
# under $RELAPSE_CACHE/apt). Newer releases run on bookworm from the
# unpacked directory too: dockerd 26.1.5 and 28.5.2 link only libraries
# bookworm has (libc, libsystemd, libcap and theirs). The dockerd starts
# the containerd and runc first on its PATH: relapse pairs each dockerd
# with its own release's containerd and a runc it runs with
# (harness/engine/companions.go; scripts/runtimes.sh fetches them). Of the
# package's companions, usr/sbin/docker-proxy is unpacked with it and first
# on the daemon's PATH, but unused (relapse's dockerds run with bridge none
# and publish no ports), and docker-init is Debian's tini package, not
# fetched (no container runs with --init). forky is Debian testing: when
# its docker.io moves on, fetch-deb.sh lists the versions it has.
# docker 29 is not packaged by Debian: scripts/build-dockerd.sh builds it.
set -euo pipefail

prog=fetch-dockerd
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "$prog: $*" >&2; exit 1; }

# VERSION -> "suite debian-version"
declare -A KNOWN=(
  [20.10.5]="bullseye 20.10.5+dfsg1-1+deb11u2"
  [20.10.24]="bookworm 20.10.24+dfsg1-1+deb12u1+b6"
  [26.1.5]="trixie 26.1.5+dfsg1-9+deb13u1+b1"
  [28.5.2]="forky 28.5.2+dfsg4-5"
)

usage() {
  echo "usage: $prog VERSION" >&2
  echo "known versions:" >&2
  for v in "${!KNOWN[@]}"; do
    read -r suite debver _ <<<"${KNOWN[$v]}"
    printf '  %-10s Debian %s docker.io=%s\n' "$v" "$suite" "$debver" >&2
  done
  exit 2
}

[ $# -eq 1 ] || usage
version=$1
cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
dest=$cache/runtimes/dockerd-$version

# system_version: the version /usr/sbin/dockerd reports, or nothing.
system_version() {
  local out
  out=$(/usr/sbin/dockerd --version 2>/dev/null) || return 0
  [[ $out =~ [Vv]ersion\ ([0-9]+\.[0-9]+\.[0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

# A link to the system's dockerd is only good while the package is VERSION.
if [ -L "$dest/dockerd" ] && [ "$(readlink "$dest/dockerd")" = /usr/sbin/dockerd ] && [ "$(system_version)" != "$version" ]; then
  echo "$prog: the system's dockerd is no longer $version (package upgraded?); dropping the link in $dest"
  rm -rf "$dest"
fi
if [ -x "$dest/dockerd" ]; then
  echo "$prog: dockerd $version already cached at $dest/dockerd (nothing to do)"
  exit 0
fi

# The machine's packaged dockerd, when it is exactly VERSION.
if [ "$(system_version)" = "$version" ]; then
  mkdir -p "$dest"
  ln -sfn /usr/sbin/dockerd "$dest/dockerd"
  pkg=$(dpkg-query -S /usr/sbin/dockerd 2>/dev/null | cut -d: -f1 || true)
  printf '%s=%s, the system package, linked from /usr/sbin\n' "${pkg:-docker.io}" "$(dpkg-query -W -f '${Version}' "${pkg:-docker.io}" 2>/dev/null || echo '?')" >"$dest/SOURCE"
  echo "$prog: linked the system's dockerd $version at $dest/dockerd"
  exit 0
fi

[ -n "${KNOWN[$version]:-}" ] || {
  echo "$prog: unknown dockerd version '$version'." >&2
  echo "  This script only knows the system's own dockerd and versions Debian packaged as docker.io that are listed in its KNOWN table." >&2
  usage
}
read -r suite debver <<<"${KNOWN[$version]}"

start=$(date +%s)
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
# fetch-deb.sh checks with ldd that the dockerd can run here (a newer
# suite's build can need a newer libc).
bash "$here/fetch-deb.sh" "$suite" docker.io "$debver" "$dest" usr/sbin/dockerd
ln -s usr/sbin/dockerd "$dest/dockerd"
"$dest/dockerd" --version
echo "$prog: dockerd $version cached at $dest/dockerd in $(($(date +%s) - start))s"
