#!/usr/bin/env bash
# run.sh - saevm boots real arm64 Linux in the nested rig (tests/rig):
# Debian's arm64 kernel and busybox, fetched with apt-get download. Boots
# L1 twice (a GICv3 and a GICv2 machine); each runs tests/boot/l1-cases.sh.
# Needs build/arm64/saevm (make ARCH=arm64). Prints "boot: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
SAEVM=build/arm64/saevm
W=build/rig; mkdir -p "$W"
ENVF=$(tests/rig/fetch.sh); export SAEVM_RIG_ENV=$ENVF
# shellcheck disable=SC1090
source "$ENVF"
tests/rig/mk-initramfs.sh -o "$W/l2.cpio" --init tests/boot/l2-init.sh \
  --add build/guest/vsock-peer:/usr/bin/vsock_peer \
  --modules "virtio_mmio virtio_blk virtio_console virtio_rng virtio_net ext4 crc32c_generic vmw_vsock_virtio_transport"
# 105 MiB of padding as a second cpio archive: L1 appends it to l2.cpio.
rm -rf "$W/pad" && mkdir -p "$W/pad" && truncate -s 110100480 "$W/pad/pad.bin"
(cd "$W/pad" && echo pad.bin | cpio -o -H newc --quiet --owner=0:0) > "$W/pad.cpio"
COMMON=(--add "$SAEVM:/rig/saevm" --add "$RIG_IMAGE:/rig/Image" --add "$W/l2.cpio:/rig/l2.cpio"
  --add tests/boot/lib.sh:/rig/lib.sh --add vmm.conf.example:/rig/vmm.conf.example)
tests/rig/mk-initramfs.sh -o "$W/l1.cpio" --init tests/boot/l1-cases.sh "${COMMON[@]}" \
  --add "$W/pad.cpio:/rig/pad.cpio" --add build/guest/probe.img:/rig/probe.img \
  --add build/guest/probe-raw.bin:/rig/probe-raw.bin
tests/rig/mk-initramfs.sh -o "$W/l1-io.cpio" --init tests/boot/l1-io-cases.sh "${COMMON[@]}" \
  --add build/guest/vsock-peer:/rig/vsock_peer --modules "virtio_mmio virtio_blk"
tests/rig/mk-initramfs.sh -o "$W/l1-net.cpio" --init tests/boot/l1-net-cases.sh "${COMMON[@]}" --modules tun
rm -f "$W/fs.img"; truncate -s 32M "$W/fs.img"
# The fault run: an ext4 image for the SIGKILL test, the ASan build of saevm
# (dynamic glibc: the loader and libc go into L1 too).
rm -f "$W/ext4.img" "$W/faults.img"; mke2fs -q -t ext4 -F "$W/ext4.img" 16M; truncate -s 32M "$W/faults.img"
FAULT_EXTRA=()
if [[ -x build/arm64-asan/saevm ]]; then
  XL=/usr/aarch64-linux-gnu/lib
  FAULT_EXTRA=(--add build/arm64-asan/saevm:/rig/saevm-asan --add "$XL/ld-linux-aarch64.so.1:/lib/ld-linux-aarch64.so.1"
    --add "$XL/libc.so.6:/lib/aarch64-linux-gnu/libc.so.6" --add "$XL/libm.so.6:/lib/aarch64-linux-gnu/libm.so.6")
  [[ -f $XL/libgcc_s.so.1 ]] && FAULT_EXTRA+=(--add "$XL/libgcc_s.so.1:/lib/aarch64-linux-gnu/libgcc_s.so.1")
fi
tests/rig/mk-initramfs.sh -o "$W/l1-faults.cpio" --init tests/boot/l1-faults-cases.sh "${COMMON[@]}" \
  --add "$W/ext4.img:/rig/ext4.img" "${FAULT_EXTRA[@]}" --modules "virtio_mmio virtio_blk"

# The sandbox run: a busybox rootfs with the kernel's own modules for the
# sandbox's initramfs (9p, virtio), as a tar L1 unpacks; a pty driver.
tests/rig/mk-sandbox-rootfs.sh "$W/rootfs.tar"
for t in pty-run run-as; do aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -o "$W/$t" tests/boot/$t.c; done
tests/rig/mk-initramfs.sh -o "$W/l1-sandbox.cpio" --init tests/boot/l1-sandbox-cases.sh "${COMMON[@]}" \
  --add "$W/rootfs.tar:/rig/rootfs.tar" --add "$W/pty-run:/rig/pty-run" --add "$W/run-as:/rig/run-as"

# The Debian runs: a rootfs made with tools/saevm-mkrootfs (cached; a few
# minutes the first time), as an ext4 image that is L1's disk, booting the
# rootfs's own kernel with its modules from /usr/lib/modules, as a user
# gets them: 'debian' is Debian 13 (trixie, Debian's stable release,
# kernel 6.12, virtiofs built in), 'debian12' Debian 12 (bookworm, kernel
# 6.1, virtiofs a module). The same cases in both (l1-debian-cases.sh).
CACHE=${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}
debian_image() { # RUN SUITE
  local run=$1 suite=$2 dir=$CACHE/$2-rootfs
  [[ " ${SAEVM_BOOT_RUNS:-$run} " == *" $run "* ]] || return 0
  if [[ ! -f $dir/.complete ]]; then
    rm -rf "$dir"
    tools/saevm-mkrootfs "$dir" "$suite" && touch "$dir/.complete"
  fi
  rm -f "$W/$run.img"
  mke2fs -q -t ext4 -d "$dir" "$W/$run.img" "$(( $(du -sm "$dir" | cut -f1) * 13 / 10 + 64 ))M"
}
debian_image debian trixie
debian_image debian12 bookworm
tests/rig/mk-initramfs.sh -o "$W/l1-debian.cpio" --init tests/boot/l1-debian-cases.sh "${COMMON[@]}" \
  --modules "virtio_mmio virtio_blk ext4 crc32c_generic"

pass=0 fail=0
for run in ${SAEVM_BOOT_RUNS:-gic3 gic2 io net faults sandbox debian debian12}; do
  log=$W/boot-$run.log
  case $run in
    gic3) args=(--initrd "$W/l1.cpio" --gic 3);;
    gic2) args=(--initrd "$W/l1.cpio" --gic 2);;
    io) args=(--initrd "$W/l1-io.cpio" --gic 3 --disk "$W/fs.img");;
    net) args=(--initrd "$W/l1-net.cpio" --gic 3);;
    faults) args=(--initrd "$W/l1-faults.cpio" --gic 3 --disk "$W/faults.img");;
    sandbox) args=(--initrd "$W/l1-sandbox.cpio" --gic 3);;
    debian|debian12) args=(--initrd "$W/l1-debian.cpio" --gic 3 --disk "$W/$run.img");;
  esac
  echo "boot: L1 run '$run' (log $log)"
  tests/rig/boot-l1.sh "${args[@]}" --log "$log" --timeout "$([[ $run == net ]] && echo 1500 || echo 600)" --quiet || true
  grep -E '@@TEST|@@L1|@@NET' "$log" | sed 's/^/  /' || true
  grep -q '@@L1 cases-done' "$log" || { echo "  FAIL: L1 did not finish its cases"; fail=$((fail + 1)); }
  pass=$((pass + $(grep -c '@@TEST .* PASS' "$log" || true)))
  fail=$((fail + $(grep -c '@@TEST .* FAIL' "$log" || true)))
done

# The filesystem the L2 guest made on L1's disk, checked on this host.
if [[ " ${SAEVM_BOOT_RUNS:-io} " != *" io "* ]]; then :
elif e2fsck -fn "$W/fs.img" >/dev/null 2>&1 &&
   [[ $(debugfs -R "cat /hello.txt" "$W/fs.img" 2>/dev/null) == "hello from the guest" ]] &&
   [[ $(debugfs -R "cat /dir/random.bin" "$W/fs.img" 2>/dev/null | sha256sum | cut -d' ' -f1) == \
      $(debugfs -R "cat /dir/random.sha256" "$W/fs.img" 2>/dev/null) ]]; then
  echo "  e2fsck and the guest's files on this host: PASS"; pass=$((pass + 1))
else
  echo "  e2fsck and the guest's files on this host: FAIL"; fail=$((fail + 1))
fi

# The ext4 image saevm was SIGKILLed over, after a fresh boot replayed its
# journal: L1 copied it to the start of its disk.
if [[ " ${SAEVM_BOOT_RUNS:-faults} " != *" faults "* ]]; then :
elif head -c 16777216 "$W/faults.img" > "$W/ext4-after.img" && e2fsck -fn "$W/ext4-after.img" >/dev/null 2>&1; then
  echo "  e2fsck after SIGKILL and journal replay: PASS"; pass=$((pass + 1))
else
  echo "  e2fsck after SIGKILL and journal replay: FAIL"; fail=$((fail + 1))
fi

# The dumped device tree, decompiled on this host with dtc.
log=$W/boot-gic3.log
{ grep '@@DTB' "$log" 2>/dev/null || true; } | sed 's/.*@@DTB//' | perl -ne 'print pack("H*", join("", split))' > "$W/guest.dtb"
if [[ " ${SAEVM_BOOT_RUNS:-gic3} " != *" gic3 "* ]]; then :
elif dtc -q -I dtb -O dts -o "$W/guest.dts" "$W/guest.dtb" &&
   grep -q 'compatible = "arm,gic-v3"' "$W/guest.dts" && grep -q 'cpu@1 {' "$W/guest.dts" &&
   grep -q 'bootargs = "console=ttyS0 quiet x=1"' "$W/guest.dts" &&
   grep -q 'compatible = "ns16550a"' "$W/guest.dts" && grep -q 'linux,initrd-start' "$W/guest.dts" &&
   grep -q 'method = "hvc"' "$W/guest.dts"; then
  echo "  dtc reads the dumped DT: PASS"; pass=$((pass + 1))
else
  echo "  dtc reads the dumped DT: FAIL ($W/guest.dts)"; fail=$((fail + 1))
fi
echo "boot: $pass passed, $fail failed"
[[ $fail == 0 ]]
