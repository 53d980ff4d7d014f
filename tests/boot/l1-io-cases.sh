# Runs in L1: disks, virtio console and rng (issue "virtio-mmio devices").
# L1's own /dev/vda is a disk image of the x86 host; the host checks the
# filesystem the L2 guest makes on it with e2fsck.
. /rig/lib.sh

# The guest writes 8 MiB of random bytes, syncs, powers off: the image holds them.
truncate -s 16M /tmp/w.img
case_ blk-write 0 60 "run -k $K -i $L2 -p 'quiet t=blkwrite' -d /tmp/w.img" "@@L2 wrote=" "@@L2 rng=virtio_rng.0 16"
verdict blk-write-bytes "$([ "$(guest_says blk-write wrote)" = "$(head -c 8388608 /tmp/w.img | sha)" ] || echo 'image differs from what the guest wrote')"

# The guest reads a pattern the host made.
head -c 8388608 /dev/urandom > /tmp/r.img
case_ blk-read 0 60 "run -k $K -i $L2 -p 'quiet t=blkread' -d /tmp/r.img"
verdict blk-read-bytes "$([ "$(guest_says blk-read read)" = "$(sha /tmp/r.img)" ] || echo 'guest read other bytes')"

# A read-only disk refuses writes and stays unchanged.
before=$(sha /tmp/r.img)
case_ blk-ro 0 60 "run -k $K -i $L2 -p 'quiet t=ro' -d /tmp/r.img,ro" "@@L2 ro=refused"
verdict blk-ro-unchanged "$([ "$before" = "$(sha /tmp/r.img)" ] || echo 'read-only image changed')"

# Two disks at once, in command-line order, with their ids as serials.
printf 'AAAAA' > /tmp/a.img; truncate -s 1M /tmp/a.img
printf 'BBBBB' > /tmp/b.img; truncate -s 1M /tmp/b.img
case_ blk-two 0 60 "run -k $K -i $L2 -p 'quiet t=two' -d /tmp/a.img,id=first -d /tmp/b.img,id=second" \
  "@@L2 vda=AAAAA vdb=BBBBB" "@@L2 serials=first/second"

# mkfs.ext2, mount, files, umount on a block device (L1's /dev/vda), with
# O_DIRECT (tmpfs above has none: that is a clear error).
case_ blk-direct-tmpfs 66 20 "run -k $K -i $L2 -d /tmp/r.img,direct" "does not support direct I/O"
case_ blk-mkfs 0 90 "run -k $K -i $L2 -p 'quiet t=mkfs' -d /dev/vda,direct" "@@L2 mkfs=ok"

# A second saevm on an image in use is refused, naming the file.
saevm run -k $K -i $L2 -p 'quiet t=sleep' -d /tmp/w.img > /tmp/first.out 2>&1 &
first=$!
sleep 2
case_ blk-locked 68 20 "run -k $K -i $L2 -d /tmp/w.img" "saevm: error: disk /tmp/w.img is in use"
# SIGTERM from outside stops it cleanly: exit 84, disks synced.
kill -TERM $first; wait $first; rc=$?
verdict sigterm "$([ $rc = 84 ] || echo "rc=$rc want 84")"

# The guest's shell on hvc0 answers a command sent on stdin.
printf 'echo hvc-says-$((6*7))\nexit\n' > /tmp/hvc.in
STDIN=/tmp/hvc.in case_ hvc0-shell 0 60 "run -k $K -i $L2 -p 'quiet t=hvc' --console virtio" \
  "@@L2 hvc=up" "hvc-says-42"

# virtio-vsock, both ways, 4 MiB each, through L1 programs on saevm's Unix
# sockets (in the control directory, /run/saevm for root).
mkdir -p /run/saevm && chmod 700 /run/saevm
vsock_peer unix-echo /run/saevm/vs1.vsock_5000 &
echo_pid=$!
case_ vsock-guest-to-host 0 180 "run -k $K -i $L2 -p 'quiet t=vsock-connect' --name vs1 --vsock 3" "@@L2 vsock-sent="
verdict vsock-guest-to-host-bytes "$([ -n "$(guest_says vsock-guest-to-host vsock-sent)" ] &&
  [ "$(guest_says vsock-guest-to-host vsock-sent)" = "$(guest_says vsock-guest-to-host vsock-back)" ] ||
  echo "the bytes that came back differ: $(guest_says vsock-guest-to-host vsock-back)")"
kill $echo_pid 2>/dev/null; rm -f /run/saevm/vs1.vsock_5000
head -c 4194304 /dev/urandom > /tmp/vs.bin
case_ vsock-host-to-guest 0 180 "run -k $K -i $L2 -p 'quiet t=vsock-echo' --name vs2 --vsock 3" "@@L2 vsock-echoed" &
case_pid=$!
for i in $(seq 120); do grep -q "@@L2 vsock-listening" /tmp/vsock-host-to-guest.out 2>/dev/null && break; sleep 1; done
back=$(vsock_peer unix-connect /run/saevm/vs2.vsock 6000 < /tmp/vs.bin | sha)
wait $case_pid
verdict vsock-host-to-guest-bytes "$([ "$back" = "$(sha /tmp/vs.bin)" ] || echo "the bytes that came back differ: $back")"
verdict vsock-sockets-removed "$(ls /run/saevm/ | grep vsock && echo 'sockets left behind')"
echo "@@L1 cases-done"
