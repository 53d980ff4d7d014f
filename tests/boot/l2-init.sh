# The L2 guest's payload (run by /init, which powers off afterwards).
# What it does is chosen by the kernel parameter t=... that a test passes.
echo "@@L2 userspace cpus=$(grep -c ^processor /proc/cpuinfo) memkb=$(awk '/MemTotal/{print $2}' /proc/meminfo)"
case " $(cat /proc/cmdline) " in
  *" t=panic "*) echo "@@L2 panicking"; echo c > /proc/sysrq-trigger ;;
  *" t=reboot "*) echo "@@L2 rebooting"; reboot -f ;;
  *" t=echo "*) read -r line; echo "@@L2 got:$line" ;;
  *" t=bigrd "*) echo "@@L2 pad=$(wc -c < /pad.bin)" ;;
esac
echo "@@L2 done"
