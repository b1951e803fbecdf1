#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages relapse needs to run real runtimes.
#
# It says what it installs, installs only what is missing, and never starts a
# system service: a policy-rc.d that denies service starts is in place for the
# duration of the install (docker.io's postinst would otherwise start the
# host's own dockerd, which relapse never uses).
#
# On a machine where this cannot work (not root, not Debian/apt) it stops and
# lists what is needed so a person can install it.
set -euo pipefail

# Package -> why relapse needs it.
declare -A WHY=(
  [containerd]="containerd + ctr: the CRI runtime under test and image import"
  [runc]="the OCI runtime both daemons start containers with"
  [docker.io]="dockerd 20.10.24: the Docker daemon under test (never started as a service)"
  [fuse3]="fusermount3 and /dev/fuse support for the hung FUSE mount fault"
  [strace]="diagnostics: a few seconds of strace -f of a hung daemon"
  [debootstrap]="builds Debian rootfs workload images (images/*/build-rootfs.sh) without a registry"
  [iptables]="dockerd links against it even with --iptables=false"
  [procps]="ps/pgrep used in cleanup checks"
  [ca-certificates]="debootstrap and apt over https mirrors"
  [util-linux]="unshare/nsenter: each sandbox's private mount namespace; mount/umount for cleanup"
  [iproute2]="ip: the loopback of each dockerd sandbox's private network namespace"
  [chromium]="headless browser the report's screenshot test renders index.html in"
  [libseccomp-dev]="cgo headers scripts/build-runc.sh builds runc (with seccomp) from the Go module proxy against"
  [shellcheck]="make vet: actionlint checks the workflows' run: scripts with it"
  [qemu-system-x86]="scripts/guest.sh: the virtual machine (TCG) that runs relapse on other kernels and cgroup v2"
  [kmod]="scripts/guest.sh: depmod for the guest kernel's modules"
  [cpio]="scripts/guest.sh: the guest's initramfs"
)
PKGS=(containerd runc docker.io fuse3 strace debootstrap iptables procps ca-certificates util-linux iproute2 chromium libseccomp-dev shellcheck qemu-system-x86 kmod cpio)

need() { printf 'relapse needs these Debian packages:\n'; for p in "${PKGS[@]}"; do printf '  %-16s %s\n' "$p" "${WHY[$p]}"; done; }

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: must run as root to install packages (uid $(id -u))." >&2
  need >&2; exit 1
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "install-deps: this is not a Debian/apt machine; install the equivalents by hand." >&2
  need >&2; exit 1
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

# Docker's own packages (a CI runner's, a workstation's) conflict with the
# distribution's: they provide the same binaries, so they count as present.
# relapse runs beside them and never uses or stops their daemons.
declare -A ALT=([docker.io]="docker-ce moby-engine" [containerd]="containerd.io moby-containerd" [runc]="containerd.io moby-runc")

missing=()
for p in "${PKGS[@]}"; do
  installed "$p" && continue
  alt=0
  for a in ${ALT[$p]:-}; do installed "$a" && { echo "install-deps: $p is provided by the installed $a"; alt=1; break; }; done
  [ "$alt" = 1 ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present (${PKGS[*]})"; exit 0
fi

echo "install-deps: installing ${missing[*]}"
for p in "${missing[@]}"; do printf '  %-16s %s\n' "$p" "${WHY[$p]}"; done

# Keep services from starting while installing.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from relapse install-deps.sh\nexit 101\n' >"$policy"
  chmod +x "$policy"; made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT

units=(docker.socket docker.service containerd.service)
systemd=0
command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemd=1
declare -A WAS_ACTIVE=()
if [ "$systemd" = 1 ]; then
  for u in "${units[@]}"; do systemctl is-active --quiet "$u" && WAS_ACTIVE[$u]=1; done
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# If the install started a service anyway, stop it; a service that ran
# before is the host's own and is left alone (relapse runs beside it).
if [ "$systemd" = 1 ]; then
  for u in "${units[@]}"; do
    [ -n "${WAS_ACTIVE[$u]:-}" ] || systemctl disable --now "$u" >/dev/null 2>&1 || true
  done
fi
echo "install-deps: done"
