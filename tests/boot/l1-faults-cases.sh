# Runs in L1: host faults and load (issue "Hardening"). L1's /dev/vda is a
# disk of the x86 host, which checks the ext4 image copied there at the end.
. /rig/lib.sh

# The disk's filesystem is full: ENOSPC reaches the guest as an I/O error,
# the data written before stays, saevm keeps running (the guest powers off).
mkdir -p /small && mount -t tmpfs -o size=4m tmpfs /small && truncate -s 16M /small/d.img
case_ fault-enospc 0 90 "run -k $K -i $L2 -p 'quiet t=enospc' -d /small/d.img" "@@L2 enospc=ioerror"
early=$(guest_says fault-enospc early)
verdict fault-enospc-intact "$([ -n "$early" ] && [ "$(guest_says fault-enospc readback)" = "$early" ] &&
  [ "$(head -c 1048576 /small/d.img | sha)" = "$early" ] || echo 'earlier data changed')"

# The image is truncated under the running guest: reads past the new end
# are I/O errors; saevm keeps running.
truncate -s 16M /tmp/t.img
timeout -s KILL 90 saevm run -k $K -i $L2 -p 'quiet t=trunc' -d /tmp/t.img > /tmp/trunc.out 2>&1 &
vm=$!
for i in $(seq 150); do grep -q "@@L2 truncate-now" /tmp/trunc.out && break; sleep 0.2; done
truncate -s 1M /tmp/t.img
wait $vm; rc=$?
sed 's/^/[trunc] /' /tmp/trunc.out
verdict fault-truncated "$([ $rc = 0 ] && grep -q '@@L2 trunc=ioerror' /tmp/trunc.out || echo "rc=$rc")"

# The terminal hangs up (SIGHUP): a clean stop with code 84.
timeout -s KILL 60 saevm run -k $K -i $L2 -p 'quiet t=sleep' > /tmp/hup.out 2>&1 &
vm=$!
for i in $(seq 150); do grep -q "@@L2 userspace" /tmp/hup.out && break; sleep 0.2; done
kill -HUP $vm; wait $vm; rc=$?
verdict fault-sighup "$([ $rc = 84 ] || echo "rc=$rc")"

# SIGKILL of saevm while the guest writes to ext4; a fresh boot replays the
# journal; this host's e2fsck checks the image afterwards.
cp /rig/ext4.img /tmp/j.img
timeout -s KILL 120 saevm run -k $K -i $L2 -p 'quiet t=writer' -d /tmp/j.img > /tmp/kill.out 2>&1 &
vm=$!
for i in $(seq 150); do grep -q "@@L2 writing" /tmp/kill.out && break; sleep 0.2; done
sleep 3
kill -9 $vm; wait $vm 2>/dev/null
case_ fault-sigkill-remount 0 90 "run -k $K -i $L2 -p 'quiet t=remount' -d /tmp/j.img" "@@L2 remount=ok"
dd if=/tmp/j.img of=/dev/vda bs=1M 2>/dev/null && sync && echo "@@L1 ext4-image-copied"

# The seccomp filter on a real arm64 kernel: each call saevm must not make
# after setup (typing into the terminal, an unknown ioctl, executable
# memory, a new process, prctl, exec) ends it with 88 and names the call.
for c in tiocsti:ioctl tioclinux:ioctl ioctl:ioctl mmap-exec:mmap mprotect-exec:mprotect fork:clone \
         prctl:prctl execve:execve; do
  export SAEVM_TEST_DENIED_CALL=${c%%:*}
  case_ seccomp-${c%%:*} 88 60 "run -k $K -i $L2" "refused system call" "(${c#*:})"
done
unset SAEVM_TEST_DENIED_CALL

# A guest that keeps the disk busy with large direct reads: `saevm stop`
# ends saevm within 1 s.
truncate -s 64M /tmp/readloop.img
timeout -s KILL 90 saevm run --name reader -k $K -i $L2 -p 'quiet t=readloop' -d /tmp/readloop.img --stats \
  > /tmp/readloop.out 2>&1 &
vm=$!
for i in $(seq 150); do grep -q "@@L2 reading" /tmp/readloop.out && break; sleep 0.2; done
sleep 2
t0=$(cut -d' ' -f1 /proc/uptime)
saevm stop reader > /dev/null
wait $vm; rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
sed 's/^/[readloop] /' /tmp/readloop.out
dt=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')
verdict stop-under-io "$([ $rc = 87 ] && awk -v d=$dt 'BEGIN{exit !(d < 1.0)}' || echo "rc=$rc after $dt s")" "dt=$dt"

# Load: parallel writers on 4 disks and HTTP transfers for 60 s; then every
# disk holds what its writer wrote and saevm counted no errors.
ip link set lo up
mkdir -p /www && head -c 4194304 /dev/urandom > /www/file.bin
sha /www/file.bin > /www/file.sha
httpd -p 127.0.0.1:8080 -h /www
for d in a b c d; do truncate -s 16M /tmp/load-$d.img; done
case_ load-60s 0 240 "run -k $K -i $L2 -p 'quiet t=load' -n user --stats -d /tmp/load-a.img -d /tmp/load-b.img -d /tmp/load-c.img -d /tmp/load-d.img" \
  "@@L2 net ok=" "bad=0" "0 errors" "0 malformed requests"
why=""
for d in a b c d; do
  v=$(tr -d '\r' < /tmp/load-60s.out | grep "@@L2 disk vd$d" | cut -d' ' -f4)
  [ -n "$v" ] && [ "$v" = "$(sha /tmp/load-$d.img)" ] || why="$why vd$d differs;"
done
grep -q "write-error" /tmp/load-60s.out && why="$why the guest saw write errors;"
verdict load-60s-verified "$why" "$(tr -d '\r' < /tmp/load-60s.out | grep -o 'net ok=[0-9]*')"

# An ASan + UBSan build of saevm boots a guest with disks, network and hvc0.
if [ -x /rig/saevm-asan ]; then
  truncate -s 16M /tmp/asan.img
  printf 'echo hvc-ok\nexit\n' > /tmp/asan.in
  STDIN=/tmp/asan.in case_ asan-boot 0 300 "run -k $K -i $L2 -p 'quiet t=asan' -d /tmp/asan.img -n user --console virtio" \
    "@@L2 lease=10.0.2.15" "hvc-ok"
  sed -i 's/^/ /' /tmp/asan-boot.out
  verdict asan-clean "$(grep -qE 'ERROR: AddressSanitizer|runtime error:' /tmp/asan-boot.out && echo 'sanitizer report')"
fi
echo "@@L1 cases-done"
