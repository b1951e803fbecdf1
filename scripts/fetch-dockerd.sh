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
# Newer releases run on bookworm from the unpacked directory too: dockerd
# 26.1.5 and 28.5.2 link only libraries bookworm has (libc, libsystemd,
# libcap and theirs). Whatever the release, the dockerd starts and manages
# the containerd on PATH (bookworm's containerd 1.6.20 with runc 1.1.5), not
# its own release's. Of the package's companions, usr/sbin/docker-proxy is
# unpacked with it but unused (relapse's dockerds run with bridge none and
# publish no ports), and docker-init is Debian's tini package, not fetched
# (no container runs with --init). forky is Debian testing: when its
# docker.io moves on, this script lists the versions it has.
set -euo pipefail

prog=fetch-dockerd
die() { echo "$prog: $*" >&2; exit 1; }

# VERSION -> "suite debian-version keyring"
declare -A KNOWN=(
  [20.10.5]="bullseye 20.10.5+dfsg1-1+deb11u2 debian-archive-bullseye-stable.gpg"
  [20.10.24]="bookworm 20.10.24+dfsg1-1+deb12u1+b6 debian-archive-bookworm-stable.gpg"
  [26.1.5]="trixie 26.1.5+dfsg1-9+deb13u1+b1 debian-archive-trixie-stable.gpg"
  [28.5.2]="forky 28.5.2+dfsg4-5 debian-archive-keyring.gpg"
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
read -r suite debver keyring <<<"${KNOWN[$version]}"

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || die "needs $tool (Debian's apt and dpkg); install them or fetch dockerd $version by hand into $dest"
done
keyfile=/usr/share/keyrings/$keyring
[ -r "$keyfile" ] || die "missing the Debian $suite archive key $keyfile; install the debian-archive-keyring package (bookworm's carries the $suite keys)"

start=$(date +%s)

# Private apt configuration: everything under $aptdir, kept in the cache so a
# later fetch of another version reuses the downloaded lists.
aptdir=$cache/apt/$suite
mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" "$aptdir/etc/preferences.d" "$aptdir/etc/sources.list.d" "$aptdir/etc/trusted.gpg.d"
{
  echo "deb [signed-by=$keyfile] http://deb.debian.org/debian $suite main"
  if [ -r "/usr/share/keyrings/debian-archive-$suite-security-automatic.gpg" ]; then
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-$suite-security-automatic.gpg] http://deb.debian.org/debian-security $suite-security main"
  fi
} >"$aptdir/etc/sources.list"

apt_opts=(
  -o "Dir::Etc=$aptdir/etc"
  -o "Dir::Etc::sourcelist=$aptdir/etc/sources.list"
  -o "Dir::Etc::sourceparts=$aptdir/etc/sources.list.d"
  -o "Dir::Etc::preferences=$aptdir/etc/preferences"
  -o "Dir::Etc::preferencesparts=$aptdir/etc/preferences.d"
  -o "Dir::Etc::trusted=$aptdir/etc/trusted.gpg"
  -o "Dir::Etc::trustedparts=$aptdir/etc/trusted.gpg.d"
  -o "Dir::State=$aptdir"
  -o "Dir::State::lists=$aptdir/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$aptdir"
  -o "Dir::Cache::archives=$aptdir/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "Dir::Log=$aptdir"
  -o "Debug::NoLocking=true"
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "APT::Architectures::=$(dpkg --print-architecture)"
  -o "APT::Sandbox::User=root"
  -o "Acquire::Languages=none"
  -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
)

echo "$prog: updating private apt lists for Debian $suite in $aptdir"
apt-get "${apt_opts[@]}" -qq update >"$aptdir/update.log" 2>&1 || {
  cat "$aptdir/update.log" >&2
  die "apt-get update of Debian $suite failed (private config in $aptdir); is deb.debian.org reachable?"
}

available=$(apt-cache "${apt_opts[@]}" madison docker.io | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u)
if ! grep -qxF "$debver" <<<"$available"; then
  echo "$prog: Debian $suite has no docker.io=$debver." >&2
  echo "  available docker.io versions: ${available:-none}" >&2
  die "update the KNOWN table in $0 to one of them"
fi

mkdir -p "$cache/runtimes"
stage=$(mktemp -d "$cache/runtimes/.dockerd-$version.XXXXXX")
trap 'rm -rf "$stage"' EXIT
echo "$prog: downloading docker.io=$debver"
(cd "$stage" && apt-get "${apt_opts[@]}" -qq download "docker.io=$debver") ||
  die "apt-get download docker.io=$debver failed"
deb=$(ls "$stage"/docker.io_*.deb)
dpkg-deb -x "$deb" "$stage/root"
[ -x "$stage/root/usr/sbin/dockerd" ] || die "$deb has no usr/sbin/dockerd; is it really docker.io?"
ln -s usr/sbin/dockerd "$stage/root/dockerd"
printf 'docker.io=%s from Debian %s (%s)\n' "$debver" "$suite" "$(basename "$deb")" >"$stage/root/SOURCE"

# The binary is dynamically linked against the older release's libraries;
# say clearly if this machine lacks one.
if command -v ldd >/dev/null; then
  missing=$(ldd "$stage/root/usr/sbin/dockerd" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
  [ -z "$missing" ] || die "dockerd $version needs libraries this machine lacks: $missing(install them, e.g. with apt-get)"
fi

mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$stage/root" "$dest"
"$dest/dockerd" --version
echo "$prog: dockerd $version cached at $dest/dockerd in $(($(date +%s) - start))s"
