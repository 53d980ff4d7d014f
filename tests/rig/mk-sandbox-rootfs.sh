#!/usr/bin/env bash
# mk-sandbox-rootfs.sh OUT.tar - a small arm64 rootfs for `saevm sandbox` in
# the rig, as a tar for L1 to unpack: Debian's busybox-static with its
# applets, and the rig kernel's modules.dep with the modules the sandbox's
# initramfs loads (virtio-mmio, virtio-console, virtio-rng, 9p, virtiofs,
# overlay).
# (A real Debian rootfs, made with tools/saevm-mkrootfs, is the rig's
# 'debian' run.)
set -euo pipefail
OUT=$1
ENVF=${SAEVM_RIG_ENV:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}/rig.env}
# shellcheck disable=SC1090
source "$ENVF"
RFS=$(mktemp -d); trap 'rm -rf "$RFS"' EXIT
chmod 755 "$RFS" # the tar keeps it: L1 users must read the rootfs
mkdir -p "$RFS"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,work,boot,lib/modules}
cp "$RIG_BUSYBOX" "$RFS/bin/busybox"
for a in sh cat echo true false ls mkdir mv rm cp id pwd sleep head sha256sum sync uname kill stat find xargs \
         dd touch ln wc tr chmod date test env printf grep sed tail seq stty awk cut; do ln -sf busybox "$RFS/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$RFS/etc/passwd"
MD=$RIG_MODROOT/lib/modules/$RIG_KVER
mkdir -p "$RFS/lib/modules/$RIG_KVER"
cp "$MD"/modules.dep "$MD"/modules.builtin "$RFS/lib/modules/$RIG_KVER/"
(cd "$MD" && cp --parents kernel/drivers/virtio/virtio_mmio.ko kernel/drivers/char/virtio_console.ko \
   kernel/drivers/char/hw_random/virtio-rng.ko kernel/net/9p/9pnet.ko kernel/net/9p/9pnet_virtio.ko \
   kernel/fs/9p/9p.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko kernel/fs/overlayfs/overlay.ko \
   kernel/fs/fuse/fuse.ko kernel/fs/fuse/virtiofs.ko kernel/net/vmw_vsock/vsock.ko \
   kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko \
   "$RFS/lib/modules/$RIG_KVER/")
tar -cf "$OUT" -C "$RFS" .
