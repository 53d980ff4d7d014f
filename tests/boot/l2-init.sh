# The L2 guest's payload (run by /init, which powers off afterwards).
# What it does is chosen by the kernel parameter t=... that a test passes.
echo "@@L2 userspace cpus=$(grep -c ^processor /proc/cpuinfo) memkb=$(awk '/MemTotal/{print $2}' /proc/meminfo)"
case " $(cat /proc/cmdline) " in
  *" t=panic "*) echo "@@L2 panicking"; echo c > /proc/sysrq-trigger ;;
  *" t=reboot "*) echo "@@L2 rebooting"; reboot -f ;;
  *" t=echo "*) read -r line; echo "@@L2 got:$line" ;;
  *" t=bigrd "*) echo "@@L2 pad=$(wc -c < /pad.bin)" ;;
  *" t=blkwrite "*)
    head -c 8388608 /dev/urandom > /tmp/pat
    dd if=/tmp/pat of=/dev/vda bs=1M 2>/dev/null && sync
    echo "@@L2 wrote=$(sha256sum < /tmp/pat | cut -d' ' -f1)"
    echo "@@L2 rng=$(cat /sys/class/misc/hw_random/rng_current) $(head -c 16 /dev/hwrng | wc -c)" ;;
  *" t=blkread "*)
    echo "@@L2 read=$(head -c 8388608 /dev/vda | sha256sum | cut -d' ' -f1)" ;;
  *" t=mkfs "*)
    mke2fs -q /dev/vda && mount -t ext2 /dev/vda /mnt &&
      echo "hello from the guest" > /mnt/hello.txt && mkdir /mnt/dir &&
      head -c 1048576 /dev/urandom > /mnt/dir/random.bin &&
      sha256sum < /mnt/dir/random.bin | cut -d' ' -f1 > /mnt/dir/random.sha256 &&
      umount /mnt && echo "@@L2 mkfs=ok" ;;
  *" t=ro "*)
    if dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null; then echo "@@L2 ro=writable"
    else echo "@@L2 ro=refused"; fi
    echo "@@L2 roread=$(head -c 4096 /dev/vda | sha256sum | cut -d' ' -f1)" ;;
  *" t=two "*)
    echo "@@L2 vda=$(head -c 5 /dev/vda) vdb=$(head -c 5 /dev/vdb)"
    echo "@@L2 serials=$(cat /sys/block/vda/serial)/$(cat /sys/block/vdb/serial)" ;;
  *" t=hvc "*)
    exec </dev/hvc0 >/dev/hvc0 2>&1
    echo "@@L2 hvc=up"
    sh ;;
  *" t=sleep "*) sleep 60 ;;
esac
echo "@@L2 done"
