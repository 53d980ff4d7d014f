#!/usr/bin/env bash
# run.sh SAEVM - bad input gets one clear line "saevm: error: ..." and the
# exit code the README's table gives it; no core dump, nothing started.
# Runs the native binary: every check here fails before KVM is needed
# (the last one names a KVM device that does not exist). SAEVM_WRAP runs
# a cross-built binary, e.g. SAEVM_WRAP=qemu-s390x-static for big-endian.
set -uo pipefail
# shellcheck disable=SC2206
SAEVM=(${SAEVM_WRAP:-} "$(realpath "$1")")
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# A minimal valid arm64 Image header: image_size 96 MiB, 4K pages.
mk_image() { # file image_size flags
  perl -e 'my ($sz,$fl)=@ARGV; print pack("a8 Q< Q< Q< x24 a4 x4", "MZ", 0, $sz, $fl, "ARM\x64"), "\0" x 4032' "$2" "$3" > "$1"
}
mk_image "$T/Image" $((96 << 20)) 2
mk_image "$T/Image-be" $((16 << 20)) 3
printf '\x1f\x8b\x08\x00rest-of-a-gzip-file-padding-padding-padding-padding-padding' > "$T/vmlinuz.gz"
truncate -s 80M "$T/raw.bin" # no Image header: a raw binary, loaded whole
: > "$T/empty"
truncate -s 100M "$T/big.cpio"
truncate -s 1M "$T/disk.img"

# expect CODE 'stderr substring' -- saevm args...
expect() {
  local code=$1 text=$2; shift 3
  local out rc lines
  out=$(cd "$T" && "${SAEVM[@]}" "$@" 2>&1 >/dev/null </dev/null); rc=$?
  lines=$(printf '%s' "$out" | grep -c '' || true)
  if [[ $rc == "$code" && $out == *"$text"* && ( $code == 0 || ( $lines == 1 && $out == "saevm: error: "* ) ) ]]; then
    pass=$((pass + 1)); echo "ok    rc=$rc  $*"
  else
    fail=$((fail + 1)); echo "FAIL  rc=$rc (want $code) lines=$lines: $*"; echo "      stderr: $out"
  fi
}

expect 64 "unknown option '--frobnicate'" -- run -k Image --frobnicate
expect 64 "unknown command 'boot'"        -- boot -k Image
expect 64 "no kernel given"               -- run -m 256
expect 64 "--cpus '0'"                    -- run -k Image -c 0
expect 64 "--cpus 'two'"                  -- run -k Image -c two
expect 64 "--mem '12X' is not a size"     -- run -k Image -m 12X
expect 64 "--mem '100K'"                  -- run -k Image -m 100K
expect 64 "needs a value"                 -- run -k Image -i
expect 64 "--irqchip 'gicv4'"             -- run -k Image --irqchip gicv4
expect 66 "cannot open kernel missing-Image" -- run -k missing-Image
expect 66 "is not a regular file"         -- run -k /
expect 66 "cannot open initrd nope.cpio"  -- run -k Image -i nope.cpio
expect 66 "initrd empty is empty"         -- run -k Image -i empty
expect 67 "kernel (80 MiB)"               -- run -k raw.bin -m 64
expect 65 "gzip-compressed"               -- run -k vmlinuz.gz
expect 65 "big-endian"                    -- run -k Image-be
expect 65 "kernel empty is empty"         -- run -k empty
expect 64 "--exit-on-console: the pattern" -- run -k Image --exit-on-console ""
expect 67 "raise -m"                      -- run -k Image -m 64
expect 67 "initrd (100 MiB)"              -- run -k Image -m 128 -i big.cpio
expect 66 "cannot open disk nodisk.img"  -- run -k Image -d nodisk.img
expect 64 "unknown option 'rw'"           -- run -k Image -d disk.img,rw
expect 64 "id is longer than 20"          -- run -k Image -d disk.img,id=abcdefghijklmnopqrstuvwxyz
expect 64 "at most 8 disks"               -- run -k Image -d a -d b -d c -d d -d e -d f -d g -d h -d i
expect 64 "--console 'tty'"               -- run -k Image --console tty
expect 66 "cannot open disk /: Is a directory" -- run -k Image -d /
expect 69 "cannot open KVM device /nonexistent/kvm" -- run -k Image --kvm-dev /nonexistent/kvm
expect 69 "cannot open KVM device /nonexistent/kvm" -- run -k Image -d disk.img,ro --kvm-dev /nonexistent/kvm
expect 69 "/dev/null is not a KVM device"  -- run -k Image --kvm-dev /dev/null
expect 64 "runs one vCPU per VM"          -- run -k Image --host-profile s390 -c 2
expect 64 "--host-profile 'z15'"          -- run -k Image --host-profile z15
expect 64 "--cpu-features 'sve,avx'"      -- run -k Image --cpu-features sve,avx
expect 69 "cannot open KVM device"        -- run -k Image --cpu-features nopauth,nosve --kvm-dev /nonexistent/kvm
expect 64 "expected user, tap or none"    -- run -k Image -n bridge
expect 64 "expected hostfwd=tcp|udp"      -- run -k Image -n user,hostfwd=tcp:2222-22
expect 64 "a tap needs ifname=NAME"       -- run -k Image -n tap
expect 64 "expected mac="                 -- run -k Image -n user,mac=01:00:00:00:00:01
expect 64 "expected net=A.B.C.D/N"        -- run -k Image -n user,net=10.0.2.0/33
expect 0  ""                              -- --help
expect 0  ""                              -- version
expect 0  ""                              -- help exit-codes

# The help texts say what they promise. Captured first: under pipefail,
# grep -q quitting at its match made saevm, still writing, die of SIGPIPE,
# and the longer the text, the more often (run --help under qemu-s390x).
codes_help=$("${SAEVM[@]}" help exit-codes); run_help=$("${SAEVM[@]}" run --help)
grep -q ' 83  the user quit with Ctrl-A x' <<<"$codes_help" &&
  grep -q 'is added only when' <<<"$run_help" &&
  { pass=$((pass + 1)); echo "ok    help texts"; } || { fail=$((fail + 1)); echo "FAIL  help texts"; }

# saevm exec: its own failures are 125, as saevm sandbox's.
expect 125 "usage: saevm exec NAME" -- exec
expect 125 "usage: saevm exec NAME" -- exec --bogus
expect 125 "no command" -- exec vm1
expect 125 "no command" -- exec vm1 --
expect 125 "'bad/name': use 1 to 64 letters" -- exec 'bad/name' -- true
expect 125 "no sandbox named nosuchvm is running" -- exec nosuchvm -- true
expect 64 "--detach is an option of saevm sandbox" -- run -k Image --detach
expect 125 "--vsock '2': expected the guest's CID" -- sandbox --vsock 2 -- true
expect 64 "--vsock 'x': expected the guest's CID" -- run -k Image --vsock x

# Two local users: another user (nobody) made the victim's control directory
# first, open to all. The victim's saevm must refuse to use it, not trust a
# socket planted there. As root only (setpriv changes uid).
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  victim=4242 dir=/tmp/saevm-4242
  as_victim() { env -u XDG_RUNTIME_DIR setpriv --reuid $victim --regid $victim --clear-groups "$@"; }
  chmod 755 "$T"
  rm -rf "$dir"; setpriv --reuid 65534 --regid 65534 --clear-groups mkdir -m 777 "$dir"
  SAEVM=(as_victim "${SAEVM[@]}")
  expect 77 "belongs to uid 65534, not to you" -- stop vm1
  expect 77 "belongs to uid 65534, not to you" -- list
  rm -rf "$dir"; mkdir -m 755 "$dir"; chown $victim:$victim "$dir"
  expect 77 "is open to other users (mode 0755)" -- pause vm1
  rm -rf "$dir"; ln -s /tmp "$dir"
  expect 77 "is not a directory" -- resume vm1
  rm -f "$dir"
  expect 79 "no VM named 'vm1' is running" -- stop vm1   # its own, fresh directory: fine
  [[ $(stat -c '%u %a' "$dir") == "$victim 700" ]] && { pass=$((pass + 1)); echo "ok    control directory made 0700"; } ||
    { fail=$((fail + 1)); echo "FAIL  control directory: $(stat -c '%u %a' "$dir")"; }
  rm -rf "$dir"
fi

echo "cli: $pass passed, $fail failed"
[[ $fail == 0 ]]
