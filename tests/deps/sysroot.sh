#!/usr/bin/env bash
# sysroot.sh ARCH DIR - a private sysroot of Debian's ARCH (arm64, s390x)
# libraries saevm builds against: apt-get download + dpkg-deb -x, so dpkg's
# database is untouched (multiarch cannot install these for s390x on
# bookworm: its security archive no longer carries s390x, see
# ../shared/notes/toolchain.md). Idempotent.
set -euo pipefail
arch=$1; dir=$2
[[ -f $dir/.complete ]] && exit 0
pkgs="libfdt1 libfdt-dev libcmocka0 libcmocka-dev libslirp0 libslirp-dev libglib2.0-0 libglib2.0-dev libpcre2-8-0 libpcre2-dev"
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch"
  apt-get -q -o DPkg::Lock::Timeout=900 update >&2
fi
apt-cache show "libfdt1:$arch" >/dev/null 2>&1 || apt-get -q -o DPkg::Lock::Timeout=900 update >&2
tmp=$(mktemp -d); chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get -q -o DPkg::Lock::Timeout=900 download $(for p in $pkgs; do printf '%s:%s ' "$p" "$arch"; done) >&2)
mkdir -p "$dir"
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$dir"; done
touch "$dir/.complete"
