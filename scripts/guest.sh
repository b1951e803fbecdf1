#!/usr/bin/env bash
# guest.sh [options] -- COMMAND...: runs a relapse command inside a virtual
# machine with a chosen Debian kernel and cgroup mode, and brings its
# results/ back to the host.
#
# The machine this project grew on has one kernel and cgroup v1; its users
# run cgroup v2 and other kernels. A guest proves the harness there without
# touching the host: qemu with software emulation (TCG; KVM is not usable on
# every CI or nested machine), a kernel unpacked from Debian's package (never
# installed), and a root disk built from Debian packages.
#
# Options:
#   -kernel 6.1|6.12|5.10   Debian kernel: bookworm's 6.1 (default), trixie's
#                           6.12, bullseye's 5.10 (the linux-image-amd64 of
#                           that suite, fetched with a private apt config)
#   -cgroup 2|1             cgroup hierarchy the guest's init mounts (default 2)
#   -mem SIZE               guest memory (default 6G)
#   -smp N                  guest CPUs (default 2)
#   -timeout SECONDS        kill the guest after this long (default 2700)
#   -results DIR            where the guest's results/ runs land (default
#                           $RELAPSE_RESULTS or <repo>/results)
#   -run-id ID              run id for the guest's relapse run (default
#                           guest-<kernel>-cgroup<N>-<UTC time>)
#   -time-scale N           RELAPSE_TIME_SCALE in the guest (default 20): the
#                           cases' time bounds (load duration, readiness,
#                           setup) stretched for emulation; budgets do not
#                           change. 20, not 10: a container's stop and start
#                           takes ~10 s under TCG, and at 10 the dstate
#                           control's start missed its deadline at call 34
#   -build-only             build (or find) the kernel and disk, do not boot
# COMMAND runs in the guest as `sh -c` from the relapse checkout, with
# RELAPSE_RESULTS and RELAPSE_RUN_ID set, e.g.
#   scripts/guest.sh -kernel 6.12 -- bin/relapse run php-tmpfile-dentry -variant tmp-in-image
#
# What it builds, cached under $RELAPSE_CACHE/guest (default
# $HOME/.cache/relapse), each keyed by its inputs:
#   kernel-<suite>/   the linux-image .deb unpacked (vmlinuz + modules) and
#                     busybox-static, from a private apt config
#   rootfs-<key>.tar  debootstrap --variant=minbase bookworm + the packages
#                     relapse needs (containerd, runc, docker.io, fuse3, ...)
#   root-<kernel>-<key>.img  ext4 (mkfs.ext4 -d, no loop mounts) of that
#                     rootfs + the kernel's modules + the guest init + the Go
#                     toolchain (the guest's relapse keys cached images by
#                     it); only the newest per kernel is kept
#   payload-<key>.img this checkout (tracked files + bin/relapse) and the
#                     relapse cache's runtimes and images; ones unused for an
#                     hour are removed
# Per run, under a private temp dir removed on exit (also on Ctrl-C or
# SIGTERM, with the qemu process): the initramfs, an I/O disk carrying the
# command in and results out (read back with debugfs), and qemu's snapshot
# of the root disk (the cached image is never written).
#
# Environment: RELAPSE_CACHE, RELAPSE_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), RELAPSE_GUEST_RUNTIMES (cached runtime
# builds copied in; default dockerd-20.10.5 with its containerd 1.4.13 and
# the packaged ones).
#
# Needs root, qemu-system-x86_64, debootstrap, dpkg-deb, apt-get, depmod,
# mkfs.ext4 and debugfs (e2fsprogs), cpio, xz.
set -euo pipefail

prog=guest
die() { echo "$prog: $*" >&2; exit 2; }
log() { echo "$prog: $(date -u +%H:%M:%S) $*" >&2; }

time_scale=${RELAPSE_TIME_SCALE:-20} cpu=${RELAPSE_GUEST_CPU:-qemu64} kernel=6.1 cgroup=2 mem=6G smp=2 timeout=2700 results= run_id= build_only=0
while [ $# -gt 0 ]; do
  case $1 in
    -kernel) kernel=${2:?-kernel needs a value}; shift 2 ;;
    -cgroup) cgroup=${2:?-cgroup needs a value}; shift 2 ;;
    -mem) mem=${2:?-mem needs a value}; shift 2 ;;
    -smp) smp=${2:?-smp needs a value}; shift 2 ;;
    -timeout) timeout=${2:?-timeout needs a value}; shift 2 ;;
    -results) results=${2:?-results needs a value}; shift 2 ;;
    -run-id) run_id=${2:?-run-id needs a value}; shift 2 ;;
    -build-only) build_only=1; shift ;;
    -time-scale) time_scale=${2:?-time-scale needs a value}; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option '$1'; usage: $0 [-kernel 6.1|6.12|5.10] [-cgroup 2|1] [-mem 6G] [-smp 2] [-timeout S] [-results DIR] [-run-id ID] [-build-only] -- COMMAND..." ;;
  esac
done
case $kernel in
  5.10) suite=bullseye ;;
  6.1) suite=bookworm ;;
  6.12) suite=trixie ;;
  *) die "-kernel $kernel: known kernels are 5.10 (bullseye), 6.1 (bookworm), 6.12 (trixie)" ;;
esac
case $cgroup in 1 | 2) ;; *) die "-cgroup $cgroup: want 1 or 2" ;; esac
[[ $timeout =~ ^[0-9]+$ ]] || die "-timeout $timeout: want seconds"
[ $build_only = 1 ] || [ $# -gt 0 ] || die "no command: give the relapse command to run after --, e.g. -- bin/relapse run php-tmpfile-dentry -variant tmp-in-image"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, depmod); uid $(id -u)"
for c in qemu-system-x86_64 setpriv debootstrap dpkg-deb apt-get depmod mkfs.ext4 debugfs cpio xz sha256sum flock; do
  command -v "$c" >/dev/null || die "$c not found on PATH; install it (qemu-system-x86, debootstrap, dpkg, apt, kmod, e2fsprogs, cpio, xz-utils)"
done

script_path=$(readlink -f -- "${BASH_SOURCE[0]}")
repo=$(dirname -- "$(dirname -- "$script_path")")
here=$repo/scripts/guest
[ -x "$repo/bin/relapse" ] || die "no $repo/bin/relapse; run make relapse first"
cache=${RELAPSE_CACHE:-${HOME:?HOME is not set; set RELAPSE_CACHE}/.cache/relapse}
gcache=$cache/guest
mirror=${RELAPSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
results=${results:-${RELAPSE_RESULTS:-$repo/results}}
run_id=${run_id:-guest-$kernel-cgroup$cgroup-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$gcache" /tmp/relapse

# One builder per cache at a time; a second run waits and reuses the result.
exec 9>"$gcache/.lock"
flock 9

# A guest.sh killed with SIGKILL could not clean up: its qemu died with it
# (--pdeathsig below), its temp dir is removed here by the next run.
for old in /tmp/relapse/guest-*; do
  [ -f "$old/owner" ] || continue
  kill -0 "$(cat "$old/owner")" 2>/dev/null && continue
  if awk -v w="$old/" 'index($2, w) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    log "$old, left by a killed run, still has mounts (a debootstrap's); unmount them and remove it"
  else
    log "removing $old, left by a killed run"; rm -rf -- "$old"
  fi
done
work=$(mktemp -d /tmp/relapse/guest-XXXXXX)
echo $$ >"$work/owner"
qemu_pid= tail_pid=
cleanup() {
  local rc=$?
  [ -z "$tail_pid" ] || kill "$tail_pid" 2>/dev/null || true
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -TERM "$qemu_pid" 2>/dev/null; sleep 1; kill -KILL "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf -- "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- private apt: the suite's lists and downloads, nothing of the host's --
apt_private() { # SUITE -> sets apt_opts
  local s=$1 dir=$cache/apt/$1 key=/usr/share/keyrings/debian-archive-$1-stable.gpg
  [ -r "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc/preferences.d" "$dir/etc/sources.list.d" "$dir/etc/trusted.gpg.d"
  {
    echo "deb [signed-by=$key] $mirror $s main"
    local sec=/usr/share/keyrings/debian-archive-$s-security-automatic.gpg
    [ -r "$sec" ] && echo "deb [signed-by=$sec] ${mirror%/debian}/debian-security $s-security main"
  } >"$dir/etc/sources.list"
  apt_opts=(
    -o "Dir::Etc=$dir/etc" -o "Dir::Etc::sourcelist=$dir/etc/sources.list"
    -o "Dir::Etc::sourceparts=$dir/etc/sources.list.d" -o "Dir::Etc::preferences=$dir/etc/preferences"
    -o "Dir::Etc::preferencesparts=$dir/etc/preferences.d" -o "Dir::Etc::trusted=$dir/etc/trusted.gpg"
    -o "Dir::Etc::trustedparts=$dir/etc/trusted.gpg.d" -o "Dir::State=$dir" -o "Dir::State::lists=$dir/lists"
    -o "Dir::State::status=/dev/null" -o "Dir::Cache=$dir" -o "Dir::Cache::archives=$dir/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Dir::Log=$dir" -o "Debug::NoLocking=true"
    -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none" -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
  )
  # Lists older than a day are refreshed; a kernel security update moves
  # the kernel (and the disk's key) on.
  if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit)" ]; then
    apt-get "${apt_opts[@]}" -qq update >"$dir/update.log" 2>&1 ||
      { cat "$dir/update.log" >&2; die "apt-get update of Debian $s from $mirror failed; set RELAPSE_DEBIAN_MIRROR"; }
  fi
}

# ---- kernel: vmlinuz + modules of the suite's linux-image-amd64 -----------
t0=$(date +%s)
apt_private "$suite"
kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || die "Debian $suite's linux-image-amd64 names no linux-image-<version> package"
kver_deb=$(apt-cache "${apt_opts[@]}" policy "$kpkg" | awk '/Candidate:/ {print $2}')
kdir=$gcache/kernel-$kpkg-$kver_deb
if [ ! -s "$kdir/vmlinuz" ]; then
  log "fetching $kpkg=$kver_deb (Debian $suite) and busybox-static"
  stage=$work/kstage; mkdir -p "$stage"
  (cd "$stage" && apt-get "${apt_opts[@]}" -qq download "$kpkg=$kver_deb") ||
    die "apt-get download $kpkg from Debian $suite failed"
  # One busybox for every kernel: bookworm's static one (trixie's package
  # ships it under another layout).
  apt_private bookworm
  (cd "$stage" && apt-get "${apt_opts[@]}" -qq download busybox-static) ||
    die "apt-get download busybox-static from Debian bookworm failed"
  dpkg-deb -x "$stage"/linux-image-*.deb "$stage/k"
  dpkg-deb -x "$stage"/busybox-static_*.deb "$stage/bb"
  # trixie's packages are merged-/usr: modules under usr/lib/modules.
  mdir=$stage/k/lib/modules
  [ -d "$mdir" ] || mdir=$stage/k/usr/lib/modules
  kv=$(ls "$mdir")
  [ -n "$kv" ] || die "$kpkg has no modules directory"
  mkdir -p "$stage/out"
  cp "$stage/k/boot/vmlinuz-$kv" "$stage/out/vmlinuz"
  mv "$mdir" "$stage/out/modules"
  mkdir -p "$stage/dm/lib"; ln -s "$stage/out/modules" "$stage/dm/lib/modules"
  depmod -b "$stage/dm" "$kv" || die "depmod for $kv failed"
  cp "$stage/bb/bin/busybox" "$stage/out/busybox"
  echo "$kv" >"$stage/out/release"
  rm -rf "$kdir"; mv "$stage/out" "$kdir"
fi
krel=$(cat "$kdir/release")
log "kernel $krel ($kpkg=$kver_deb) ready in $(( $(date +%s) - t0 ))s"

# ---- initramfs: busybox + the modules that reach the root disk ------------
initrd=$work/initrd.cpio.gz
mkinitrd() {
  local ir=$work/initramfs mods=$kdir/modules/$krel order=() seen=" "
  mkdir -p "$ir/bin" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/lib/modules"
  cp "$kdir/busybox" "$ir/bin/busybox"
  cp "$here/initramfs-init" "$ir/init"
  # visit NAME: its dependencies first (modules.dep), then itself.
  visit() {
    local path deps d
    path=$(awk -v n="$1" -F: '{ f = $1; sub(/.*\//, "", f); sub(/\.ko(\.[a-z]+)?$/, "", f); gsub(/-/, "_", f); if (f == n) { print; exit } }' "$mods/modules.dep")
    [ -n "$path" ] || return 0 # built into the kernel
    deps=${path#*:}; path=${path%%:*}
    case $seen in *" $path "*) return 0 ;; esac
    for d in $deps; do d=${d##*/}; d=${d%%.ko*}; visit "${d//-/_}"; done
    case $seen in *" $path "*) return 0 ;; esac
    seen="$seen$path "
    order+=("$path")
  }
  for m in virtio_pci virtio_blk crc32c_generic crc32c_intel ext4; do visit "$m"; done
  local p f
  for p in "${order[@]}"; do
    f=${p##*/}; f=${f%%.ko*}.ko
    case $p in
      *.ko.xz) xz -dc "$mods/$p" >"$ir/lib/modules/$f" ;;
      *.ko.zst) zstd -qdc "$mods/$p" >"$ir/lib/modules/$f" ;;
      *) cp "$mods/$p" "$ir/lib/modules/$f" ;;
    esac
    echo "$f" >>"$ir/modules.order"
  done
  touch "$ir/modules.order"
  (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
}
mkinitrd

# ---- base rootfs: debootstrap + packages, keyed by the package list ------
PACKAGES=(containerd runc docker.io fuse3 kmod iproute2 procps util-linux iptables strace ca-certificates)
base_key=$(echo "bookworm ${PACKAGES[*]}" | sha256sum | cut -c1-16)
base=$gcache/rootfs-bookworm-$base_key.tar
if [ ! -s "$base" ]; then
  t0=$(date +%s)
  log "building the guest rootfs (debootstrap bookworm + ${PACKAGES[*]}; a few minutes)"
  root=$work/rootfs
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap bookworm from $mirror failed"; }
  awk -v w="$root/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PACKAGES[*]}" >"$work/apt.log" 2>&1 ||
    { tail -n 30 "$work/apt.log" >&2; die "apt-get install in the guest rootfs failed"; }
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"
  : >"$root/etc/resolv.conf"
  echo relapse-guest >"$root/etc/hostname"
  printf '127.0.0.1 localhost relapse-guest\n::1 localhost\n' >"$root/etc/hosts"
  tar --numeric-owner -C "$root" --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$base.partial" .
  mv "$base.partial" "$base"
  rm -rf "$root"
  log "guest rootfs built in $(( $(date +%s) - t0 ))s: $base ($(du -h "$base" | cut -f1))"
fi

# mkdisk IMG SPARE_MIB DIR LABEL: an ext4 image of DIR with SPARE_MIB free,
# written by mkfs.ext4 -d (no loop mount).
mkdisk() {
  local used size
  used=$(du -sm "$3" | cut -f1)
  size=$(( used + $2 ))
  mkfs.ext4 -q -F -L "$4" -d "$3" "$1.partial" "${size}M" || die "mkfs.ext4 -d of $1 failed"
  mv "$1.partial" "$1"
  log "$(basename "$1"): ${used} MiB used of ${size} MiB"
}

# ---- root disk: rootfs + the kernel's modules + init + Go -----------------
# Changes rarely: keyed by the rootfs, the kernel, the guest init and Go.
goroot=$(go env GOROOT 2>/dev/null) || die "the Go toolchain is not on PATH (the guest's relapse keys its image cache by it)"
root_key=$( { echo "$base_key $krel $kver_deb"; go version; sha256sum "$here/relapse-guest-init"; } | sha256sum | cut -c1-16)
disk=$gcache/root-$kernel-$root_key.img
if [ ! -s "$disk" ]; then
  t0=$(date +%s)
  log "assembling the guest root disk $disk"
  d=$work/disk; mkdir -p "$d"
  tar -C "$d" -xf "$base"
  mkdir -p "$d/lib/modules" "$d/usr/local" "$d/relapse" "$d/payload" "$d/io" "$d/root/.cache/relapse"
  cp -a "$kdir/modules/$krel" "$d/lib/modules/"
  cp -a "$goroot" "$d/usr/local/go"
  install -m 0755 "$here/relapse-guest-init" "$d/sbin/relapse-guest-init"
  rm -f "$gcache/root-$kernel-"*.img
  # Room for the sandboxes: daemon state, image loads, container layers.
  mkdisk "$disk" 8192 "$d" relapse-root
  rm -rf "$d"
  log "guest root disk assembled in $(( $(date +%s) - t0 ))s"
fi

# ---- payload disk: this checkout + relapse's cached runtimes and images ---
# RELAPSE_GUEST_RUNTIMES picks the runtime builds (default: those of
# dockerd-20.10.5, its containerd-1.4.13, dockerd-20.10.24 and
# containerd-1.6.20 that are cached; the last two link to the packaged
# binaries, which the guest has too). The
# workload images are the ones `relapse images` builds or finds on the host:
# the guest has neither network nor a Go module cache to build them.
if [ -n "${RELAPSE_GUEST_RUNTIMES:-}" ]; then
  runtimes=$RELAPSE_GUEST_RUNTIMES
  for r in $runtimes; do [ -d "$cache/runtimes/$r" ] || die "RELAPSE_GUEST_RUNTIMES names $r, which is not in $cache/runtimes; fetch it with scripts/runtimes.sh $r"; done
else
  runtimes=
  for r in dockerd-20.10.5 containerd-1.4.13 dockerd-20.10.24 containerd-1.6.20; do [ -d "$cache/runtimes/$r" ] && runtimes="$runtimes $r"; done
fi
images=$(cd "$repo" && RELAPSE_CACHE=$cache bin/relapse images | cut -f2) || die "relapse images could not build or find the workload images (output above)"
payload_key=$(
  cd "$repo"
  { git ls-files -z | xargs -0 sha256sum 2>/dev/null; sha256sum bin/relapse
    for r in $runtimes; do find "$cache/runtimes/$r" -printf '%P %s %T@\n' | sort; done
    for i in $images; do stat -c '%n %s %Y' "$i"; done
  } | sha256sum | cut -c1-16)
payload=$gcache/payload-$payload_key.img
if [ ! -s "$payload" ]; then
  t0=$(date +%s)
  d=$work/payload; mkdir -p "$d/relapse" "$d/cache/runtimes" "$d/cache/images"
  (cd "$repo" && { git ls-files -z; printf 'bin/relapse\0'; } | tar --null --no-recursion -T - -cf -) | tar -C "$d/relapse" -xf -
  for r in $runtimes; do cp -a "$cache/runtimes/$r" "$d/cache/runtimes/"; done
  for i in $images; do cp -a "$i" "$d/cache/images/"; done
  find "$gcache" -maxdepth 1 -name 'payload-*.img' -mmin +60 -delete
  mkdisk "$payload" 1024 "$d" relapse-payload
  rm -rf "$d"
  log "guest payload disk (runtimes: $runtimes) assembled in $(( $(date +%s) - t0 ))s"
fi
[ $build_only = 1 ] && { log "built: kernel $krel, $disk, $payload"; exit 0; }
# Built: another guest may build while this one runs.
exec 9>&-

# ---- I/O disk: the command in, results/ out -------------------------------
io=$work/io
mkdir -p "$io/results"
{
  printf 'export RELAPSE_RESULTS=/io/results RELAPSE_RUN_ID=%q RELAPSE_CACHE=/root/.cache/relapse TESTCONTAINERS_RYUK_DISABLED=true RELAPSE_TIME_SCALE=%q\n' "$run_id" "$time_scale"
  printf '%q ' "$@"; echo
} >"$io/cmd"
mkfs.ext4 -q -F -L relapse-io -d "$io" "$work/io.img" 1024M

# ---- boot ----------------------------------------------------------------
console=$work/console.log
log "booting kernel $krel, cgroup v$cgroup, $mem, $smp CPUs (TCG): $*"
t0=$(date +%s)
TMPDIR=$work setpriv --pdeathsig KILL nice -n 5 qemu-system-x86_64 -accel tcg -machine q35 -m "$mem" -smp "$smp" \
  ${cpu:+-cpu "$cpu"} -nographic -no-reboot -nic none -serial "file:$console" -monitor none -display none \
  -kernel "$kdir/vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 apparmor=0 relapse.cgroup=$cgroup" \
  -drive "file=$disk,format=raw,if=virtio,snapshot=on" \
  -drive "file=$work/io.img,format=raw,if=virtio" \
  -drive "file=$payload,format=raw,if=virtio,snapshot=on" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
setpriv --pdeathsig TERM tail --pid="$qemu_pid" -n +1 -F "$console" 2>/dev/null | sed -u 's/^/guest| /' >&2 &
tail_pid=$!
deadline=$(( t0 + timeout ))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "timeout: the guest ran ${timeout}s; killing it"
    kill -KILL "$qemu_pid"
  fi
  sleep 2
done
wait "$qemu_pid" || true
qemu_pid=
sleep 1; kill "$tail_pid" 2>/dev/null || true; wait "$tail_pid" 2>/dev/null || true; tail_pid=
[ -s "$work/qemu.out" ] && sed 's/^/qemu| /' "$work/qemu.out" >&2
wall=$(( $(date +%s) - t0 ))

# ---- results back ---------------------------------------------------------
out=$work/out; mkdir -p "$out"
debugfs -R "rdump /results $out" "$work/io.img" >/dev/null 2>&1 || true
rc=$(debugfs -R "cat /rc" "$work/io.img" 2>/dev/null | tr -dc 0-9)
mkdir -p "$results"
if [ -d "$out/results" ]; then
  for r in "$out/results"/*; do
    [ -e "$r" ] || continue
    n=${r##*/}
    [ "$n" = latest ] && continue
    rm -rf "${results:?}/$n"; cp -a "$r" "$results/$n"
  done
  [ -d "$results/$run_id" ] && ln -sfn "$run_id" "$results/latest-guest"
fi
mkdir -p "$results/$run_id"
cp "$console" "$results/$run_id/guest-console.log"
log "guest (kernel $krel, cgroup v$cgroup) finished in ${wall}s; command exit ${rc:-none}; results in $results/$run_id (console: guest-console.log)"
[ -n "$rc" ] || { log "the guest never recorded an exit status: it crashed or timed out (see the console log)"; exit 1; }
exit "$rc"
