# The L2 guest's payload (run by /init, which powers off afterwards).
# What it does is chosen by the kernel parameter t=... that a test passes.
dhcp_up() { # a lease from slirp's DHCP, applied by udhcpc's script
  cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add $ip/${mask:-24} dev $interface
ip route add default via $router
echo "@@L2 lease=$ip router=$router dns=$dns"
S
  chmod +x /tmp/dhcp.sh
  ip link set eth0 up
  udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 5 2>/dev/null
}
tcp_counters_moved() { # BEFORE-FILE < AFTER: the Tcp and TcpExt counters that changed
  awk 'FNR == NR { file = 1 } FNR != NR { file = 2 }
       $1 !~ /^Tcp/ { next }
       !((file, $1) in seen) { seen[file, $1] = 1; for (i = 2; i <= NF; i++) nm[$1, i] = $i; next }
       { for (i = 2; i <= NF; i++) { val[file, $1, i] = $i; keys[$1, i] = 1 } }
       END { for (k in keys) { split(k, p, SUBSEP); a = val[1, p[1], p[2]]; b = val[2, p[1], p[2]]
             if (a != b) printf "%s%s %s->%s ", p[1], nm[p[1], p[2]], a, b }; print "" }' "$1" - |
    sed 's/^/@@L2 moved: /'
}
fetch_timed() { # URL: fetch, print its sha256 and the seconds it took
  t0=$(cut -d' ' -f1 /proc/uptime)
  wget -q -O /tmp/f "$1"
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "@@L2 got=$(sha256sum < /tmp/f | cut -d' ' -f1) secs=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')"
}
echo "@@L2 userspace cpus=$(grep -c ^processor /proc/cpuinfo) memkb=$(awk '/MemTotal/{print $2}' /proc/meminfo) epoch=$(date +%s)"
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
  *" t=vsock-connect "*) # 4 MiB to the host's echo through vsock, and back
    head -c 4194304 /dev/urandom > /tmp/r
    echo "@@L2 vsock-sent=$(sha256sum < /tmp/r | cut -d' ' -f1)"
    echo "@@L2 vsock-back=$(/usr/bin/vsock_peer connect 5000 < /tmp/r | sha256sum | cut -d' ' -f1)" ;;
  *" t=vsock-echo "*) # a host program connects to port 6000: echo it
    /usr/bin/vsock_peer echo 6000 && echo "@@L2 vsock-echoed" ;;
  *" t=rtcalarm "*) # the PL031's alarm: a wake alarm 2 s ahead, its interrupt counted
    irqs() { awk '/pl031/ { print $2 }' /proc/interrupts; }
    before=$(irqs)
    echo 0 > /sys/class/rtc/rtc0/wakealarm; echo +2 > /sys/class/rtc/rtc0/wakealarm
    sleep 5
    echo "@@L2 rtc before=${before:-none} after=$(irqs) pending=$(cat /sys/class/rtc/rtc0/wakealarm)" ;;
  *" t=ticker "*) i=0; while true; do echo "@@L2 tick $i"; i=$((i+1)); sleep 0.1; done ;;
  *" t=marker "*) devmem 0x9001008 32 123 ;;
  *" t=cpufeat "*)
    echo "@@L2 cpufeat pauth=$(grep -cw paca /proc/cpuinfo) sve=$(grep -cw sve /proc/cpuinfo) pmu=$(ls /sys/bus/event_source/devices | grep -c armv8) pvtime=$(dmesg | grep -c 'using stolen time PV')" ;;
  *" t=enospc "*)
    head -c 1048576 /dev/urandom > /tmp/a
    dd if=/tmp/a of=/dev/vda bs=1M count=1 conv=fsync 2>/dev/null
    echo "@@L2 early=$(sha256sum < /tmp/a | cut -d' ' -f1)"
    if dd if=/dev/zero of=/dev/vda bs=1M seek=2 count=8 conv=fsync 2>/dev/null; then echo "@@L2 enospc=no-error"
    else echo "@@L2 enospc=ioerror"; fi
    echo 3 > /proc/sys/vm/drop_caches
    echo "@@L2 readback=$(head -c 1048576 /dev/vda | sha256sum | cut -d' ' -f1)" ;;
  *" t=trunc "*)
    echo "@@L2 truncate-now"; sleep 5
    if dd if=/dev/vda of=/dev/null bs=1M skip=8 count=1 iflag=direct 2>/dev/null; then echo "@@L2 trunc=read-ok"
    else echo "@@L2 trunc=ioerror"; fi ;;
  *" t=writer "*)
    mount -t ext4 /dev/vda /mnt && echo "@@L2 writing"
    i=0; while true; do head -c 262144 /dev/urandom > /mnt/f$((i % 40)); i=$((i+1)); [ $((i % 8)) = 0 ] && sync; done ;;
  *" t=remount "*)
    mount -t ext4 /dev/vda /mnt && echo "@@L2 remount=ok files=$(ls /mnt | wc -l)" && umount /mnt ;;
  *" t=load "*)
    dhcp_up
    end=$(( $(cut -d. -f1 /proc/uptime) + 60 ))
    for d in vda vdb vdc vdd; do
      head -c 8388608 /dev/urandom > /tmp/pat-$d
      ( i=0; while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
          dd if=/tmp/pat-$d of=/dev/$d bs=1M seek=$(( i % 2 * 8 )) conv=fsync 2>/dev/null || echo "@@L2 write-error $d"
          i=$((i+1)); done; echo "@@L2 writer-done $d $i" ) &
    done
    ok=0; bad=0
    while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
      if [ "$(wget -q -O - http://10.0.2.2:8080/file.bin | sha256sum | cut -d' ' -f1)" = "$(cat /tmp/want 2>/dev/null || wget -q -O - http://10.0.2.2:8080/file.sha)" ]; then ok=$((ok+1)); else bad=$((bad+1)); fi
    done
    wait
    echo "@@L2 net ok=$ok bad=$bad"
    echo 3 > /proc/sys/vm/drop_caches
    for d in vda vdb vdc vdd; do echo "@@L2 disk $d $(cat /tmp/pat-$d /tmp/pat-$d | sha256sum | cut -d' ' -f1) $(head -c 16777216 /dev/$d | sha256sum | cut -d' ' -f1)"; done ;;
  *" t=asan "*)
    exec </dev/hvc0 >/dev/hvc0 2>&1; echo "@@L2 hvc=up"
    dhcp_up
    dd if=/dev/urandom of=/dev/vda bs=1M count=4 conv=fsync 2>/dev/null && echo "@@L2 asan-disk=ok"
    sh ;;
  *" t=exit7 "*) echo "@@L2 exiting 7"; devmem 0x9001000 32 7; sleep 5 ;;
  *" t=dhcp "*) dhcp_up; fetch_timed http://10.0.2.2:8080/file.bin ;;
  *" t=rebootload "*)
    # The boot count lives on the disk: reboot under network and disk
    # traffic three times, then power off.
    n=$(dd if=/dev/vda bs=8 count=1 2>/dev/null | tr -dc 0-9); n=$(( ${n:-0} + 1 ))
    printf '%-8d' $n | dd of=/dev/vda conv=notrunc,fsync 2>/dev/null
    echo "@@L2 boot=$n"
    if [ $n -lt 4 ]; then
      dhcp_up
      ( while :; do wget -q -O /dev/null http://10.0.2.2:8080/file.bin; done ) &
      ( while :; do dd if=/dev/urandom of=/dev/vda bs=65536 seek=16 count=64 conv=fsync 2>/dev/null; done ) &
      sleep 3
      echo "@@L2 rebooting under load"
      reboot -f
      sleep 30
    fi ;;
  *" t=readloop "*)
    echo "@@L2 reading"
    while :; do dd if=/dev/vda of=/dev/null bs=4194304 iflag=direct 2>/dev/null; done ;;
  *" t=stall "*)
    # 40 transfers host -> guest, then serve 40 guest -> host (L1 fetches
    # through hostfwd and times them).
    dhcp_up
    mtu=$(sed -n 's/.* mtu=\([0-9]*\).*/\1/p' /proc/cmdline)
    [ -n "$mtu" ] && ip link set eth0 mtu $mtu
    rmem=$(sed -n 's/.* rmem=\([0-9]*\).*/\1/p' /proc/cmdline)
    [ -n "$rmem" ] && echo "4096 $rmem 6291456" > /proc/sys/net/ipv4/tcp_rmem
    # one transfer first: a fresh VM's first pays for first-touch of its RAM
    # (stage-2 faults), not what this measures
    wget -q -O /dev/null http://10.0.2.2:8080/file.bin
    for i in $(seq 40); do
      cat /proc/net/snmp /proc/net/netstat > /tmp/tcp0
      t0=$(cut -d' ' -f1 /proc/uptime)
      wget -q -O /dev/null http://10.0.2.2:8080/file.bin || echo "@@L2 h2g-error $i"
      t1=$(cut -d' ' -f1 /proc/uptime)
      secs=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')
      echo "@@L2 h2g $i $secs"
      # A slow one: which of the guest's TCP counters moved, to say why.
      awk -v s=$secs 'BEGIN{exit !(s > 3)}' && cat /proc/net/snmp /proc/net/netstat | tcp_counters_moved /tmp/tcp0
    done
    mkdir -p /www2 && head -c 16777216 /dev/urandom > /www2/f
    httpd -p 8000 -h /www2
    echo "@@L2 serving"
    sleep 900 ;;
  *" t=fwd "*)
    dhcp_up
    echo "@@L2 listening"
    nc -l -p 5000 -e dd of=/tmp/in 2>/dev/null
    echo "@@L2 received=$(sha256sum < /tmp/in | cut -d' ' -f1)"
    nc -l -p 5001 -e cat /tmp/in
    sleep 2 # cat is done, but its last segments may still be in flight
    echo "@@L2 sent-back" ;;
  *" t=tap "*)
    ip link set eth0 up
    ip addr add 192.168.100.2/24 dev eth0
    ping -c 3 -W 2 192.168.100.1 >/dev/null && echo "@@L2 ping=ok"
    fetch_timed http://192.168.100.1:8080/file.bin ;;
esac
echo "@@L2 done"
