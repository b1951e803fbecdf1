#!/usr/bin/env bash
# build-php-rootfs.sh OUT.tar: builds the php-upload workload (nginx +
# php8.2-fpm, images/php-upload/) as a Debian bookworm root filesystem tar,
# for machines without a container registry. The tar is meant for
# `docker import` / the harness' image wrapper, with
#   entrypoint /usr/local/bin/php-upload-entrypoint, env PORT=<port>.
#
# The result is cached under $RELAPSE_CACHE/images/ (default
# $HOME/.cache/relapse), keyed by a hash of this script and every file in
# images/php-upload/; a later run with the same inputs copies the cached tar
# and skips debootstrap.
#
# Environment:
#   RELAPSE_CACHE          cache root (default $HOME/.cache/relapse)
#   RELAPSE_DEBIAN_MIRROR  Debian mirror (default: the host's apt sources for
#                          bookworm, else http://deb.debian.org/debian)
#   RELAPSE_DEBIAN_SECURITY_MIRROR  security mirror (default: host's apt
#                          sources for bookworm-security, else none)
#
# Needs root (debootstrap, chroot), debootstrap, tar, sha256sum. Nothing
# outside a private temp dir under /tmp/relapse and the cache is written; the
# script mounts nothing itself, and whatever debootstrap mounted in the target
# (proc, sys) is unmounted on exit, also on failure.
set -euo pipefail

SUITE=bookworm
# systemd-standalone-tmpfiles satisfies php8.2-fpm's "systemd |
# systemd-tmpfiles" without pulling in all of systemd (and cryptsetup, dmsetup).
PACKAGES=(php8.2-fpm nginx-light systemd-standalone-tmpfiles)

die() { echo "build-rootfs: $*" >&2; exit 1; }
log() { echo "build-rootfs: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUT.tar (one argument: where to write the rootfs tar)"
out=$1
case $out in
  *.tar) ;;
  *) die "OUT must end in .tar (got '$out'): it is an uncompressed tar for docker import" ;;
esac
out_dir=$(dirname -- "$out")
[ -d "$out_dir" ] || die "directory of OUT does not exist: $out_dir; create it first"

script_path=$(readlink -f -- "${BASH_SOURCE[0]}")
app=$(dirname -- "$script_path")
repo=$(dirname -- "$(dirname -- "$app")")
for f in upload.php php-fpm.conf nginx.conf.template entrypoint.sh; do
  [ -f "$app/$f" ] || die "missing $app/$f: run from a complete relapse checkout"
done

# Cache key: this script and every file of the app, by name and content.
key=$(
  cd "$repo"
  { sha256sum images/php-upload/build-rootfs.sh
    find images/php-upload -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
cache_root=${RELAPSE_CACHE:-$HOME/.cache/relapse}
cache_dir="$cache_root/images"
cached="$cache_dir/php-upload-rootfs-$SUITE-$key.tar"
mkdir -p "$cache_dir"

start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start ))s; }

# One builder at a time per cache: a second concurrent run waits, then finds
# the first one's result.
exec 9>"$cache_dir/.php-upload-rootfs.lock"
flock 9

copy_out() {
  if [ "$(readlink -f -- "$out")" != "$(readlink -f -- "$cached")" ]; then
    cp --reflink=auto -- "$cached" "$out.partial.$$"
    mv -f -- "$out.partial.$$" "$out"
  fi
}

if [ -s "$cached" ]; then
  copy_out
  log "cached: $cached (key $key), skipped debootstrap; wrote $out in $(elapsed)"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root for debootstrap and chroot (uid $(id -u)); no cached rootfs for key $key"
for c in debootstrap chroot tar sha256sum flock; do
  command -v "$c" >/dev/null || die "$c not found on PATH; run scripts/install-deps.sh"
done

# sources_uri SUITE prints the first URI the host's apt sources list for SUITE
# (deb822 .sources files and one-line .list files).
sources_uri() {
  local want=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      function flush() { if (uris != "" && (" " suites " ") ~ (" " want " ") && types ~ /(^| )deb( |$)/) { split(uris, u, " "); print u[1]; found = 1; exit } }
      /^[[:space:]]*$/ { flush(); uris = ""; suites = ""; types = ""; next }
      /^URIs:/   { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      /^Types:/  { sub(/^Types:[[:space:]]*/, ""); types = $0 }
      END { if (!found) flush() }' "$f"
  done | head -n1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$want" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == want) { print $i; exit } }' "$f"
  done | head -n1
}

mirror=${RELAPSE_DEBIAN_MIRROR:-$(sources_uri "$SUITE" | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${RELAPSE_DEBIAN_SECURITY_MIRROR-$(sources_uri "$SUITE-security" | head -n1)}
log "building rootfs (key $key) from $mirror${security:+ + $security ($SUITE-security)}"

mkdir -p /tmp/relapse
work=$(mktemp -d /tmp/relapse/phproot-XXXXXX)
root="$work/root"

# unmount_all undoes every mount below $work, deepest first. debootstrap
# mounts proc and sys in the target itself and may leave them on failure.
unmount_all() {
  local m
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "build-rootfs: could not unmount $m" >&2
  done
}
cleanup() {
  local rc=$?
  unmount_all
  if awk -v w="$work/" 'index($2, w) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    echo "build-rootfs: mounts remain under $work; not removing it" >&2
  else
    rm -rf -- "$work"
  fi
  rm -f -- "$cached.partial.$$" "$out.partial.$$"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

t0=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  die "debootstrap $SUITE from $mirror failed (log above); set RELAPSE_DEBIAN_MIRROR to a reachable mirror"
}
unmount_all # debootstrap should have unmounted its proc/sys; make sure.
log "debootstrap done in $(( $(date +%s) - t0 ))s"

# apt inside the chroot: the same mirrors, DNS from the host, and no service
# starts (php8.2-fpm's and nginx's postinst would otherwise start daemons
# inside the chroot, nginx on port 80 of the host's network).
{
  echo "deb $mirror $SUITE main"
  [ -z "$security" ] || echo "deb $security $SUITE-security main"
} >"$root/etc/apt/sources.list"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\n# build-rootfs: no service starts while building\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

# No /proc or /sys is mounted for the install: it works without them (only
# systemd-tmpfiles warns and skips creating /run/php, which the entrypoint
# does not use).
t0=$(date +%s)
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C \
  sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PACKAGES[*]}" \
  >"$work/apt.log" 2>&1 || {
  tail -n 30 "$work/apt.log" >&2
  die "apt-get install ${PACKAGES[*]} in the chroot failed (log above)"
}
log "apt-get install ${PACKAGES[*]} done in $(( $(date +%s) - t0 ))s"

# The app.
install -D -m 0644 "$app/upload.php" "$root/var/www/php-upload/upload.php"
install -D -m 0644 "$app/php-fpm.conf" "$root/etc/php-upload/php-fpm.conf"
install -D -m 0644 "$app/nginx.conf.template" "$root/etc/php-upload/nginx.conf.template"
install -D -m 0755 "$app/entrypoint.sh" "$root/usr/local/bin/php-upload-entrypoint"
mkdir -p "$root/run/php-upload"

# /tmp must exist in the image, mode 1777: negative dentries left by PHP's
# deleted temp files persist on overlay only when /tmp is in an image layer.
mkdir -p "$root/tmp"
chmod 1777 "$root/tmp"
find "$root/tmp" -mindepth 1 -delete

# Clean: apt caches and lists, the build-time helpers, host DNS.
chroot "$root" /usr/bin/apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
  "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/bootstrap.log
rm -f "$root/usr/sbin/policy-rc.d"
# Nothing in the container reads documentation or translations, and every
# sandbox imports the image afresh: ~45 MB and ~3,000 files less to copy
# and unpack each time (a quarter of the bytes, 40% of the files).
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/share/lintian
: >"$root/etc/resolv.conf"

# Sanity: what the entrypoint needs is there.
for p in usr/sbin/php-fpm8.2 usr/sbin/nginx etc/nginx/fastcgi_params bin/bash; do
  [ -e "$root/$p" ] || die "built rootfs lacks /$p; the package install went wrong (see $work/apt.log)"
done
[ "$(stat -c %a "$root/tmp")" = 1777 ] || die "/tmp in the rootfs is not mode 1777"

# Tar with numeric owners; /dev, /proc and /sys stay as empty directories
# (the runtime provides them).
tar --numeric-owner --sort=name -C "$root" \
  --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
  -cf "$cached.partial.$$" .
mv -f -- "$cached.partial.$$" "$cached"
copy_out
log "built $cached ($(du -h "$cached" | cut -f1)); wrote $out in $(elapsed)"
