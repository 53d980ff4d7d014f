# Runs in L1 (the rig's KVM host): each case runs saevm, then checks its
# exit code and output, printing "@@TEST name PASS" or "@@TEST name FAIL why".
. /rig/lib.sh

case "$(cat /proc/device-tree/intc@*/compatible 2>/dev/null)" in
  *gic-v3*) GIC=3 ;;
  *) GIC=2 ;;
esac
echo "@@L1 gic=$GIC"
if [ $GIC = 3 ]; then
  # The issue's own example: console on the terminal, 2 vCPUs, exit 0.
  case_ boot-2cpu 0 60 "run -k $K -i $L2 -p 'console=ttyS0 quiet' -m 256 -c 2" \
    "@@L2 userspace cpus=2" "@@L2 done"
  # The guest's clock comes from the PL031, which reads the host's: its
  # `date +%s` at userspace is within a few seconds of L1's.
  host_now=$(date +%s); guest_epoch=$(guest_says boot-2cpu epoch)
  verdict rtc-guest-clock "$([ -n "$guest_epoch" ] && [ $((host_now - guest_epoch)) -ge 0 ] &&
    [ $((host_now - guest_epoch)) -le 10 ] || echo "guest epoch '$guest_epoch', L1 $host_now")" "L1-guest=$((host_now - ${guest_epoch:-0}))s"
  # --console virtio naming only hvc0, with virtio_console a module that
  # the initrd loads after init started (like a distribution's initrd with
  # none): init still has a console (ttyS0 until hvc0 exists), its output
  # arrives and it runs to the end.
  case_ hvc-initrd-without-module 0 60 "run -k $K -i $L2 --console virtio -p 'console=hvc0 quiet'" \
    "@@L2 userspace" "@@L2 done"
  # vCPU features: the guest sees exactly those saevm says it enabled
  # (what this L1 offers), and none with --cpu-features none.
  for f in all none; do
    case_ cpufeat-$f 0 60 "run -k $K -i $L2 -c 2 -p 'quiet t=cpufeat' --log-level info --cpu-features $f" "@@L2 cpufeat"
    said=$(grep -o 'features:.*' /tmp/cpufeat-$f.out | head -1)
    why=""
    for x in pauth sve pmu pvtime; do
      n=$(guest_says cpufeat-$f $x)
      case "$said " in *" $x "*) [ "${n:-0}" -ge 1 ] || why="$why $x enabled but the guest has none;" ;;
                          *) [ "${n:-0}" = 0 ] || why="$why $x not enabled but the guest has it;" ;; esac
    done
    [ $f = none ] && [ "$said" != "features:" ] && why="$why --cpu-features none left '$said';"
    verdict cpufeat-$f-guest-sees "$why" "$said"
  done
  # No console= given: saevm adds console=ttyS0 and nothing else.
  case_ default-console 0 60 "run -k $K -i $L2 -p quiet" "@@L2 done"
  # Input through a pipe reaches the guest's console.
  echo "ping-from-host" > /tmp/stdin.txt
  STDIN=/tmp/stdin.txt case_ console-input 0 60 "run -k $K -i $L2 -p 'quiet t=echo'" "@@L2 got:ping-from-host"
  # 1 GiB with an initrd over 100 MiB (placed at the top of RAM, no 256 MiB cap).
  cat $L2 /rig/pad.cpio > /tmp/big.cpio
  case_ big-initrd 0 120 "run -k $K -i /tmp/big.cpio -m 1024 -p 'quiet t=bigrd'" \
    "@@L2 pad=110100480" "@@L2 done"
  # A kernel panic: with panic=-1 the kernel resets at once -> exit 80, no hang.
  case_ panic 80 60 "run -k $K -i $L2 -p 'quiet panic=-1 t=panic'" "@@L2 panicking" \
    "guest asked for a reset"
  # A real reboot with --reboot: the guest boots at least twice (then keeps
  # rebooting until the time limit kills it: rc 137). 30 s: with pointer
  # authentication and SVE on, one boot takes 4-8 s in this rig, and once
  # the first took over 15 s.
  case_ reboot 137 30 "run -k $K -i $L2 -p 'quiet t=reboot' --reboot" "@@L2 rebooting"
  [ "$(grep -c '@@L2 userspace' /tmp/reboot.out)" -ge 2 ] && echo "@@TEST reboot-twice PASS" ||
    echo "@@TEST reboot-twice FAIL booted $(grep -c '@@L2 userspace' /tmp/reboot.out) times"
  # An irqchip this host cannot create is a clear error.
  case_ no-gicv2-here 69 20 "run -k $K -i $L2 --irqchip gicv2" "saevm: error: --irqchip gicv2"
  # --dump-dtb writes the blob and exits 0; the host checks it with dtc.
  case_ dump-dtb 0 20 "run -k $K -i $L2 -c 2 -p 'quiet x=1' --dump-dtb /tmp/guest.dtb"
  od -An -v -tx1 /tmp/guest.dtb | sed 's/^/@@DTB/'
  # The polling probe guest: no interrupts needed, as on the s390 module.
  truncate -s 1M /tmp/probe-disk.img
  for profile in auto s390; do
    case_ probe-$profile 0 30 "run -k /rig/probe.img -d /tmp/probe-disk.img -n user --console virtio --host-profile $profile" \
      "PROBE dtb PASS" "PROBE uart PASS" "PROBE blk PASS" "PROBE net PASS" "PROBE console PASS" \
      "PROBE hello from hvc0" "PROBE VERDICT PASS"
  done
  grep -q "a Linux guest needs interrupt support" /tmp/probe-s390.out &&
    verdict probe-s390-says-no-irqchip "" || verdict probe-s390-says-no-irqchip "no warning about interrupts"
  # A failing step reaches the shell as exit code 1 (read-only disk: the write fails).
  case_ probe-verdict-fail 1 30 "run -k /rig/probe.img -d /tmp/probe-disk.img,ro --host-profile s390" \
    "PROBE blk FAIL" "PROBE VERDICT FAIL"
  case_ s390-two-cpus 64 10 "run -k /rig/probe.img --host-profile s390 -c 2" "runs one vCPU per VM"
  case_ s390-irqchip 64 10 "run -k /rig/probe.img --host-profile s390 --irqchip gicv3" "has no interrupt controller"
  # pvpanic: a guest panic ends saevm at once with its own code.
  case_ pvpanic 86 20 "run -k /rig/probe.img -p probe.panic" "PROBE panicking" "guest kernel panicked"
  # A bare-metal test as kvm-unit-tests' are: the probe built as a raw
  # binary (no Image header), its verdict on the console only. With
  # --nodefaults its command line is exactly -p and the PL031 has its
  # interrupt; without, saevm's console=ttyS0 fails its check, and the
  # exit status says so (kvm-unit-tests' STATUS=(n << 1) | 1, decoded).
  case_ raw-verdict 0 30 "run -k /rig/probe-raw.bin --nodefaults --exit-on-console kvm-unit-tests -p 'verdict one two=2 three'" \
    "PROBE cmdline-exact PASS verdict one two=2 three" "PROBE pl031-interrupt PASS" "EXIT: STATUS=1"
  case_ raw-verdict-defaults 1 30 "run -k /rig/probe-raw.bin --exit-on-console kvm-unit-tests -p 'verdict one two=2 three'" \
    "PROBE cmdline-exact FAIL console=ttyS0 verdict" "EXIT: STATUS=3"
  # A Linux guest's wake alarm through the PL031: its interrupt fires once.
  case_ rtc-wakealarm 0 60 "run -k $K -i $L2 -p 'quiet t=rtcalarm'" "@@L2 rtc"
  b=$(guest_says rtc-wakealarm before); a=$(guest_says rtc-wakealarm after)
  verdict rtc-alarm-interrupt "$([ "$b" != none ] && [ -n "$a" ] && [ "$a" -gt "$b" ] 2>/dev/null || echo "pl031 interrupts before=$b after=$a")"
  # --timeout stops a VM that runs too long.
  case_ timeout 85 40 "run -k $K -i $L2 -p 'quiet t=sleep' --timeout 6" "stopped after --timeout 6 s"
  # The boot-time marker and --stats.
  truncate -s 1M /tmp/stats.img
  case_ marker-stats 0 40 "run -k $K -i $L2 -p 'quiet t=marker' -d /tmp/stats.img --stats" \
    "saevm: boot-time marker:" "saevm: stats: " "(virtio-blk)"
  # --console-log keeps everything the guest printed, stdout elsewhere.
  timeout 40 saevm run -k $K -i $L2 -p quiet --console-log /tmp/console.log > /dev/null 2>&1
  verdict console-log "$(grep -q '@@L2 done' /tmp/console.log || echo 'no guest output in the log')"
  # The example configuration file boots (its disk and kernel replaced).
  truncate -s 1M /tmp/root.img
  case_ config-example 0 60 "run --config /rig/vmm.conf.example -k $K -i $L2 -d /tmp/root.img -p quiet" "@@L2 done"
  # list, pause, resume, stop against a running VM.
  saevm run -k $K -i $L2 -p 'quiet t=ticker' --name ctl > /tmp/ctl.out 2>&1 &
  vm=$!
  for i in $(seq 100); do grep -q "@@L2 tick 3" /tmp/ctl.out && break; sleep 0.2; done
  list=$(saevm list)
  echo "$list" | sed 's/^/[list] /'
  why=""
  echo "$list" | grep -q "^ctl  *running  *$vm" || why="list does not show ctl running"
  saevm pause ctl | grep -q "ctl: paused" || why="$why; pause"
  saevm list | grep -q "^ctl  *paused" || why="$why; not listed paused"
  a=$(grep -c "@@L2 tick" /tmp/ctl.out); sleep 1.5; b=$(grep -c "@@L2 tick" /tmp/ctl.out)
  [ "$a" = "$b" ] || why="$why; the guest ran while paused ($a -> $b ticks)"
  saevm resume ctl | grep -q "ctl: running" || why="$why; resume"
  sleep 1.5; c=$(grep -c "@@L2 tick" /tmp/ctl.out)
  [ "$c" -gt "$b" ] || why="$why; the guest did not run after resume"
  saevm stop ctl | grep -q "ctl: stopping" || why="$why; stop"
  wait $vm; rc=$?
  [ $rc = 87 ] || why="$why; rc=$rc want 87"
  verdict control-socket "$why" "ticks $a/$b/$c"
  saevm stop ctl > /tmp/nosuch.out 2>&1; rc=$?
  verdict control-no-such-vm "$([ $rc = 79 ] && grep -q "no VM named 'ctl'" /tmp/nosuch.out || echo "rc=$rc")"
  # A socket left by a VM that was killed is cleaned up, not an error.
  saevm run -k $K -i $L2 -p 'quiet t=sleep' --name stale > /dev/null 2>&1 &
  sleep 2; kill -9 $!; wait $! 2>/dev/null
  case_ control-stale 0 60 "run -k $K -i $L2 -p quiet --name stale" "@@L2 done"
  # The guest-settable exit code reaches the shell.
  case_ guest-exit-7 7 60 "run -k $K -i $L2 -p 'quiet t=exit7'" "@@L2 exiting 7"
else
  case_ gicv2 0 60 "run -k $K -i $L2 -p quiet -c 2 --irqchip gicv2" "@@L2 userspace cpus=2" "@@L2 done"
  case_ auto-gicv2 0 60 "run -k $K -i $L2 -p quiet" "@@L2 done"
fi
echo "@@L1 cases-done"
