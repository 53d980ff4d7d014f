# Runs in L1: every measurement of `make bench`, each at least 5 times,
# as "@@B key=value" lines that tests/bench/run.sh turns into the table.
K=/rig/Image; L2=/rig/l2.cpio
CPUF=$(cat /rig/bench-cpu-features 2>/dev/null || echo all)
N=$(cat /rig/bench-samples 2>/dev/null || echo 5) # samples of each figure (BENCH_SAMPLES)
echo "@@B cpu_features=$CPUF"
# Every `saevm run` of the bench gets the same vCPU features: a wrapper
# first in PATH that execs saevm, so $! of a VM started with & is saevm.
mkdir -p /tmp/bin
printf '#!/bin/sh\n[ "$1" = run ] && shift && exec /rig/saevm run --cpu-features %s "$@"\nexec /rig/saevm "$@"\n' \
  "$CPUF" > /tmp/bin/saevm
chmod +x /tmp/bin/saevm
PATH=/tmp/bin:$PATH
info() { sed -n "s/.*$1 \([0-9.]*\) s.*/\1/p" "$2" | head -1; }
mount -t tracefs nodev /sys/kernel/tracing # vmtime --kvm-trace
el() { awk -v a=$1 -v b=$(cut -d' ' -f1 /proc/uptime) 'BEGIN{printf "%.2f", b-a}'; }
# The sections to run (BENCH_ONLY="share mem", say); all when empty.
ONLY=$(cat /rig/bench-only 2>/dev/null)
want() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) return 0;; *) return 1;; esac; }
QV=$(cat /rig/qemu-version 2>/dev/null || echo unknown)
echo "@@B qemu_version=$QV"

# saevm and its peer, QEMU with KVM, run alternately on the same work; see
# tests/bench/README for why these QEMU options are the fair match. One VM:
#   vm saevm|qemu MEM PARAMS [disk=FILE] [net=user] [bg] [feat=all|none]
#      [share=fs|9p] [initrd=FILE] [limit=SECONDS]
# runs it under vmtime (which stamps the guest's "@@M" marks, the first
# KVM_RUN, the guest's SYSTEM_OFF and the exit) into /tmp/vm.out.
# The vCPU features: saevm's --cpu-features all is QEMU's -cpu host, none
# is -cpu host with each of them off. The boot rows are also taken with the
# other set (ALTF), so the table compares like with like under both.
ALTF=none; [ "$CPUF" = none ] && ALTF=all
echo "@@B alt_cpu_features=$ALTF"
qcpu() { if [ "$1" = none ]; then echo host,pauth=off,sve=off,pmu=off,kvm-steal-time=off; else echo host; fi; }
vm() {
  local v=$1 mem=$2 params=$3 disk='' net='' bg='' feat=$CPUF share='' initrd=$L2 limit=300 vsock=''; shift 3
  for a in "$@"; do case $a in disk=*) disk=${a#disk=};; net=*) net=${a#net=};; bg) bg=1;; feat=*) feat=${a#feat=};;
    vsock=*) vsock=${a#vsock=};;
    share=*) share=${a#share=};; initrd=*) initrd=${a#initrd=};; limit=*) limit=${a#limit=};; esac; done
  if [ "$v" = saevm ]; then
    set -- /rig/saevm run --cpu-features $feat -k $K -i $initrd -m $mem -c 1 -p "$params" --log-level info --stats
    [ -n "$disk" ] && set -- "$@" -d "$disk"
    [ -n "$net" ] && set -- "$@" -n "$net"
    [ -n "$share" ] && set -- "$@" --share "$SH,proto=$share"
    [ -n "$vsock" ] && set -- "$@" --vsock 3 --name "$vsock"
  else
    set -- qemu-system-aarch64 -M virt,gic-version=3,its=off -accel kvm -cpu $(qcpu $feat) -smp 1 -m $mem \
      -nodefaults -no-user-config -display none -serial stdio -no-reboot \
      -global virtio-mmio.force-legacy=false -kernel $K -initrd $initrd \
      -append "console=ttyAMA0 $params" -device virtio-rng-device
    [ -n "$disk" ] && set -- "$@" -drive if=none,id=d0,file=$disk,format=raw -device virtio-blk-device,drive=d0
    [ "$net" = user ] && set -- "$@" -netdev user,id=n0 -device virtio-net-device,netdev=n0
    [ "$share" = 9p ] && set -- "$@" -fsdev local,id=f0,path=$SH,security_model=none \
      -device virtio-9p-device,fsdev=f0,mount_tag=saevm-share0
    # virtio-fs through vhost-user: virtiofsd (started by vfsd below) maps
    # the guest's RAM, so it must be shared memory.
    [ "$share" = fs ] && set -- "$@" -chardev socket,id=c0,path=/tmp/vfsd.sock \
      -device vhost-user-fs-device,chardev=c0,tag=saevm-share0 \
      -object memory-backend-memfd,id=mem,size=${mem}M,share=on -machine memory-backend=mem
  fi
  if [ -n "$bg" ]; then vmtime -- "$@" > /tmp/vm.out 2>&1 &
  else
    timeout $limit vmtime --kvm-trace -- "$@" > /tmp/vm.out 2>&1
    [ $? = 124 ] && { echo "@@E $v ran over its $limit s ($params $*): its last lines:"; tail -5 /tmp/vm.out | tr -d '\r' | sed 's/^/@@E   /'; }
  fi
}
# From /tmp/vm.out: a mark's time, VMM CPU or guest time, a vmtime stamp, a guest @@G.
mark_t() { sed -n "s/^@@V mark $1 t=\([0-9.]*\) .*/\1/p" /tmp/vm.out | head -1; }
mark_v() { sed -n "s/^@@V mark $1 t=.* $2=\([0-9.]*\).*/\1/p" /tmp/vm.out | head -1; } # LABEL cpu|guest
stamp() { sed -n "s/^@@V $1 t=\([0-9.]*\).*/\1/p" /tmp/vm.out | head -1; }
guest() { tr -d '\r' < /tmp/vm.out | sed -n "s/^@@G $1=//p" | head -1; }
# The guest-timed @@B figures of a VM, each as VMM.NAME, and the VMM's CPU
# and its vCPU's time in the guest per MiB for each step named in
# "STEP:MIB ..." (whose time a step is: the VMM's or the guest's own).
results() { # VMM STEP:MIB...
  local v=$1 sm s; shift
  tr -d '\r' < /tmp/vm.out | sed -n "s/^@@B /@@B $v./p"
  for sm in "$@"; do
    s=${sm%:*}
    for f in cpu guest; do
      awk -v a="$(mark_v ${s}_0 $f)" -v b="$(mark_v ${s}_1 $f)" -v m=${sm#*:} -v k="$v.${s}_$f" \
        'BEGIN{ if (a != "" && b != "") printf "@@B %s=%.4f\n", k, (b - a) / m }'
    done
  done
}

# Boot: start -> guest userspace, split into the VMM's setup (start -> the
# kernel's first kvm_entry), the kernel's early boot before its clock
# starts and its own uptime; the guest's SYSTEM_OFF -> the VMM's exit.
# boot_rows VMM PREFIX [params=KERNEL-PARAMS] [feat=SET...]: one boot (quiet
# unless params= says otherwise), its figures as VMM.PREFIXname.
boot_rows() {
  local v=$1 p=$2 params=quiet; shift 2
  case $1 in params=*) params=${1#params=}; shift;; esac
  vm $v 256 "$params" "$@"
  boot=$(mark_t userspace); setup=$(stamp first_entry); up=$(guest uptime)
  # saevm's exits and console bytes, for the exits each console byte costs
  if [ $v = saevm ]; then
    echo "@@B saevm.${p}mmio_exits=$(sed -n 's/.*stats: \([0-9]*\) MMIO exits.*/\1/p' /tmp/vm.out | head -1)"
    echo "@@B saevm.${p}console_bytes=$(sed -n 's/.*stats: console: \([0-9]*\) bytes written.*/\1/p' /tmp/vm.out | head -1)"
  fi
  echo "@@B $v.${p}boot=$boot"
  echo "@@B $v.${p}setup=$setup"
  echo "@@B $v.${p}guest_uptime=$up"
  awk -v b="$boot" -v s="$setup" -v u="$up" -v k=$v.${p}guest_early \
    'BEGIN{ if (b != "" && s != "" && u != "") printf "@@B %s=%.3f\n", k, b - s - u }'
  awk -v e="$(stamp exit)" -v o="$(stamp system_off)" -v k=$v.${p}exit \
    'BEGIN{ if (e != "" && o != "") printf "@@B %s=%.4f\n", k, e - o }'
  echo "@@B $v.${p}cpu=$(guest cpu)"
}
# The memory row runs first: after the block rows (which write an 80 MiB
# image into L1's tmpfs and drop L1's caches), both VMMs' file-backed
# resident memory reads about half of what it is in a fresh L1 (saevm's
# binary 548 KiB against 1,316; QEMU's 19,160 against 27,692), so a later
# measurement was not what a user measures by hand (tests/bench/README).
if want mem; then
# Memory outside guest RAM, idle after boot (1 vCPU, 128 MiB, no NIC),
# both VMMs by one /proc method: Rss of /proc/PID/smaps_rollup (the kernel
# walks every mapping's page tables) minus the Rss of the guest RAM mapping
# in /proc/PID/smaps (the one of at least 128 MiB). VmRSS from
# /proc/PID/status is printed beside it: on this 6.1 kernel it comes from
# per-thread counters that reach the mm only in batches, so it is off by up
# to 64 pages per thread (see tests/bench/README).
for i in $(seq $N); do
  for v in saevm qemu; do
    vm $v 128 'quiet t=idle' bg
    for j in $(seq 150); do grep -q "@@L2 idle" /tmp/vm.out && break; sleep 0.2; done
    sleep 1
    pid=$(sed -n 's/^@@V pid=//p' /tmp/vm.out)
    rss=$(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup)
    ram=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{big=0} /^Size:/{big=($2>=131072)} /^Rss:/{ if (big) ram+=$2 } END{print ram+0}' /proc/$pid/smaps)
    vmrss=$(awk '/^VmRSS:/{print $2}' /proc/$pid/status)
    echo "@@B $v.mem_kb=$((rss - ram))"
    echo "@@B $v.mem_vmrss_kb=$((vmrss - ram))"
    echo "@@B $v.ram_touched_kb=$ram"
    # Where it is (smaps, outside guest RAM): the code of the binary and
    # its libraries (file-backed, executable), their data (file-backed,
    # the rest), the heap, the main stack, thread stacks (anonymous
    # mappings of 1-16 MiB: glibc's 8 MiB stacks), and the rest.
    awk -v v=$v '/^[0-9a-f]+-[0-9a-f]+ /{n=$6; x=($2 ~ /x/)
        k = n ~ /^\// ? (x ? "text" : "filedata") : n == "[heap]" ? "heap" : n == "[stack]" ? "stack" : "anon"}
      /^Size:/{big=($2>=131072); if (k == "anon" && $2 > 1024 && $2 <= 16384) k = "threads"}
      /^Rss:/{ if (!big) r[k]+=$2 }
      END{ split("text filedata heap stack threads anon", ks, " ")
           for (i = 1; i <= 6; i++) printf "@@B %s.mem_%s_kb=%d\n", v, ks[i], r[ks[i]] }' /proc/$pid/smaps
    kill $pid; wait $! 2>/dev/null
  done
done
fi # mem
if want boot; then
for i in $(seq $N); do
  for v in saevm qemu; do
    boot_rows $v ''
    echo "@@B $v.devices=$(guest devices | tr ' ' '+')"
    # saevm's own part of the teardown: from the vCPU seeing SYSTEM_OFF to
    # the end of main (its log); the rest is the kernel's exit of the process.
    [ $v = saevm ] && echo "@@B saevm_exit_main=$(info 'exiting' /tmp/vm.out)"
    [ $v = saevm ] && echo "@@B setup_cpu=$(sed -n 's/.*enters the guest.*(\([0-9.]*\) s CPU).*/\1/p' /tmp/vm.out)"
  done
  saevm run -k /rig/probe.img --log-level info > /tmp/p.out 2>&1
  echo "@@B probe_boot=$(info 'boot-time marker:' /tmp/p.out)"
  echo "@@B probe_exit=$(info 'exiting' /tmp/p.out)"
done
for i in $(seq $N); do
  for v in saevm qemu; do boot_rows $v alt_ feat=$ALTF; done
done
fi # boot

if want verbose; then
# The same boot with the kernel's whole log on the console (no quiet), as
# CI boots usually keep it: what each console byte costs the guest.
for i in $(seq $N); do
  for v in saevm qemu; do boot_rows $v verbose_ params=; done
done
fi # verbose

if want exits; then
# MMIO exit cost: through saevm's dispatch, and a bare KVM_RUN loop.
# Without an in-kernel GIC, KVM's world switch is the bare loop's; with one
# (saevm's default), every entry also switches vGIC state.
for i in $(seq $N); do
  saevm run -k /rig/probe.img -p probe.exits=10000 --irqchip none > /tmp/e.out 2>&1
  sed -n 's/.*PROBE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\).*/@@B exit_ns=\1 \2 \3/p' /tmp/e.out | tr -d '\r'
  saevm run -k /rig/probe.img -p probe.exits=10000 > /tmp/e.out 2>&1
  sed -n 's/.*PROBE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\).*/@@B exit_gic_ns=\1 \2 \3/p' /tmp/e.out | tr -d '\r'
  bare-exit 10000 | sed -n 's/BARE exits \([0-9]*\) ticks \([0-9]*\) freq \([0-9]*\)/@@B bare_ns=\1 \2 \3/p'
done
fi # exits

if want blk; then
# Block, in the guest; the same dd on the backing file in L1 is the limit.
# BLK_4K: how many 4 KiB reads the guest makes (its bench.n4k=).
BLK_4K=1024
echo "@@B blk_4k_reqs=$BLK_4K"
dd if=/dev/zero of=/tmp/blk.img bs=1M count=80 2>/dev/null
for i in $(seq $N); do
  for v in saevm qemu; do
    vm $v 256 "quiet t=blk bench.n4k=$BLK_4K" disk=/tmp/blk.img
    results $v blk_read:64 blk_write:64 blk_4k:$((BLK_4K / 256))
    echo "@@B $v.blk_devices=$(guest devices | tr ' ' '+')"
  done
done
for i in $(seq $N); do
  sync; echo 3 > /proc/sys/vm/drop_caches
  t0=$(cut -d' ' -f1 /proc/uptime); dd if=/tmp/blk.img of=/dev/null bs=1M count=64 2>/dev/null
  t1=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/tmp/blk.img bs=1M count=64 conv=fsync,notrunc 2>/dev/null
  t2=$(cut -d' ' -f1 /proc/uptime)
  echo "@@B l1_read=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') "
  echo "@@B l1_write=$(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}') "
done
# MMIO exits per 4 KiB request: a run with BLK_4K requests minus one
# without; one pair, as the count does not vary from run to run.
exits() { sed -n 's/.*stats: \([0-9]*\) MMIO exits.*/\1/p' "$1"; }
saevm run -k $K -i $L2 -p "quiet t=blk4k bench.n4k=$BLK_4K" -d /tmp/blk.img --stats > /tmp/s1.out 2>&1
saevm run -k $K -i $L2 -p 'quiet' -d /tmp/blk.img --stats > /tmp/s0.out 2>&1
echo "@@B blk_exits_per_req=$(awk -v a=$(exits /tmp/s0.out) -v b=$(exits /tmp/s1.out) -v n=$BLK_4K 'BEGIN{printf "%.2f", (b-a)/n}')"
fi # blk

if want net; then
# Network: NET_MIB each way, user and tap; loopback in L1 is the limit.
# 8 MiB: QEMU's guest -> host takes about 1 s per MiB here.
NET_MIB=8
echo "@@B net_mib=$NET_MIB"
ip link set lo up
mkdir -p /www && head -c $((NET_MIB << 20)) /dev/urandom > /www/file.bin
httpd -p 8080 -h /www
( while true; do nc -l -p 5000 -e dd of=/dev/null 2>/dev/null; done ) &
sink=$!
for i in $(seq $N); do
  t0=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null http://127.0.0.1:8080/file.bin
  t1=$(cut -d' ' -f1 /proc/uptime); nc 127.0.0.1 5000 < /www/file.bin
  t2=$(cut -d' ' -f1 /proc/uptime)
  echo "@@B lo_rx=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')"
  echo "@@B lo_tx=$(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}')"
done
# User networking: 5 VMs of each, alternately, one round each way; each
# saevm also gives its MMIO exits per frame (--stats: exits over frames).
for i in $(seq $N); do
  for v in saevm qemu; do
    vm $v 256 'quiet t=user' net=user
    results $v rx:$NET_MIB tx:$NET_MIB | sed "s/@@B $v\./@@B $v.user_/"
    echo "@@B $v.net_devices=$(guest devices | tr ' ' '+')"
    [ $v = saevm ] && cp /tmp/vm.out /tmp/user.out
  done
  sed -n 's/.*tx \([0-9]*\) frames.*rx \([0-9]*\) frames.*/\1 \2/p' /tmp/user.out | head -1 > /tmp/uf
  echo "@@B user_exits_per_packet=$(awk -v e=$(exits /tmp/user.out) '{printf "%.2f", e/($1+$2)}' /tmp/uf)"
done
tunctl -t tap0 >/dev/null && ip addr add 192.168.100.1/24 dev tap0 && ip link set tap0 up
timeout 300 saevm run -k $K -i $L2 -p 'quiet t=tap' -n tap,ifname=tap0 > /tmp/tap.out 2>&1
grep '@@B' /tmp/tap.out | tr -d '\r' | sed 's/@@B /@@B tap_/'
kill $sink 2>/dev/null
fi # net

if want vsock; then
# vsock against user networking, 64 MiB each way, in one guest, alternately
# (l2-bench.sh t=vsock): into `cat > /dev/null` at the receiving end. L1's
# ends: a Unix socket per direction (a guest's connection to host port P is
# NAME.vsock_P), httpd and nc for the network.
mkdir -p /run/saevm && chmod 700 /run/saevm
ip link set lo up # slirp's 10.0.2.2 is L1's loopback
mkdir -p /www64 && head -c 67108864 /dev/zero > /www64/z
httpd -p 8081 -h /www64
( while true; do nc -l -p 5002 -e dd of=/dev/null 2>/dev/null; done ) &
sink=$!
( while true; do /rig/vsock_peer unix-listen /run/saevm/vb.vsock_5001 < /dev/null | cat > /dev/null; done ) &
vsink=$!
( while true; do /rig/vsock_peer unix-listen /run/saevm/vb.vsock_5003 < /www64/z > /dev/null; done ) &
vsource=$!
for i in $(seq $N); do
  vm saevm 256 'quiet t=vsock' net=user vsock=vb
  results saevm vsock_tx:64 user_tx64:64 vsock_rx:64 user_rx64:64
  [ "$(guest user_rx64_bytes)" = 67108864 ] || echo "@@E vsock: user networking moved $(guest user_rx64_bytes) bytes, not 64 MiB"
done
kill $sink $vsink $vsource 2>/dev/null
fi # vsock

if want sandbox; then
# The sandbox (busybox rootfs over virtio-fs): `saevm sandbox -- true` start to
# exit against `saevm run` of the same kernel to userspace and poweroff,
# alternately.
R=/rig/rootfs; mkdir -p $R && tar -xf /rig/rootfs.tar -C $R
mkdir -p /work/sbt && cd /work/sbt # the sandbox shares its working directory
# A sandbox that stays up, for saevm exec -- true beside saevm sandbox -- true.
saevm sandbox -k $K --rootfs $R --cpu-features $CPUF -m 256 -p saevm.times --name bx --detach > /tmp/bx.out 2>&1 ||
  sed 's/^/@@E sandbox --detach: /' /tmp/bx.out
for i in $(seq $N); do
  t0=$(cut -d' ' -f1 /proc/uptime)
  SAEVM_EXEC_TIMES=1 saevm exec bx -- true > /tmp/ext.out 2>&1
  echo "@@B exec_true=$(el $t0)"
  # Its split: saevm exec's start -> the stream to the init is up (connect);
  # the init's accept -> the command runs (spawn); the command's end -> its
  # status and sync (exit); from saevm exec's and the init's clocks.
  sed -n 's/.*stream up \([0-9.]*\) s, status \([0-9.]*\) s.*/\1 \2/p' /tmp/ext.out |
    awk '{printf "@@B exec_connect=%s\n@@B exec_whole_in_saevm=%s\n", $1, $2}'
  sed -n 's/.*times (guest uptime, s): accepted=\([0-9.]*\) started=\([0-9.]*\) exited=\([0-9.]*\) synced=\([0-9.]*\).*/\1 \2 \3 \4/p' \
    /tmp/ext.out | awk '{printf "@@B exec_spawn=%.4f\n@@B exec_run=%.4f\n@@B exec_exit=%.4f\n", $2-$1, $3-$2, $4-$3}'
  grep -m1 'error' /tmp/ext.out | sed 's/^/@@E exec: /'
  t0=$(cut -d' ' -f1 /proc/uptime); saevm run -k $K -i $L2 -p quiet -m 256 > /dev/null 2>&1
  echo "@@B run_whole=$(el $t0)"
  t0=$(cut -d' ' -f1 /proc/uptime)
  saevm sandbox -k $K --rootfs $R --cpu-features $CPUF -m 256 -p saevm.times --log-level info -- true > /tmp/sbt.out 2>&1
  echo "@@B sandbox_true=$(el $t0)"
  grep -m1 'error' /tmp/sbt.out | sed 's/^/@@E sandbox: /' # a sandbox that failed says why in the log
  # Where it went: saevm's setup, the kernel up to the init, the modules,
  # the 9p mounts, the command (guest uptime, from saevm.times).
  echo "@@B sb_setup=$(info 'enters the guest' /tmp/sbt.out)"
  echo "@@B sb_init_up=$(sed -n 's/.*init is up, \([0-9.]*\) s.*/\1/p' /tmp/sbt.out)"
  sed -n 's/.*times (guest uptime, s): init=\([0-9.]*\) modules=\([0-9.]*\) mounted=\([0-9.]*\) command=\([0-9.]*\).*/\1 \2 \3 \4/p' \
    /tmp/sbt.out | awk '{printf "@@B sb_kernel=%s\n@@B sb_modules=%.3f\n@@B sb_mounts=%.3f\n@@B sb_command=%.3f\n", $1, $2-$1, $3-$2, $4-$3}'
done
saevm stop bx > /dev/null
fi # sandbox
if want share; then
# Sharing: one L1 directory, the same guest (the busybox initramfs with the
# 9p and virtiofs modules, mounted as saevm's sandbox mounts them) and the
# same work through saevm's virtio-fs and 9p, QEMU's 9p (-fsdev local) and
# QEMU with Debian 12's virtiofsd (both cache=auto), alternately; the same
# work in L1 and in the guest's tmpfs are the limits. See tests/bench/README.
SH=/work/share; SH_MIB=64; SH_4K=512
SH_N=$(cat /rig/bench-share-samples 2>/dev/null || echo 3)
echo "@@B share_mib=$SH_MIB"; echo "@@B share_4k_reqs=$SH_4K"
mkdir -p $SH/tree && cd $SH/tree
for d in $(seq 50); do mkdir d$d; (cd d$d && for f in $(seq 100); do : > f$f; done); done
cp /rig/source.tar $SH/source.tar
cd $SH
for i in $(seq $N); do
  t0=$(cut -d' ' -f1 /proc/uptime); find tree -type f | xargs stat -c '%n %s %Y' > /dev/null; echo "@@B stat_l1=$(el $t0)"
done
# The developer step in L1: untar, checksum every file, remove the tree.
tree_step='tar -xf source.tar -C x && find x -type f | xargs sha256sum > /dev/null && rm -rf x/*'
mkdir -p /work/l1tree && cp /rig/source.tar /work/l1tree/ && cd /work/l1tree && mkdir -p x
for i in $(seq $N); do
  sync; echo 3 > /proc/sys/vm/drop_caches
  t0=$(cut -d' ' -f1 /proc/uptime); sh -c "$tree_step"; echo "@@B tree_l1=$(el $t0)"
done
cd $SH
vfsd() { # QEMU's virtiofsd on $SH, for one VM (it ends with the VM's connection)
  pkill -9 -f /usr/lib/qemu/virtiofsd 2>/dev/null; rm -f /tmp/vfsd.sock
  /usr/lib/qemu/virtiofsd --socket-path=/tmp/vfsd.sock -o source=$SH -o cache=auto -o sandbox=chroot \
    > /tmp/vfsd.log 2>&1 &
  VFSD_PID=$!
  for j in $(seq 100); do [ -S /tmp/vfsd.sock ] && return 0; sleep 0.1; done
  echo "@@B vfsd_failed=$(head -c 300 /tmp/vfsd.log | tr '\n' ' ')"
}
for i in $(seq $SH_N); do
  for proto in fs 9p; do
    for v in saevm qemu; do
      sync; echo 3 > /proc/sys/vm/drop_caches
      [ $v = qemu ] && [ $proto = fs ] && vfsd
      vm $v 256 "quiet t=share bench.proto=$proto bench.mib=$SH_MIB bench.n4k=$SH_4K" share=$proto initrd=/rig/l2-share.cpio limit=1200
      results $v sh_write:$SH_MIB sh_read:$SH_MIB | sed "s/@@B $v\./@@B $v.${proto}_/"
      echo "@@B $v.${proto}_share_devices=$(guest devices | tr ' ' '+')"
      [ $v = saevm ] && grep -E 'virtio-(fs|9p)\): |saevm-share0: ' /tmp/vm.out | tr -d '\r' | sed 's/^/@@S /'
      [ -n "${VFSD_PID:-}" ] && { kill $VFSD_PID 2>/dev/null; wait $VFSD_PID 2>/dev/null; VFSD_PID=; }
    done
  done
done
fi # share
echo "@@B done"
