# Runs in L1: saevm sandbox on a busybox rootfs (made by run.sh from
# Debian's busybox-static and the kernel's own modules): exit statuses,
# streams, the shared directory and its confinement, a pseudo-terminal.
. /rig/lib.sh
R=/rig/rootfs
mkdir -p $R && tar -xf /rig/rootfs.tar -C $R
SB="sandbox -k $K --rootfs $R"
mkdir -p /work/share && cd /work/share

# Exit statuses: the command's own, byte for byte; 126, 127 as env has them.
case_ sb-exit42 42 60 "$SB -- sh -c 'exit 42'"
case_ sb-false 1 60 "$SB -- false"
case_ sb-true 0 60 "$SB true"
case_ sb-notfound 127 60 "$SB -- /nonexistent" "saevm-init: /nonexistent: No such file or directory"
printf 'echo hi\n' > /work/share/noexec.sh; chmod 644 /work/share/noexec.sh
case_ sb-noexec 126 60 "$SB -- ./noexec.sh" "Permission denied"
# Arguments pass as they are, '=' and newlines included.
case_ sb-args 0 60 "$SB -- sh -c 'a=1
echo \"x=\$a\" \"\$0\"' 'arg=with=equals'" "x=1 arg=with=equals"
case_ sb-kill9 137 60 "$SB -- sh -c 'kill -9 \$\$'"
case_ sb-badopt 125 10 "$SB --bogus -- true" "saevm: error: unknown option"
case_ sb-norootfs 125 10 "sandbox -k $K --rootfs /nonexistent -- true" "no root filesystem at /nonexistent"

# Streams: stdout and stderr apart and exact; the kernel's messages in neither.
t0=$(cut -d' ' -f1 /proc/uptime)
saevm $SB -- sh -c 'echo out; echo err >&2' > /tmp/o.txt 2> /tmp/e.txt; rc=$?
verdict sb-streams "$([ $rc = 0 ] && [ "$(cat /tmp/o.txt)" = out ] && [ "$(cat /tmp/e.txt)" = err ] &&
  [ "$(wc -c < /tmp/o.txt)" = 4 ] && [ "$(wc -c < /tmp/e.txt)" = 4 ] || echo "rc=$rc out='$(head -c 200 /tmp/o.txt)' err='$(head -c 300 /tmp/e.txt)'")"
printf data | saevm $SB -- cat > /tmp/o.txt 2>/tmp/e.txt; rc=$?
verdict sb-stdin-eof "$([ $rc = 0 ] && [ "$(cat /tmp/o.txt)" = data ] || echo "rc=$rc out='$(cat /tmp/o.txt)' err='$(head -c 300 /tmp/e.txt)'")"
head -c 4194304 /dev/urandom > /tmp/rand.bin
saevm $SB -- cat < /tmp/rand.bin > /tmp/rand.out 2>/tmp/e.txt; rc=$?
verdict sb-4mib-through-cat "$([ $rc = 0 ] && [ "$(sha /tmp/rand.bin)" = "$(sha /tmp/rand.out)" ] || echo "rc=$rc $(wc -c < /tmp/rand.out) bytes back; $(head -c 300 /tmp/e.txt)")"
saevm $SB --console-log /tmp/klog.txt -- true > /tmp/o.txt 2>&1
verdict sb-kernel-log-apart "$([ ! -s /tmp/o.txt ] && grep -q 'Linux version' /tmp/klog.txt || echo "output '$(head -c 200 /tmp/o.txt)'")"

# The share: the guest's files on the host, with their bytes and owner.
echo "from the host" > /work/share/host.txt
case_ sb-share-rw 0 60 "$SB -- sh -c 'cat host.txt; echo made in the guest > made.txt; mkdir -p d/e; echo x > d/e/f; pwd'" \
  "from the host" "/work/share"
verdict sb-share-files "$([ "$(cat /work/share/made.txt 2>/dev/null)" = "made in the guest" ] && [ -f /work/share/d/e/f ] || echo 'guest files missing on the host')"
# As another user: saevm runs as uid 4242 and the command as that user.
mkdir -p /work/user && chown 4242:4242 /work/user && chmod 666 /dev/kvm
(cd /work/user && /rig/run-as 4242 4242 /rig/saevm $SB -- sh -c 'id -u; echo mine > mine.txt') > /tmp/sb-user.out 2>&1; rc=$?
sed 's/^/[sb-user] /' /tmp/sb-user.out
verdict sb-owner "$([ $rc = 0 ] && grep -qx 4242 /tmp/sb-user.out && [ "$(stat -c %u:%g /work/user/mine.txt 2>/dev/null)" = 4242:4242 ] || echo "rc=$rc owner $(stat -c %u:%g /work/user/mine.txt 2>&1)")"
# Root's rootfs is read-only to that user: the share's mount point was
# made in the overlay above it, not in the rootfs.
verdict sb-overlay "$([ ! -e $R/work/user ] || echo 'the rootfs changed')"

# Confinement: a symlink to /etc is the guest's /etc; .. leads to the
# guest's root; a rename to ../x stays in the guest's world.
echo l1-only > /etc/l1-secret
ln -sf /etc /work/share/etclink
case_ sb-escape 0 60 "$SB -- sh -c 'cat etclink/l1-secret; cd ../../..; ls /rig/saevm; echo x > esc.txt; mv esc.txt ../escaped; echo done'" "done"
verdict sb-escape-stays "$(! grep -q l1-only /tmp/sb-escape.out && ! grep -q '^\[sb-escape\] /rig/saevm$' /tmp/sb-escape.out && [ ! -e /work/escaped ] || echo 'the guest reached outside its share')"
# A read-only share refuses changes; the host's files stay.
mkdir -p /work/ro && echo keep > /work/ro/k.txt
case_ sb-ro 0 60 "$SB --share /work/ro=/ro,ro -- sh -c 'cat /ro/k.txt; echo no > /ro/k.txt || echo refused; touch /ro/new || echo refused2'" \
  "keep" "refused" "refused2"
verdict sb-ro-unchanged "$([ "$(cat /work/ro/k.txt)" = keep ] && [ ! -e /work/ro/new ] || echo 'read-only share changed')"
# fsync in the guest: the bytes are in the host file while the guest still runs.
rm -f /work/share/synced.bin
saevm $SB -- sh -c 'head -c 65536 /dev/urandom > synced.bin; sha256sum synced.bin; fsync synced.bin 2>/dev/null || sync synced.bin; echo synced; sleep 4' > /tmp/sync.out 2>&1 &
pid=$!; n=0
while ! grep -qx synced /tmp/sync.out && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
hostsha=$(sha /work/share/synced.bin 2>/dev/null)
wait $pid
sed 's/^/[sb-fsync] /' /tmp/sync.out
verdict sb-fsync "$(grep -q "^$hostsha " /tmp/sync.out || echo "host had $hostsha when the guest said synced")"

# The working directory's cache (auto): a file the host rewrites in place
# (same size, same inode) while the guest has read it shows its new bytes
# in the guest: names, attributes and the page cache are trusted for 1 s,
# then checked. The guest polls for 20 s.
printf 'old-content\n' > /work/share/seen.txt; rm -f /work/share/ready.flag
timeout -s KILL 120 saevm $SB -- sh -c 'cat seen.txt; : > ready.flag; i=0
  while [ $i -lt 100 ]; do [ "$(cat seen.txt)" = new-content ] && { echo saw-new; exit 0; }; sleep 0.2; i=$((i + 1)); done
  exit 3' > /tmp/seen.out 2>&1 &
pid=$!; n=0
while [ ! -e /work/share/ready.flag ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
printf 'new-content\n' > /work/share/seen.txt
wait $pid; rc=$?
sed 's/^/[sb-host-change] /' /tmp/seen.out
verdict sb-host-change-seen "$([ $rc = 0 ] && grep -qx saw-new /tmp/seen.out || echo "rc=$rc: the guest kept the old bytes")"

# A hostile guest in a root sandbox: it cannot give a host file away, set
# setuid bits or make a device node; the host's files stay root's (the
# share's owner) without those bits. The rootfs is read-only on the host:
# what the guest writes there lives in its overlay.
rm -f /work/share/hx /work/share/hy /work/share/hs /work/share/hn
echo '#!/bin/sh' > /work/share/hsuid && chmod 4755 /work/share/hsuid
case_ sb-hostile 0 60 "$SB -- sh -c 'touch hx hy; chown 1234:1234 hy || echo chown-refused; chown 0 hx && echo chown-self-ok; cp /bin/busybox hs; chmod 6755 hs; chmod 4755 hx; mknod hn c 1 3 || echo mknod-refused; echo exit >> hsuid; echo planted > /etc/planted && echo wrote-etc; ls -l hs; echo done'" \
  "chown-refused" "chown-self-ok" "mknod-refused" "wrote-etc" "done"
verdict sb-hostile-host "$([ "$(stat -c %u:%g /work/share/hy)" = 0:0 ] && [ "$(stat -c %a /work/share/hs)" = 755 ] &&
  [ "$(stat -c %a /work/share/hx)" = 755 ] && [ "$(stat -c %a /work/share/hsuid)" = 755 ] &&
  [ "$(tail -n 1 /work/share/hsuid)" = exit ] && [ ! -e /work/share/hn ] && [ ! -e $R/etc/planted ] ||
  echo "hy $(stat -c %u:%g /work/share/hy) hs $(stat -c %a /work/share/hs) hx $(stat -c %a /work/share/hx) hsuid $(stat -c %a /work/share/hsuid) hn $(ls -l /work/share/hn 2>&1) planted $(ls $R/etc/planted 2>&1)")"
# A rootfs the guest could have written: saevm's start reads nothing
# outside it and never hangs on it.
E=/work/evil; rm -rf $E && mkdir -p $E && tar -xf /rig/rootfs.tar -C $E
dep=$(find $E -name modules.dep | head -1)
sed -i 's#^\(kernel/drivers/virtio/virtio_mmio.ko:\).*#\1 ../../../../../../../../etc/l1-secret#' "$dep"
case_ sb-dep-outside 125 30 "sandbox -k $K --rootfs $E -- true" "leads outside the root filesystem"
rm -f "$dep" && mkfifo "$dep"
case_ sb-fifo-modules-dep 125 30 "sandbox -k $K --rootfs $E -- true" "modules.dep is not a regular file"
rm -rf $E
# Landlock: where L1's kernel has it, saevm says it keeps to its shares.
mount -t securityfs none /sys/kernel/security 2>/dev/null
if grep -q landlock /sys/kernel/security/lsm 2>/dev/null; then want="landlock: ABI"; else want="landlock: not available"; fi
echo "[sb-landlock] L1's LSMs: $(cat /sys/kernel/security/lsm 2>&1)"
case_ sb-landlock 0 60 "$SB --log-level info -- true" "$want"
# Two writable shares one inside the other are refused (a read-only
# rootfs below the working directory is fine: the bench runs so).
case_ sb-overlap 125 30 "sandbox -k $K --rootfs /work/share --rootfs-writable -- true" "two writable shares may not overlap"

# The shares go over virtio-fs (the rig kernel has virtiofs.ko); the same
# share cases over 9p, which --share-proto 9p picks.
case_ sb-proto-fs 0 60 "$SB --log-level info -- true" "shares over virtio-fs"
SB9="$SB --share-proto 9p"
case_ sb-proto-9p 0 60 "$SB9 --log-level info -- true" "shares over virtio-9p"
rm -f /work/share/made9.txt /work/share/h9x /work/share/h9s
echo "from the host" > /work/share/host.txt
case_ sb9-share-rw 0 60 "$SB9 -- sh -c 'cat host.txt; echo made over 9p > made9.txt; mkdir -p d9/e; echo x > d9/e/f; mv d9/e/f d9/g; ls d9'" \
  "from the host" "g"
verdict sb9-share-files "$([ "$(cat /work/share/made9.txt 2>/dev/null)" = "made over 9p" ] && [ -f /work/share/d9/g ] || echo 'guest files missing on the host')"
case_ sb9-hostile 0 60 "$SB9 -- sh -c 'touch h9x; chown 1234 h9x || echo chown-refused; cp /bin/busybox h9s; chmod 6755 h9s; mknod h9n c 1 3 || echo mknod-refused; echo done'" \
  "chown-refused" "mknod-refused" "done"
verdict sb9-hostile-host "$([ "$(stat -c %u /work/share/h9x)" = 0 ] && [ "$(stat -c %a /work/share/h9s)" = 755 ] && [ ! -e /work/share/h9n ] ||
  echo "h9x $(stat -c %u /work/share/h9x) h9s $(stat -c %a /work/share/h9s)")"
case_ sb9-ro 0 60 "$SB9 --share /work/ro=/ro,ro -- sh -c 'cat /ro/k.txt; echo no > /ro/k.txt || echo refused'" "keep" "refused"
# A --share over the other protocol than the rest, in one sandbox.
case_ sb-mixed 0 60 "$SB --share /work/ro=/ro9,ro,proto=9p -- sh -c 'cat /ro9/k.txt; grep -q virtiofs /proc/mounts && echo has-fs; grep -q 9p /proc/mounts && echo has-9p'" \
  "keep" "has-fs" "has-9p"

# An interactive shell through a pseudo-terminal.
# pty-run's window is 30 x 100, then 50 x 120: the guest sees both.
timeout -s KILL 120 /rig/pty-run 'uname -m\nstty size\n@expect 30 100\n@resize\nstty size\n@expect 50 120\nexit 7\n' saevm $SB > /tmp/sb-pty.out 2>&1; rc=$?
tr -d '\r' < /tmp/sb-pty.out | sed 's/^/[sb-pty] /' | tail -8
verdict sb-pty "$([ $rc = 7 ] && tr -d '\r' < /tmp/sb-pty.out | grep -qx aarch64 || echo "rc=$rc")"
verdict sb-pty-winsize "$(tr -d '\r' < /tmp/sb-pty.out | grep -qx '30 100' && tr -d '\r' < /tmp/sb-pty.out | grep -qx '50 120' ||
  echo 'the guest did not see the window sizes')"

# Sandboxes that stay up: saevm sandbox --detach, then saevm exec into it.
cd /work/share
took() { awk -v a=$1 -v b=$(cut -d' ' -f1 /proc/uptime) 'BEGIN{print b-a}'; }
t0=$(cut -d' ' -f1 /proc/uptime)
timeout -s KILL 120 saevm $SB --name up --detach > /tmp/up.out 2>&1; rc=$?
verdict sbx-detach "$([ $rc = 0 ] && [ ! -s /tmp/up.out ] && saevm list | grep -q '^up .* sandbox$' ||
  echo "rc=$rc '$(head -c 300 /tmp/up.out)' $(saevm list)")" "dt=$(took $t0)"
# Three at once, each with its own status and streams.
for i in 1 2 3; do
  (timeout -s KILL 60 saevm exec up -- sh -c "echo out$i; echo err$i >&2; sleep 1; exit 1$i" > /tmp/x$i.out 2> /tmp/x$i.err
   echo $? > /tmp/x$i.rc) &
done
wait
verdict sbx-three-execs "$(for i in 1 2 3; do [ "$(cat /tmp/x$i.rc)" = 1$i ] && [ "$(cat /tmp/x$i.out)" = out$i ] &&
  [ "$(cat /tmp/x$i.err)" = err$i ] || echo "exec $i: rc=$(cat /tmp/x$i.rc) out='$(cat /tmp/x$i.out)' err='$(head -c 200 /tmp/x$i.err)'"; done)"
# 4 MiB of random bytes each way: stdin in (the guest says its sha256 on
# stderr), the guest's own random bytes out on stdout (their sha256 too).
head -c 4194304 /dev/urandom > /tmp/rand.bin
timeout -s KILL 120 saevm exec up -- sh -c 'sha256sum >&2; head -c 4194304 /dev/urandom > /tmp/g.bin; cat /tmp/g.bin; sha256sum < /tmp/g.bin >&2' \
  < /tmp/rand.bin > /tmp/x4.out 2> /tmp/x4.err; rc=$?
verdict sbx-4mib-each-way "$([ $rc = 0 ] && grep -q "^$(sha /tmp/rand.bin) " /tmp/x4.err && grep -q "^$(sha /tmp/x4.out) " /tmp/x4.err &&
  [ "$(wc -c < /tmp/x4.out)" = 4194304 ] || echo "rc=$rc $(wc -c < /tmp/x4.out) bytes out; $(head -c 300 /tmp/x4.err)")"
# Where the command runs: the caller's directory in the shares, as it is there.
mkdir -p /work/share/sub && echo here > /work/share/sub/f.txt
(cd /work/share/sub && timeout -s KILL 60 saevm exec up -- sh -c 'pwd; cat f.txt' > /tmp/x5.out 2>&1); rc=$?
verdict sbx-cwd "$([ $rc = 0 ] && [ "$(cat /tmp/x5.out)" = "/work/share/sub
here" ] || echo "rc=$rc '$(cat /tmp/x5.out)'")"
(cd / && timeout -s KILL 60 saevm exec up -- true > /tmp/x6.out 2>&1); rc=$?
verdict sbx-outside-shares "$([ $rc = 125 ] && grep -q 'is not in a share of sandbox up' /tmp/x6.out || echo "rc=$rc '$(cat /tmp/x6.out)'")"
timeout -s KILL 60 saevm exec up -- /nonexistent > /tmp/x7.out 2>&1; rc=$?
verdict sbx-notfound "$([ $rc = 127 ] && grep -q 'nonexistent: No such file' /tmp/x7.out || echo "rc=$rc '$(cat /tmp/x7.out)'")"
timeout -s KILL 60 saevm exec nosuch -- true > /tmp/x8.out 2>&1; rc=$?
verdict sbx-no-such-sandbox "$([ $rc = 125 ] && grep -q 'no sandbox named nosuch' /tmp/x8.out || echo "rc=$rc '$(cat /tmp/x8.out)'")"
# A signal saevm exec gets is the command's.
timeout -s KILL 60 saevm exec up -- sh -c 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done' > /tmp/x9.out 2>&1 &
p=$!
for i in $(seq 100); do grep -q ready /tmp/x9.out && break; sleep 0.2; done
kill -TERM $p; wait $p; rc=$?
verdict sbx-signal "$([ $rc = 9 ] && grep -q got-term /tmp/x9.out || echo "rc=$rc '$(cat /tmp/x9.out)'")"
# saevm exec killed outright: the command is hung up on (SIGHUP), as by a
# terminal that went away, not left running with nobody reading it.
rm -f /work/share/hup.txt
saevm exec up -- sh -c 'trap "echo hup > hup.txt; exit 1" HUP; echo ready; sleep 30 & wait' > /tmp/x13.out 2>&1 &
p=$!
for i in $(seq 100); do grep -q ready /tmp/x13.out && break; sleep 0.2; done
kill -KILL $p; wait $p 2>/dev/null
for i in $(seq 50); do [ -s /work/share/hup.txt ] && break; sleep 0.2; done
verdict sbx-client-killed "$([ "$(cat /work/share/hup.txt 2>/dev/null)" = hup ] || echo "the command did not get SIGHUP: '$(cat /tmp/x13.out)'")"
# A terminal at both ends: a pseudo-terminal in the guest, its window size.
timeout -s KILL 60 /rig/pty-run 'stty size\n@expect 30 100\nexit 4\n' saevm exec up -- sh > /tmp/x10.out 2>&1; rc=$?
verdict sbx-pty "$([ $rc = 4 ] && tr -d '\r' < /tmp/x10.out | grep -qx '30 100' || echo "rc=$rc '$(tr -d '\r' < /tmp/x10.out | tail -3)'")"
# A stop while an exec runs: the exec ends with 125 and says why.
timeout -s KILL 60 saevm exec up -- sh -c 'echo started; sleep 30' > /tmp/x11.out 2>&1 &
p=$!
for i in $(seq 100); do grep -q started /tmp/x11.out && break; sleep 0.2; done
saevm stop up > /dev/null; wait $p; rc=$?
verdict sbx-stop-during-exec "$([ $rc = 125 ] && grep -q 'sandbox up stopped before the command ended' /tmp/x11.out || echo "rc=$rc '$(cat /tmp/x11.out)'")"
for i in $(seq 50); do [ -e /run/saevm/up.sock ] || break; sleep 0.2; done
verdict sbx-stopped-clean "$(ls /run/saevm/ | grep '^up\.' && echo 'left in the control directory')"
# --detach with a first command: its status, then the sandbox stays up.
timeout -s KILL 120 saevm $SB --name up2 --detach -- sh -c 'echo first; exit 4' > /tmp/x12.out 2>&1; rc=$?
timeout -s KILL 60 saevm exec up2 -- sh -c 'echo second' >> /tmp/x12.out 2>&1; rc2=$?
saevm stop up2 > /dev/null
verdict sbx-detach-first-command "$([ $rc = 4 ] && [ $rc2 = 0 ] && [ "$(cat /tmp/x12.out)" = "first
second" ] || echo "rc=$rc rc2=$rc2 '$(cat /tmp/x12.out)'")"
echo "@@L1 cases-done"
