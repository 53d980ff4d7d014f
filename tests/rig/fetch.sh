#!/usr/bin/env bash
# fetch.sh - put Debian's arm64 kernel and busybox in a cache, from Debian's
# own packages (apt-get download + dpkg-deb -x), for the nested test rig.
# Idempotent: a complete cache is reused. Prints the env file's path.
#
#   tests/rig/fetch.sh [CACHE]      CACHE defaults to $SAEVM_RIG_CACHE,
#                                   else ~/.cache/saevm-rig
# Writes CACHE/rig.env with RIG_KVER RIG_IMAGE RIG_MODROOT RIG_BUSYBOX.
set -euo pipefail
CACHE=${1:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}}
mkdir -p "$CACHE"; CACHE=$(cd "$CACHE" && pwd)
if [[ -f $CACHE/.complete ]]; then echo "$CACHE/rig.env"; exit 0; fi
APT=(apt-get -q -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  "${APT[@]}" update >&2
fi
apt-cache show busybox-static:arm64 >/dev/null 2>&1 || "${APT[@]}" update >&2
# The concrete kernel package behind the metapackage (its ABI name changes
# with security updates, and old ones leave the mirror).
KPKG=${SAEVM_KPKG:-$(apt-cache depends linux-image-arm64:arm64 |
  awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
KPKG=${KPKG%%:*}
[[ -n $KPKG ]] || { echo "fetch.sh: cannot resolve the arm64 kernel package" >&2; exit 1; }
mkdir -p "$CACHE/debs" "$CACHE/root"; chmod 755 "$CACHE/debs"
for p in "$KPKG" busybox-static; do
  ls "$CACHE/debs/${p}"_*_arm64.deb >/dev/null 2>&1 ||
    (cd "$CACHE/debs" && "${APT[@]}" download "${p}:arm64" >&2)
done
for deb in "$CACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$CACHE/root"; done
KVER=$(basename "$(ls -d "$CACHE"/root/lib/modules/*-arm64 | tail -1)")
depmod -b "$CACHE/root" "$KVER"
cat > "$CACHE/rig.env" <<ENV
RIG_KVER=$KVER
RIG_IMAGE=$CACHE/root/boot/vmlinuz-$KVER
RIG_MODROOT=$CACHE/root
RIG_BUSYBOX=$CACHE/root/bin/busybox
ENV
touch "$CACHE/.complete"
echo "$CACHE/rig.env"
