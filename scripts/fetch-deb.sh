#!/usr/bin/env bash
# fetch-deb.sh SUITE PACKAGE DEBVERSION DEST [BINARY...]: unpacks one Debian
# package version from a named suite into DEST, without installing it and
# without touching the machine's apt or dpkg state.
#
# fetch-deb.sh SUITE PACKAGE --list: prints the versions SUITE has of PACKAGE.
#
# The runtime scripts (fetch-dockerd.sh, build-containerd.sh, build-runc.sh)
# take a runtime built by Debian from a suite this machine does not run
# (bullseye, bookworm, trixie, forky). This script downloads the .deb with a
# PRIVATE apt configuration (its own sources list, lists, cache and an empty
# dpkg status, all under $RELAPSE_CACHE/apt/SUITE, reused by later fetches)
# and unpacks it with `dpkg-deb -x` into DEST, which must not exist yet
# (the unpacking happens next to it and is moved in at the end, so an
# interrupted fetch leaves nothing half made). DEST/SOURCE says what it is.
#
# Each BINARY (a path inside the package, e.g. usr/bin/containerd) is
# checked with ldd: a package built for a newer suite can need a newer libc
# than this machine has (forky's runc needs GLIBC 2.38, bookworm has 2.36),
# and the fetch fails naming what is missing rather than leaving a binary
# that cannot start.
set -euo pipefail

prog=fetch-deb
die() { echo "$prog: $*" >&2; exit 1; }

# Suite -> the keyring its Release file is signed with. forky is testing,
# signed by the archive's automatic keys, hence the whole keyring.
declare -A KEYRING=(
  [bullseye]=debian-archive-bullseye-stable.gpg
  [bookworm]=debian-archive-bookworm-stable.gpg
  [trixie]=debian-archive-trixie-stable.gpg
  [forky]=debian-archive-keyring.gpg
)

usage() {
  echo "usage: $prog SUITE PACKAGE DEBVERSION DEST [BINARY...]" >&2
  echo "       $prog SUITE PACKAGE --list" >&2
  echo "  SUITE is one of: ${!KEYRING[*]}" >&2
  exit 2
}

[ $# -ge 3 ] || usage
suite=$1 package=$2 debver=$3
shift 3
[ -n "${KEYRING[$suite]:-}" ] || die "unknown Debian suite '$suite': want one of ${!KEYRING[*]}"
[[ $package =~ ^[a-z0-9][a-z0-9.+-]*$ ]] || die "'$package' is not a Debian package name"
if [ "$debver" != --list ]; then
  [ $# -ge 1 ] || usage
  dest=$1
  shift
  [ ! -e "$dest" ] || die "$dest exists; remove it first"
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || die "needs $tool (Debian's apt and dpkg)"
done
keyfile=/usr/share/keyrings/${KEYRING[$suite]}
[ -r "$keyfile" ] || die "missing the Debian $suite archive key $keyfile; install the debian-archive-keyring package (bookworm's carries the $suite keys)"

cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
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

# versions: what the private lists know of PACKAGE, one a line.
versions() {
  apt-cache "${apt_opts[@]}" madison "$package" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u
}

# The lists are refreshed when the version asked for is not in them (a
# suite moves on; testing daily), not on every fetch.
available=$(versions)
if [ "$debver" = --list ] || ! grep -qxF "$debver" <<<"$available"; then
  echo "$prog: updating private apt lists for Debian $suite in $aptdir" >&2
  apt-get "${apt_opts[@]}" -qq update >"$aptdir/update.log" 2>&1 || {
    cat "$aptdir/update.log" >&2
    die "apt-get update of Debian $suite failed (private config in $aptdir); is deb.debian.org reachable?"
  }
  available=$(versions)
fi
if [ "$debver" = --list ]; then
  printf '%s\n' "$available"
  exit 0
fi
grep -qxF "$debver" <<<"$available" || {
  echo "$prog: Debian $suite has no $package=$debver." >&2
  echo "  available $package versions: $(tr '\n' ' ' <<<"${available:-none}")" >&2
  die "name one of them (the calling script's table of known versions)"
}

parent=$(dirname "$dest")
mkdir -p "$parent"
stage=$(mktemp -d "$parent/.$(basename "$dest").XXXXXX")
trap 'rm -rf "$stage"' EXIT
echo "$prog: downloading $package=$debver from Debian $suite" >&2
(cd "$stage" && apt-get "${apt_opts[@]}" -qq download "$package=$debver") ||
  die "apt-get download $package=$debver failed"
deb=$(ls "$stage/${package}_"*.deb)
dpkg-deb -x "$deb" "$stage/root"
printf '%s=%s from Debian %s (%s)\n' "$package" "$debver" "$suite" "$(basename "$deb")" >"$stage/root/SOURCE"

for bin in "$@"; do
  [ -x "$stage/root/$bin" ] || die "$package=$debver has no executable $bin"
  if command -v ldd >/dev/null; then
    missing=$(ldd "$stage/root/$bin" 2>&1 | awk '/not found/ {sub(/^[ \t]*/, ""); print}' | sed "s|$stage/root/||g" | sort -u | tr '\n' ';')
    [ -z "$missing" ] || die "$bin from Debian $suite $package=$debver cannot run on this machine: ${missing%;} (a newer libc or library than this system has; take this version from another source)"
  fi
done

mv "$stage/root" "$dest"
