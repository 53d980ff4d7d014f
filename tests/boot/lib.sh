# lib.sh - sourced by the L1 case scripts: case_ runs saevm once and checks
# its exit code and output, printing "@@TEST name PASS" or "@@TEST name FAIL why".
K=/rig/Image
L2=/rig/l2.cpio
case_() { # name want-rc timeout-s "saevm args" [must-contain]...
  local name=$1 want=$2 limit=$3 args=$4 t0 t1 rc why s vm; shift 4
  t0=$(cut -d' ' -f1 /proc/uptime)
  # exec: $! must be saevm itself, not the shell eval runs in, or the
  # watchdog below kills the shell and leaves the VM running.
  eval "exec saevm $args" > /tmp/$name.out 2>&1 < ${STDIN:-/dev/null} &
  vm=$!
  watchdog $vm $limit /tmp/$name.out &
  wait $vm; rc=$?
  t1=$(cut -d' ' -f1 /proc/uptime)
  sed "s/^/[$name] /" /tmp/$name.out
  why=""
  [ "$rc" = "$want" ] || why="rc=$rc want=$want"
  for s in "$@"; do grep -qF -- "$s" /tmp/$name.out || why="$why missing '$s'"; done
  verdict "$name" "$why" "dt=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')"
}
# watchdog PID SECONDS OUT: SIGKILLs a VM still running after SECONDS (its
# status is then 137), first appending to OUT what each of its threads
# was doing and L1's last kernel messages: a hang says where it hangs.
watchdog() {
  local pid=$1 i t
  for i in $(seq $2); do sleep 1; kill -0 $pid 2>/dev/null || return 0; done
  { echo "@@HANG $pid ran over its $2 s: its threads, then L1's kernel log"
    for t in /proc/$pid/task/*; do
      echo "@@HANG $(cat $t/comm) state=$(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan 2>/dev/null)" \
        "utime+stime=$(cut -d' ' -f14,15 $t/stat)"
      sed 's/^/@@HANG   /' $t/stack 2>/dev/null | head -12
    done
    dmesg | tail -15 | sed 's/^/@@HANG L1: /'; } >> "$3"
  kill -9 $pid
}
verdict() { # name why-it-failed(empty: pass) [note]
  if [ -z "$2" ]; then echo "@@TEST $1 PASS $3"; else echo "@@TEST $1 FAIL $2"; fi
}
# The sha256 of a file (or of stdin), alone.
sha() { sha256sum "$@" | cut -d' ' -f1; }
# The value of KEY=... on the guest's "@@L2 ..." lines in a case's output.
guest_says() { tr -d '\r' < /tmp/$1.out | grep '@@L2 ' | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | head -1; }
