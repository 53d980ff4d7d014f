#!/usr/bin/env bash
# mk-initramfs.sh - a busybox initramfs (newc cpio) for an arm64 guest of
# the rig: L1 (the KVM host that runs saevm) or L2 (saevm's guest).
#
#   mk-initramfs.sh -o OUT --init SCRIPT [--add SRC[:DEST]]... [--modules "a b"]
#                   [--tree DIR]...   (DIR's contents go into the root as they are)
#
# /init mounts proc, sys, devtmpfs, devpts and tmpfs, installs busybox's
# applets, loads --modules (dependencies resolved from modules.dep), runs
# SCRIPT (copied to /payload.sh) with sh, then powers off with `poweroff -f`
# (PSCI SYSTEM_OFF). Needs rig.env from fetch.sh ($SAEVM_RIG_ENV or the
# default cache).
set -euo pipefail
die() { echo "mk-initramfs: $*" >&2; exit 2; }
OUT='' INIT='' MODS='' ADDS=() TREES=()
while (($#)); do
  case $1 in
    -o) OUT=$2; shift 2;;
    --init) INIT=$2; shift 2;;
    --add) ADDS+=("$2"); shift 2;;
    --tree) TREES+=("$2"); shift 2;;
    --modules) MODS="$MODS $2"; shift 2;;
    *) die "unknown option $1";;
  esac
done
[[ -n $OUT && -f $INIT ]] || die "usage: -o OUT --init SCRIPT [--add SRC[:DEST]] [--modules LIST]"
ENVF=${SAEVM_RIG_ENV:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}/rig.env}
# shellcheck disable=SC1090
source "$ENVF"
STAGE=$(mktemp -d); trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,mnt,etc,rig,root}
cp "$RIG_BUSYBOX" "$R/bin/busybox"
[[ $(id -u) == 0 ]] && mknod -m 600 "$R/dev/console" c 5 1
: > "$R/modules.list"
if [[ -n ${MODS// } ]]; then
  MD=$RIG_MODROOT/lib/modules/$RIG_KVER
  declare -A seen=()
  add_mod() { # path relative to MD; dependencies first
    local p=$1 d
    [[ -n ${seen[$p]:-} ]] && return 0; seen[$p]=1
    for d in $(grep -E "^${p//./\\.}:" "$MD/modules.dep" | cut -d: -f2-); do add_mod "$d"; done
    mkdir -p "$R/lib/modules/$(dirname "$p")"
    cp "$MD/$p" "$R/lib/modules/$p"
    echo "/lib/modules/$p" >> "$R/modules.list"
  }
  for m in $MODS; do
    # module names use _ and - interchangeably (virtio_rng is virtio-rng.ko)
    re=${m//[-_]/[-_]}
    p=$(grep -E "(^|/)${re}\.ko:" "$MD/modules.dep" | head -1 | cut -d: -f1)
    [[ -n $p ]] || die "module $m not in modules.dep"
    add_mod "$p"
  done
fi
for a in "${ADDS[@]}"; do
  src=${a%%:*}; dst=/rig/$(basename "$src"); [[ $a == *:* ]] && dst=${a#*:}
  [[ -f $src ]] || die "--add: no file $src"
  mkdir -p "$R$(dirname "$dst")"; cp -L "$src" "$R$dst"
done
for t in "${TREES[@]}"; do
  [[ -d $t ]] || die "--tree: no directory $t"
  cp -a "$t/." "$R/"
done
cp "$INIT" "$R/payload.sh"
cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/rig:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
while read -r m; do insmod "$m" || echo "@@insmod-failed $m"; done < /modules.list
cd /rig 2>/dev/null || cd /
sh /payload.sh
sync
poweroff -f
INIT
chmod 755 "$R/init" "$R/bin/busybox"
chmod -R a+rX "$R/rig"
[[ -d $R/lib ]] && chmod -R a+rX "$R/lib"
find "$R/rig" -type f -name '*.sh' -exec chmod 755 {} +
( cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0 ) > "$OUT"
