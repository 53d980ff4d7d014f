# Runs in L1: saevm sandbox on a Debian arm64 rootfs made the documented
# way (tools/saevm-mkrootfs), L1's /dev/vda: its own kernel from /boot and
# its modules from /usr/lib/modules, as a user gets them. run.sh boots it
# with Debian 13 (6.12, virtiofs built in) and Debian 12 (6.1, virtiofs a
# module); case names carry the release (sb-deb13-..., sb-deb12-...).
. /rig/lib.sh
mkdir -p /mnt/debian && mount -t ext4 /dev/vda /mnt/debian || echo "@@TEST sb-debian FAIL cannot mount the rootfs"
D=deb$(cut -d. -f1 /mnt/debian/etc/debian_version)
SB="sandbox --rootfs /mnt/debian"
mkdir -p /tmp/proj && cd /tmp/proj
case_ sb-$D-arch 0 300 "$SB -m 512 -- dpkg --print-architecture" "arm64"
case_ sb-$D-bash 3 300 "$SB -- bash -c 'echo \$BASH_VERSION; touch made-by-debian; exit 3'" "5."
verdict sb-$D-share "$([ -f /tmp/proj/made-by-debian ] || echo 'the file made in the guest is not here')"
# The shares go over virtio-fs (the kernel has it, built in or a module);
# over 9p on request (6.12's is netfs-based).
case_ sb-$D-fs 0 300 "$SB --log-level info -- sh -c 'echo fs > by-fs.txt'" "shares over virtio-fs"
case_ sb-$D-9p 0 300 "$SB --share-proto 9p --log-level info -- sh -c 'cat by-fs.txt; echo 9p > by-9p.txt'" \
  "shares over virtio-9p" "fs"
verdict sb-$D-both "$([ "$(cat /tmp/proj/by-9p.txt 2>/dev/null)" = 9p ] || echo 'the file made over 9p is not here')"
# Bytes both ways through each protocol, with the guest's page cache in the
# way (9p caches files since their qids have a version): 8 MiB the guest
# writes reach the host whole; 8 MiB the host wrote read back whole after
# the guest dropped its caches.
head -c 8388608 /dev/urandom > host.bin
for p in fs 9p; do
  case_ sb-$D-bytes-$p 0 300 "$SB --share-proto $p -- sh -c 'head -c 8388608 /dev/urandom > by-$p.bin; sha256sum by-$p.bin; sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum host.bin'"
  verdict sb-$D-bytes-$p-match "$(grep -q "$(sha by-$p.bin) " /tmp/sb-$D-bytes-$p.out && grep -q "$(sha host.bin) " /tmp/sb-$D-bytes-$p.out || echo "the sha256 differ: host $(sha by-$p.bin 2>&1)")"
done
# A sandbox that stays up on this release's kernel (its vsock modules from
# the rootfs), two execs into it, then a stop.
cd /tmp/proj
case_ sb-$D-detach 0 300 "$SB --name deb --detach"
timeout -s KILL 120 saevm exec deb -- sh -c 'echo "$(id -u) $(pwd)"; exit 6' > /tmp/dx.out 2>&1; rc=$?
printf 'abc' | timeout -s KILL 120 saevm exec deb -- cat >> /tmp/dx.out 2>&1; rc2=$?
saevm stop deb > /dev/null
verdict sb-$D-exec "$([ $rc = 6 ] && [ $rc2 = 0 ] && [ "$(cat /tmp/dx.out)" = "0 /tmp/proj
abc" ] || echo "rc=$rc rc2=$rc2 '$(head -c 300 /tmp/dx.out)'")"
echo "@@L1 cases-done"
