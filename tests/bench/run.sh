#!/usr/bin/env bash
# run.sh - `make bench`: measures saevm in the nested rig and prints one
# table. See tests/bench/README for the method and how to read it.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=build/rig; mkdir -p "$W"
ENVF=$(tests/rig/fetch.sh); export SAEVM_RIG_ENV=$ENVF
# shellcheck disable=SC1090
source "$ENVF"
QEMU_TREE=$(tests/rig/fetch-qemu.sh)   # the peer: Debian's arm64 qemu-system-aarch64 and virtiofsd
SOURCE_TAR=$(tests/rig/fetch-src.sh)   # the share rows' source tree: Debian 12's busybox source
for t in bare-exit vmtime; do
  aarch64-linux-gnu-gcc -O2 -static -Wall -Wextra -Werror -o build/$t tests/bench/$t.c
done
tests/rig/mk-initramfs.sh -o "$W/bench-l2.cpio" --init tests/bench/l2-bench.sh \
  --add build/guest/vsock-peer:/usr/bin/vsock_peer \
  --modules "virtio_mmio virtio_blk virtio_net virtio_rng vmw_vsock_virtio_transport"
# The share rows' guest: the same, with 9p and virtiofs (apart, so that the
# other rows' boots load no more modules than they did).
tests/rig/mk-initramfs.sh -o "$W/bench-l2-share.cpio" --init tests/bench/l2-bench.sh \
  --modules "virtio_mmio virtio_blk virtio_net virtio_rng 9pnet_virtio 9p virtiofs"
# The vCPU features every saevm in the run gets (--cpu-features): `make bench
# BENCH_CPU_FEATURES=none` measures without pointer authentication, SVE and
# the PMU, whose emulation (TCG under L1) costs the guest a lot in this rig.
echo "${BENCH_CPU_FEATURES:-all}" > "$W/bench-cpu-features"
echo "${BENCH_SAMPLES:-5}" > "$W/bench-samples"
echo "${BENCH_SHARE_SAMPLES:-3}" > "$W/bench-share-samples"   # rounds of the share rows (4 VMs each)
echo "${BENCH_ONLY:-}" > "$W/bench-only"   # sections to run (boot verbose exits blk net vsock mem sandbox share); all if empty
tests/rig/mk-sandbox-rootfs.sh "$W/rootfs.tar"
tests/rig/mk-initramfs.sh -o "$W/bench-l1.cpio" --init tests/bench/l1-bench.sh --modules tun \
  --add "$W/bench-cpu-features:/rig/bench-cpu-features" --add "$W/bench-samples:/rig/bench-samples" \
  --add "$W/bench-share-samples:/rig/bench-share-samples" --add "$W/bench-l2-share.cpio:/rig/l2-share.cpio" \
  --add "$SOURCE_TAR:/rig/source.tar" --add "$W/bench-only:/rig/bench-only" \
  --tree "$QEMU_TREE" --add build/vmtime:/rig/vmtime --add "$QEMU_TREE/qemu-version:/rig/qemu-version" \
  --add build/arm64/saevm:/rig/saevm --add build/bare-exit:/rig/bare-exit --add "$RIG_IMAGE:/rig/Image" \
  --add "$W/bench-l2.cpio:/rig/l2.cpio" --add build/guest/probe.img:/rig/probe.img --add "$W/rootfs.tar:/rig/rootfs.tar" \
  --add build/guest/vsock-peer:/rig/vsock_peer
echo "bench: booting the rig; this takes a few minutes (log: $W/bench.log)"
tests/rig/boot-l1.sh --initrd "$W/bench-l1.cpio" --log "$W/bench.log" --timeout 4800 --quiet || true
grep -q '@@B done' "$W/bench.log" || { echo "bench: the run did not finish (see $W/bench.log)"; exit 1; }
tr -d '\r' < "$W/bench.log" | sed -n 's/^\[ *[0-9.]*\] @@B //p' > "$W/bench.samples"
perl tests/bench/table.pl "$W/bench.samples" "$W/bench.svg" | tee "$W/bench.table"
echo "bench: samples in $W/bench.samples, chart in $W/bench.svg"
