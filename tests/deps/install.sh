#!/usr/bin/env bash
# install.sh [native|cross|rig]... - installs with apt-get what the build
# and tests need, only when something is missing (a fresh Debian 12 as root).
set -euo pipefail
want=("$@"); [[ ${#want[@]} -gt 0 ]] || want=(native)
pkgs=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$1"); }
# The build machine's own libraries, asked for with their architecture: on a
# multiarch machine a bare `libfdt-dev` query is satisfied by libfdt-dev:arm64
# while the native one (which the native build links) is missing.
arch=$(dpkg --print-architecture)
for w in "${want[@]}"; do
  case $w in
    native) for p in gcc make pkg-config libfdt-dev libcmocka-dev libslirp-dev libglib2.0-dev device-tree-compiler \
                     libtsan2 libasan8 libubsan1 clang-14 libclang-rt-14-dev; do need "$p:$arch"; done
            need util-linux # setpriv, for the two-user CLI tests
            # the sandbox's guest init is arm64 on every host
            [[ $arch == arm64 ]] || { need gcc-aarch64-linux-gnu; need libc6-dev-arm64-cross; };;
    cross) for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user-static meson ninja-build dpkg-dev; do need "$p"; done;;
    # arch-test: mmdebstrap's check that the host runs arm64 binaries (a
    # Recommends, which --no-install-recommends leaves out)
    rig) for p in qemu-system-arm cpio kmod e2fsprogs perl mmdebstrap arch-test; do need "$p"; done;;
    *) echo "install.sh: unknown set $w" >&2; exit 2;;
  esac
done
if ((${#pkgs[@]})); then
  echo "install.sh: installing ${pkgs[*]}" >&2
  apt-get -q -o DPkg::Lock::Timeout=900 update >&2
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${pkgs[@]}" >&2
fi
