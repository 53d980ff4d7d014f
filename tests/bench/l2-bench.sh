# The benchmark guest's payload (L2), the same under saevm and QEMU: t=...
# picks the workload. "@@M LABEL" lines are marks that vmtime (in L1)
# stamps with the time and the VMM's CPU; the first one says userspace runs.
echo "@@M userspace"
echo "@@G uptime=$(cut -d' ' -f1 /proc/uptime)" # the guest kernel's own share of the boot
# What the guest sees, so the bench can check both VMMs gave it the same:
# its virtio devices (id:driver) and its CPU's features.
for d in /sys/bus/virtio/devices/*; do
  [ -e "$d/device" ] && echo "$(cat "$d/device"):$(basename "$(readlink "$d/driver")")"
done | sort | tr '\n' ' ' | sed 's/^/@@G devices=/; s/ $//'; echo
echo "@@G cpu=$(grep -m1 '^Features' /proc/cpuinfo | cut -d: -f2 | tr -s ' ' | sed 's/^ //; s/ /,/g')"
up() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a=$1 -v b=$2 'BEGIN{printf "%.2f", b-a}'; }
dhcp_up() {
  cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add $ip/${mask:-24} dev $interface
ip route add default via $router
S
  chmod +x /tmp/dhcp.sh; ip link set eth0 up
  udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 5 >/dev/null 2>&1
}
# One timed step: marks before and after, the guest's own seconds as NAME.
step() { # NAME COMMAND...
  local name=$1 t0 t1; shift
  echo "@@M ${name}_0"; t0=$(up); "$@"; t1=$(up); echo "@@M ${name}_1"
  echo "@@B $name=$(secs $t0 $t1)"
}
net_bench() { # server address, rounds
  for i in $(seq $2); do
    step rx wget -q -O /tmp/f http://$1:8080/file.bin
    step tx sh -c "nc $1 5000 < /tmp/f"
    sleep 0.3
  done
}
n4k=$(sed -n 's/.*bench\.n4k=\([0-9]*\).*/\1/p' /proc/cmdline) # 4 KiB reads, from L1
case " $(cat /proc/cmdline) " in
  *" t=blk "*) # one round: 64 MiB read, 64 MiB written, n4k 4 KiB reads at QD1
    echo 3 > /proc/sys/vm/drop_caches
    step blk_read dd if=/dev/vda of=/dev/null bs=1M count=64 2>/dev/null
    step blk_write dd if=/dev/zero of=/dev/vda bs=1M count=64 conv=fsync 2>/dev/null
    # The requests the guest made of them (its /sys/block/vda/stat: reads,
    # sectors read, writes, sectors written): the same work under both VMMs?
    awk '{ printf "@@B blk_read_req_kib=%.0f\n@@B blk_write_req_kib=%.0f\n", $3 / 2 / ($1 ? $1 : 1), $7 / 2 / ($5 ? $5 : 1) }' /sys/block/vda/stat
    step blk_4k dd if=/dev/vda of=/dev/null bs=4k count=$n4k iflag=direct 2>/dev/null ;;
  *" t=blk4k "*) dd if=/dev/vda of=/dev/null bs=4k count=$n4k iflag=direct 2>/dev/null ;;
  *" t=user "*) dhcp_up; net_bench 10.0.2.2 1 ;;
  *" t=vsock "*) # 64 MiB each way through vsock and through user networking, alternately
    dhcp_up
    head -c 67108864 /dev/zero > /tmp/z
    step vsock_tx sh -c "/usr/bin/vsock_peer connect 5001 < /tmp/z > /dev/null"
    step user_tx64 sh -c "nc 10.0.2.2 5002 < /tmp/z"
    rm /tmp/z
    step vsock_rx sh -c "/usr/bin/vsock_peer connect 5003 < /dev/null | cat > /dev/null"
    step user_rx64 sh -c "wget -q -O - http://10.0.2.2:8081/z | wc -c > /tmp/n"
    echo "@@G user_rx64_bytes=$(cat /tmp/n)" ;; # a transfer that failed is no figure
  *" t=tap "*) ip link set eth0 up; ip addr add 192.168.100.2/24 dev eth0; net_bench 192.168.100.1 3 ;;
  *" t=share "*) # the share (tag saevm-share0) over bench.proto=9p|fs, at /mnt
    # as saevm's sandbox mounts a share: 9p with msize 512000 and
    # cache=loose, virtio-fs with the server's cache policy.
    proto=$(sed -n 's/.*bench\.proto=\([0-9a-z]*\).*/\1/p' /proc/cmdline)
    mib=$(sed -n 's/.*bench\.mib=\([0-9]*\).*/\1/p' /proc/cmdline)
    if [ "$proto" = 9p ]; then
      mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose saevm-share0 /mnt
    else
      mount -t virtiofs saevm-share0 /mnt
    fi || { echo "@@G share mount failed"; exit 0; }
    cd /mnt
    step sh_write dd if=/dev/zero of=f.bin bs=1M count=$mib conv=fsync 2>/dev/null
    echo 3 > /proc/sys/vm/drop_caches
    step sh_read dd if=f.bin of=/dev/null bs=1M 2>/dev/null
    step sh_4k dd if=f.bin of=/dev/null bs=4k count=$n4k iflag=direct 2>/dev/null
    rm -f f.bin
    # stat of the 5,000-file tree L1 made, cold then warm (stat -c without
    # owner names, which busybox would look up through NSS).
    echo 3 > /proc/sys/vm/drop_caches
    step sh_stat_cold sh -c "find tree -type f | xargs stat -c '%n %s %Y' > /dev/null"
    step sh_stat_warm sh -c "find tree -type f | xargs stat -c '%n %s %Y' > /dev/null"
    # A developer's step: untar a source tree, checksum every file, remove
    # it; in the share, then in the guest's tmpfs (the guest's own limit).
    # The tarball is copied to the tmpfs first, outside the timing.
    cp source.tar /tmp/source.tar
    tree() { mkdir -p x && tar -xf /tmp/source.tar -C x && find x -type f | xargs sha256sum > /dev/null && rm -rf x; }
    step sh_tree tree
    mkdir -p /tmp/t && mount -t tmpfs tmpfs /tmp/t && cd /tmp/t && step tmpfs_tree tree
    cd /; umount /tmp/t; umount /mnt ;;
  *" t=idle "*) echo "@@L2 idle"; sleep 30 ;;
esac
