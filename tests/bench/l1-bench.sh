# Runs in L1: every measurement of `make bench`, each at least 5 times,
# as "@@B key=value" lines that tests/bench/run.sh turns into the table.
K=/rig/Image; L2=/rig/l2.cpio
CPUF=$(cat /rig/bench-cpu-features 2>/dev/null || echo all)
echo "@@B cpu_features=$CPUF"
# Every `saevm run` of the bench gets the same vCPU features: a wrapper
# first in PATH that execs saevm, so $! of a VM started with & is saevm.
mkdir -p /tmp/bin
printf '#!/bin/sh\n[ "$1" = run ] && shift && exec /rig/saevm run --cpu-features %s "$@"\nexec /rig/saevm "$@"\n' \
  "$CPUF" > /tmp/bin/saevm
chmod +x /tmp/bin/saevm
PATH=/tmp/bin:$PATH
info() { sed -n "s/.*$1 \([0-9.]*\) s.*/\1/p" "$2" | head -1; }

# Boot: saevm start -> guest userspace (marker), setup, poweroff -> exit.
for i in 1 2 3 4 5 6 7; do
  saevm run -k $K -i $L2 -p quiet -m 256 -c 1 --log-level info > /tmp/b.out 2>&1
  boot=$(info 'boot-time marker:' /tmp/b.out); setup=$(info 'enters the guest' /tmp/b.out)
  echo "@@B boot=$boot"
  echo "@@B setup_wall=$setup"
  echo "@@B setup_cpu=$(sed -n 's/.*enters the guest.*(\([0-9.]*\) s CPU).*/\1/p' /tmp/b.out)"
  echo "@@B exit=$(info 'exiting' /tmp/b.out)"
  # Where the boot time goes: saevm's setup, the kernel before its clock
  # starts (early boot: page tables, memory map), the kernel after it.
  up=$(tr -d '\r' < /tmp/b.out | sed -n 's/^@@G uptime=//p')
  echo "@@B guest_uptime=$up"
  awk -v b="$boot" -v s="$setup" -v u="$up" \
    'BEGIN{ if (b != "" && s != "" && u != "") printf "@@B guest_early=%.3f\n", b - s - u }'
  saevm run -k /rig/probe.img --log-level info > /tmp/p.out 2>&1
  echo "@@B probe_boot=$(info 'boot-time marker:' /tmp/p.out)"
  echo "@@B probe_exit=$(info 'exiting' /tmp/p.out)"
done

# MMIO exit cost: through saevm's dispatch, and a bare KVM_RUN loop.
# Without an in-kernel GIC, KVM's world switch is the bare loop's; with one
# (saevm's default), every entry also switches vGIC state.
for i in 1 2 3 4 5; do
  saevm run -k /rig/probe.img -p probe.exits=20000 --irqchip none > /tmp/e.out 2>&1
  sed -n 's/.*PROBE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\).*/@@B exit_ns=\1 \2 \3/p' /tmp/e.out | tr -d '\r'
  saevm run -k /rig/probe.img -p probe.exits=20000 > /tmp/e.out 2>&1
  sed -n 's/.*PROBE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\).*/@@B exit_gic_ns=\1 \2 \3/p' /tmp/e.out | tr -d '\r'
  bare-exit 20000 | sed -n 's/BARE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\)/@@B bare_ns=\1 \2 \3/p'
done

# Block, in the guest; the same dd on the backing file in L1 is the limit.
dd if=/dev/zero of=/tmp/blk.img bs=1M count=80 2>/dev/null
timeout 300 saevm run -k $K -i $L2 -p 'quiet t=blk' -d /tmp/blk.img > /tmp/blk.out 2>&1
grep '@@B' /tmp/blk.out | tr -d '\r'
for i in 1 2 3 4 5; do
  sync; echo 3 > /proc/sys/vm/drop_caches
  t0=$(cut -d' ' -f1 /proc/uptime); dd if=/tmp/blk.img of=/dev/null bs=1M count=64 2>/dev/null
  t1=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/tmp/blk.img bs=1M count=64 conv=fsync,notrunc 2>/dev/null
  t2=$(cut -d' ' -f1 /proc/uptime)
  echo "@@B l1_read=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') "
  echo "@@B l1_write=$(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}') "
done
# MMIO exits per 4 KiB request: a run with 4096 requests minus one
# without, 5 pairs.
exits() { sed -n 's/.*stats: \([0-9]*\) MMIO exits.*/\1/p' "$1"; }
for i in 1 2 3 4 5; do
  saevm run -k $K -i $L2 -p 'quiet t=blk4k' -d /tmp/blk.img --stats > /tmp/s1.out 2>&1
  saevm run -k $K -i $L2 -p 'quiet' -d /tmp/blk.img --stats > /tmp/s0.out 2>&1
  echo "@@B blk_exits_per_req=$(awk -v a=$(exits /tmp/s0.out) -v b=$(exits /tmp/s1.out) 'BEGIN{printf "%.2f", (b-a)/4096}')"
done

# Network: 16 MiB each way, user and tap; loopback in L1 is the limit.
ip link set lo up
mkdir -p /www && head -c 16777216 /dev/urandom > /www/file.bin
httpd -p 8080 -h /www
( while true; do nc -l -p 5000 -e dd of=/dev/null 2>/dev/null; done ) &
sink=$!
for i in 1 2 3 4 5; do
  t0=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null http://127.0.0.1:8080/file.bin
  t1=$(cut -d' ' -f1 /proc/uptime); nc 127.0.0.1 5000 < /www/file.bin
  t2=$(cut -d' ' -f1 /proc/uptime)
  echo "@@B lo_rx=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')"
  echo "@@B lo_tx=$(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}')"
done
# User networking: 5 VMs of 3 rounds each; each VM also gives its MMIO
# exits per frame (--stats exits over frames both ways).
for i in 1 2 3 4 5; do
  timeout 300 saevm run -k $K -i $L2 -p 'quiet t=user' -n user --stats > /tmp/user.out 2>&1
  grep '@@B' /tmp/user.out | tr -d '\r' | sed 's/@@B /@@B user_/'
  sed -n 's/.*tx \([0-9]*\) frames.*rx \([0-9]*\) frames.*/\1 \2/p' /tmp/user.out | head -1 > /tmp/uf
  echo "@@B user_exits_per_packet=$(awk -v e=$(exits /tmp/user.out) '{printf "%.2f", e/($1+$2)}' /tmp/uf)"
done
tunctl -t tap0 >/dev/null && ip addr add 192.168.100.1/24 dev tap0 && ip link set tap0 up
timeout 300 saevm run -k $K -i $L2 -p 'quiet t=tap' -n tap,ifname=tap0 > /tmp/tap.out 2>&1
grep '@@B' /tmp/tap.out | tr -d '\r' | sed 's/@@B /@@B tap_/'
kill $sink 2>/dev/null

# Memory: saevm's own RSS outside guest RAM, idle after boot, 128 MiB, no
# NIC; 5 VMs.
for i in 1 2 3 4 5; do
  saevm run -k $K -i $L2 -p 'quiet t=idle' -m 128 > /tmp/m.out 2>&1 &
  vm=$!
  for j in $(seq 100); do grep -q "@@L2 idle" /tmp/m.out && break; sleep 0.2; done
  sleep 1
  awk '/^[0-9a-f]+-[0-9a-f]+ /{big=0} /^Size:/{big=($2>=131072)} /^Rss:/{ if (!big) rss+=$2; else ram+=$2 }
       END{printf "@@B mem_kb=%d\n@@B ram_touched_kb=%d\n", rss, ram}' /proc/$vm/smaps
  kill $vm; wait $vm 2>/dev/null
done
# The sandbox (busybox rootfs over 9p): `saevm sandbox -- true` start to
# exit against `saevm run` of the same kernel to userspace and poweroff,
# alternately; 64 MiB through the share against virtio-blk above (both on
# L1's rootfs); stat of a 10,000-file tree, cold and warm, against L1.
R=/rig/rootfs; mkdir -p $R && tar -xf /rig/rootfs.tar -C $R
el() { awk -v a=$1 -v b=$(cut -d' ' -f1 /proc/uptime) 'BEGIN{printf "%.2f", b-a}'; }
for i in 1 2 3 4 5; do
  t0=$(cut -d' ' -f1 /proc/uptime); saevm run -k $K -i $L2 -p quiet -m 256 > /dev/null 2>&1
  echo "@@B run_whole=$(el $t0)"
  t0=$(cut -d' ' -f1 /proc/uptime)
  saevm sandbox -k $K --rootfs $R --cpu-features $CPUF -m 256 -p saevm.times --log-level info -- true > /tmp/sbt.out 2>&1
  echo "@@B sandbox_true=$(el $t0)"
  # Where it went: saevm's setup, the kernel up to the init, the modules,
  # the 9p mounts, the command (guest uptime, from saevm.times).
  echo "@@B sb_setup=$(info 'enters the guest' /tmp/sbt.out)"
  echo "@@B sb_init_up=$(sed -n 's/.*init is up, \([0-9.]*\) s.*/\1/p' /tmp/sbt.out)"
  sed -n 's/.*times (guest uptime, s): init=\([0-9.]*\) modules=\([0-9.]*\) mounted=\([0-9.]*\) command=\([0-9.]*\).*/\1 \2 \3 \4/p' \
    /tmp/sbt.out | awk '{printf "@@B sb_kernel=%s\n@@B sb_modules=%.3f\n@@B sb_mounts=%.3f\n@@B sb_command=%.3f\n", $1, $2-$1, $3-$2, $4-$3}'
done
mkdir -p /work/sb && cd /work/sb
for i in 1 2 3; do
  rm -f f.bin; sync; echo 3 > /proc/sys/vm/drop_caches
  saevm sandbox -k $K --rootfs $R --cpu-features $CPUF -- sh -c 'up() { cut -d" " -f1 /proc/uptime; }
    t0=$(up); dd if=/dev/zero of=f.bin bs=1M count=64 conv=fsync 2>/dev/null; t1=$(up)
    echo 3 > /proc/sys/vm/drop_caches; dd if=f.bin of=/dev/null bs=1M 2>/dev/null; t2=$(up)
    awk -v a=$t0 -v b=$t1 -v c=$t2 "BEGIN{printf \"@@B share_write=%.2f\n@@B share_read=%.2f\n\", b-a, c-b}"' 2>&1 |
    grep '@@B'
done
rm -f f.bin
mkdir -p /work/sb/tree && cd /work/sb/tree
for d in $(seq 100); do mkdir d$d; (cd d$d && for f in $(seq 100); do : > f$f; done); done
cd /work/sb
for i in 1 2 3 4 5; do
  t0=$(cut -d' ' -f1 /proc/uptime); find tree -type f | xargs stat > /dev/null; echo "@@B stat_l1=$(el $t0)"
done
for i in 1; do
  saevm sandbox -k $K --rootfs $R --cpu-features $CPUF -- sh -c 'for p in cold warm; do
    t0=$(cut -d" " -f1 /proc/uptime); find tree -type f | xargs stat > /dev/null
    t1=$(cut -d" " -f1 /proc/uptime); echo "@@B stat_share_$p=$(awk -v a=$t0 -v b=$t1 "BEGIN{printf \"%.2f\", b-a}")"; done' 2>&1 |
    grep '@@B'
done
echo "@@B done"
