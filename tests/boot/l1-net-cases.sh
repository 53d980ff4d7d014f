# Runs in L1: virtio-net over user networking (libslirp) and tap.
. /rig/lib.sh
ip link set lo up
mkdir -p /www && head -c 16777216 /dev/urandom > /www/file.bin
file_sha=$(sha /www/file.bin)
httpd -p 127.0.0.1:8080 -h /www

# DHCP from slirp, then 16 MiB over HTTP from L1's own 127.0.0.1 through
# the gateway 10.0.2.2.
case_ net-user-http 0 90 "run -k $K -i $L2 -p 'quiet t=dhcp' -n user" "@@L2 lease=10.0.2.15 router=10.0.2.2 dns=10.0.2.3"
verdict net-user-http-bytes "$([ "$(guest_says net-user-http got)" = "$file_sha" ] || echo 'fetched bytes differ')"
echo "@@NET user-http secs=$(guest_says net-user-http secs)"

# hostfwd: 16 MiB into a guest listener, then the same bytes back out.
timeout -s KILL 90 saevm run -k $K -i $L2 -p 'quiet t=fwd' -n user,hostfwd=tcp:127.0.0.1:5555-:5000,hostfwd=tcp::5556-:5001 \
  > /tmp/fwd.out 2>&1 &
vm=$!
for i in $(seq 100); do grep -q "@@L2 listening" /tmp/fwd.out && break; sleep 0.2; done
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
timeout -s KILL 60 nc 127.0.0.1 5555 < /www/file.bin
t1=$(cut -d' ' -f1 /proc/uptime)
for i in $(seq 100); do grep -q "@@L2 received" /tmp/fwd.out && break; sleep 0.2; done
sleep 1
t2=$(cut -d' ' -f1 /proc/uptime)
timeout -s KILL 60 nc 127.0.0.1 5556 < /dev/null > /tmp/back
t3=$(cut -d' ' -f1 /proc/uptime)
wait $vm; rc=$?
sed 's/^/[fwd] /' /tmp/fwd.out
verdict net-hostfwd-in "$([ "$(guest_says fwd received)" = "$file_sha" ] || echo 'guest received other bytes')"
verdict net-hostfwd-out "$([ "$(sha /tmp/back)" = "$file_sha" ] || echo "got $(wc -c < /tmp/back) other bytes back")"
verdict net-hostfwd-rc "$([ $rc = 0 ] || echo "rc=$rc")"
echo "@@NET hostfwd-in secs=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') hostfwd-out secs=$(awk -v a=$t2 -v b=$t3 'BEGIN{print b-a}')"

# A hostfwd port that is taken is a clear error at start.
nc -l -p 7777 >/dev/null 2>&1 &
busy=$!
sleep 0.3
case_ net-hostfwd-busy 69 20 "run -k $K -i $L2 -n user,hostfwd=tcp::7777-:22" "hostfwd=tcp::7777-:22: cannot listen"
kill $busy 2>/dev/null

# tap: an address on L1's side, ping and HTTP from the guest.
tunctl -t tap0 >/dev/null && ip addr add 192.168.100.1/24 dev tap0 && ip link set tap0 up
httpd -p 192.168.100.1:8080 -h /www
case_ net-tap 0 90 "run -k $K -i $L2 -p 'quiet t=tap' -n tap,ifname=tap0" "@@L2 ping=ok"
verdict net-tap-bytes "$([ "$(guest_says net-tap got)" = "$file_sha" ] || echo 'fetched bytes differ')"
echo "@@NET tap-http secs=$(guest_says net-tap secs)"
echo "@@L1 cases-done"
