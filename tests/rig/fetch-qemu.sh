#!/usr/bin/env bash
# fetch-qemu.sh - Debian's arm64 qemu-system-aarch64 and exactly the shared
# libraries it loads, as a tree that mk-initramfs.sh --tree puts into L1's
# root: the peer `make bench` runs next to saevm. Everything comes from
# Debian's arm64 packages (apt-get download + dpkg-deb -x). Idempotent: a
# complete cache is reused. Prints the tree's path. Beside it, QEMU's
# virtiofsd (from qemu-system-common), the virtio-fs peer.
#
#   tests/rig/fetch-qemu.sh [CACHE]   CACHE as for fetch.sh
set -euo pipefail
CACHE=${1:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}}
Q=$CACHE/qemu
if [[ -f $Q/.complete && -x $Q/tree/usr/lib/qemu/virtiofsd ]]; then echo "$Q/tree"; exit 0; fi
APT=(apt-get -q -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
apt-cache show qemu-system-arm:arm64 >/dev/null 2>&1 || "${APT[@]}" update >&2
rm -rf "$Q"; mkdir -p "$Q/debs" "$Q/x" "$Q/tree"; chmod 755 "$Q" "$Q/debs"
# The package and every arm64 library in its dependency closure; only the
# libraries the binary really loads go into the tree (below).
mapfile -t PKGS < <(apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances qemu-system-arm:arm64 |
  grep -E '^(qemu-system-arm|qemu-system-common|zlib1g|lib[^ ]*):arm64$' | sort -u)
(cd "$Q/debs" && "${APT[@]}" download "${PKGS[@]}" >&2)
for deb in "$Q"/debs/*.deb; do dpkg-deb -x "$deb" "$Q/x"; done
BIN=usr/bin/qemu-system-aarch64
VFSD=usr/lib/qemu/virtiofsd
[[ -x $Q/x/$BIN ]] || { echo "fetch-qemu: no $BIN in qemu-system-arm" >&2; exit 1; }
[[ -x $Q/x/$VFSD ]] || { echo "fetch-qemu: no $VFSD in qemu-system-common" >&2; exit 1; }
# The NEEDED closure, found in the extracted tree's library directories.
find_lib() {
  local d
  for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib; do
    [[ -e $Q/x/$d/$1 ]] && { echo "$d/$1"; return 0; }
  done
  return 1
}
declare -A have=()
todo=("$BIN" "$VFSD")
while ((${#todo[@]})); do
  f=${todo[0]}; todo=("${todo[@]:1}")
  [[ -n ${have[$f]:-} ]] && continue; have[$f]=1
  for n in $(readelf -d "$Q/x/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    p=$(find_lib "$n") || { echo "fetch-qemu: $f needs $n, not in the packages" >&2; exit 1; }
    todo+=("$p")
  done
done
for f in "${!have[@]}"; do
  mkdir -p "$Q/tree/$(dirname "$f")"; cp -L "$Q/x/$f" "$Q/tree/$f"
done
# The dynamic loader the binary names (PT_INTERP), at its own path.
INTERP=$(readelf -l "$Q/x/$BIN" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
mkdir -p "$Q/tree/$(dirname "$INTERP")"; cp -L "$Q/x/$INTERP" "$Q/tree/$INTERP"
dpkg-deb -f "$Q"/debs/qemu-system-arm_*.deb Version > "$Q/tree/qemu-version"
rm -rf "$Q/x"
touch "$Q/.complete"
echo "$Q/tree"
