#!/usr/bin/env bash
# demo.sh - what `make demo` shows: this machine has no arm64 KVM, so the
# nested rig provides one. QEMU emulates an arm64 host with EL2 (L1); in it
# build/arm64/saevm boots Debian's arm64 kernel with a busybox initramfs
# (L2) whose console you see below, then the guest powers off and saevm
# exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=build/rig; mkdir -p "$W"
ENVF=$(tests/rig/fetch.sh); export SAEVM_RIG_ENV=$ENVF
# shellcheck disable=SC1090
source "$ENVF"
cat > "$W/demo-l2.sh" <<'L2'
echo
echo "Hello from an arm64 guest booted by saevm:"
echo "  kernel  $(uname -r) on $(uname -m), $(grep -c ^processor /proc/cpuinfo) vCPUs"
echo "  memory  $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"
echo "  cmdline $(cat /proc/cmdline)"
echo "  uptime  $(cut -d' ' -f1 /proc/uptime) s; powering off"
L2
cat > "$W/demo-l1.sh" <<'L1'
echo "==> [L1, an emulated arm64 KVM host] saevm run -k Image -i initrd.cpio -p 'console=ttyS0 quiet' -m 256 -c 2"
saevm run -k /rig/Image -i /rig/l2.cpio -p 'console=ttyS0 quiet' -m 256 -c 2
echo "==> saevm exited with $?"
L1
tests/rig/mk-initramfs.sh -o "$W/demo-l2.cpio" --init "$W/demo-l2.sh"
tests/rig/mk-initramfs.sh -o "$W/demo-l1.cpio" --init "$W/demo-l1.sh" \
  --add build/arm64/saevm:/rig/saevm --add "$RIG_IMAGE:/rig/Image" --add "$W/demo-l2.cpio:/rig/l2.cpio"
echo "==> booting the rig (QEMU TCG, about 10 s)"
tests/rig/boot-l1.sh --initrd "$W/demo-l1.cpio" --log "$W/demo.log" --timeout 300 --quiet || true
sed -n 's/^\[ *[0-9.]*\] //p' "$W/demo.log" | grep -v '^boot-l1\|^\[ *[0-9.]*\] \(reboot\|kvm\)' | sed -n '/==> \[L1/,/==> saevm exited/p'
grep -q '==> saevm exited with 0' "$W/demo.log"
