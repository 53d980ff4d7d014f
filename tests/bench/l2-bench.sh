# The benchmark guest's payload (L2): t=... picks the workload. The
# boot-time marker goes first, as soon as userspace runs.
devmem 0x9001008 32 123
echo "@@G uptime=$(cut -d' ' -f1 /proc/uptime)" # the guest kernel's own share of the boot
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
net_bench() { # server address, rounds
  for i in $(seq $2); do
    t0=$(up); wget -q -O /tmp/f http://$1:8080/file.bin; t1=$(up)
    echo "@@B rx=$(secs $t0 $t1)"
    t0=$(up); nc $1 5000 < /tmp/f; t1=$(up)
    echo "@@B tx=$(secs $t0 $t1)"
    sleep 0.3
  done
}
case " $(cat /proc/cmdline) " in
  *" t=blk "*)
    for i in 1 2 3 4 5; do
      echo 3 > /proc/sys/vm/drop_caches
      t0=$(up); dd if=/dev/vda of=/dev/null bs=1M count=64 2>/dev/null; t1=$(up)
      echo "@@B blk_read=$(secs $t0 $t1)"
      t0=$(up); dd if=/dev/zero of=/dev/vda bs=1M count=64 conv=fsync 2>/dev/null; t1=$(up)
      echo "@@B blk_write=$(secs $t0 $t1)"
      t0=$(up); dd if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null; t1=$(up)
      echo "@@B blk_4k=$(secs $t0 $t1)"
    done ;;
  *" t=blk4k "*) dd if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null ;;
  *" t=user "*) dhcp_up; net_bench 10.0.2.2 3 ;;
  *" t=tap "*) ip link set eth0 up; ip addr add 192.168.100.2/24 dev eth0; net_bench 192.168.100.1 5 ;;
  *" t=idle "*) echo "@@L2 idle"; sleep 30 ;;
esac
