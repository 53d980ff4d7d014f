# Runs in L1: saevm sandbox on a Debian 13 arm64 rootfs made the documented
# way (tools/saevm-mkrootfs), L1's /dev/vda: its own 6.12 kernel from /boot
# and its modules from /usr/lib/modules, as a user gets them.
. /rig/lib.sh
mkdir -p /mnt/debian && mount -t ext4 /dev/vda /mnt/debian || echo "@@TEST sb-debian FAIL cannot mount the rootfs"
mkdir -p /tmp/proj && cd /tmp/proj
case_ sb-debian-arch 0 300 "sandbox --rootfs /mnt/debian -m 512 -- dpkg --print-architecture" "arm64"
case_ sb-debian-bash 3 300 "sandbox --rootfs /mnt/debian -- bash -c 'echo \$BASH_VERSION; touch made-by-debian; exit 3'" "5."
verdict sb-debian-share "$([ -f /tmp/proj/made-by-debian ] || echo 'the file made in the guest is not here')"
# Debian 13's kernel has virtiofs built in: the shares go over virtio-fs;
# 9p (its netfs-based client) on request.
case_ sb-debian-fs 0 300 "sandbox --rootfs /mnt/debian --log-level info -- sh -c 'echo fs > by-fs.txt'" "shares over virtio-fs"
case_ sb-debian-9p 0 300 "sandbox --rootfs /mnt/debian --share-proto 9p --log-level info -- sh -c 'cat by-fs.txt; echo 9p > by-9p.txt'" \
  "shares over virtio-9p" "fs"
verdict sb-debian-both "$([ "$(cat /tmp/proj/by-9p.txt 2>/dev/null)" = 9p ] || echo 'the file made over 9p is not here')"
echo "@@L1 cases-done"
