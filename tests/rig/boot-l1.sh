#!/usr/bin/env bash
# boot-l1.sh - boot the rig's L1: an emulated arm64 machine with EL2 under
# QEMU TCG, so Debian's arm64 kernel in it has /dev/kvm. Its serial console
# goes to LOG, each line prefixed with host seconds since QEMU started (for
# timings), and to stdout unless --quiet.
#
#   boot-l1.sh --initrd CPIO --log LOG [--gic 3|2] [--timeout SEC] [--quiet]
#              [--disk IMG]   (IMG becomes L1's /dev/vda, virtio-blk over mmio)
# Exit: QEMU's status (0 after L1's poweroff), 124 on timeout.
set -euo pipefail
INITRD='' LOG='' GIC=3 TIMEOUT=600 QUIET=0 DISK=''
while (($#)); do
  case $1 in
    --initrd) INITRD=$2; shift 2;;
    --log) LOG=$2; shift 2;;
    --gic) GIC=$2; shift 2;;
    --timeout) TIMEOUT=$2; shift 2;;
    --quiet) QUIET=1; shift;;
    --disk) DISK=$2; shift 2;;
    *) echo "boot-l1: unknown option $1" >&2; exit 2;;
  esac
done
ENVF=${SAEVM_RIG_ENV:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}/rig.env}
# shellcheck disable=SC1090
source "$ENVF"
# pauth-impdef: QEMU's default QARMA pointer-auth emulation makes TCG ~3x
# slower. No NIC: nothing in the rig reaches a network.
QEMU=(qemu-system-aarch64 -M "virt,virtualization=on,gic-version=$GIC"
  -cpu max,pauth-impdef=on -smp 2 -m 2048 -accel tcg,thread=multi
  -display none -monitor none -serial stdio -nic none -no-reboot
  -kernel "$RIG_IMAGE" -initrd "$INITRD" -append "console=ttyAMA0 panic=-1 quiet")
[[ -n $DISK ]] && QEMU+=(-drive "if=none,id=d0,file=$DISK,format=raw" -device virtio-blk-device,drive=d0)
export QUIET
set +e
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 |
  perl -MTime::HiRes=time -ne 'BEGIN{$|=1; $t0=time} s/\r//g;
    my $l = sprintf("[%8.3f] %s", time-$t0, $_); print STDERR $l; print $l unless $ENV{QUIET};' 2>"$LOG"
rc=${PIPESTATUS[0]}
exit "$rc"
