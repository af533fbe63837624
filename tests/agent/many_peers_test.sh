#!/usr/bin/env bash
# A server that requests security, and 300 clients without IPsec that
# connect to it at once (Windows' "Server (Request Security)", its
# Kerberos method replaced by a pre-shared key):
#
#   S (secpold) 192.0.2.2 ---- P 192.0.2.1, and 300 client addresses:
#                                198.51.100.1-254, 203.0.113.1-46
#
# Each client's SYN comes in clear (inpass); S's SYN-ACK is Negotiate, so it
# waits while S tries IKE with that client, which never answers; then a
# soft association lets it go in clear. Every client must be connected in
# time: each peer has its own queue and its own negotiation (none waits
# behind another's), and S keeps 300 soft associations at once (there used
# to be room for 256 run-time filters).
#
# usage: many_peers_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft python3 timeout

S=mpS.$$ P=mpP.$$
new_ns "$S"
new_ns "$P"
link "$S" eth0 "$P" eth0
addr "$S" eth0 192.0.2.2/24
addr "$P" eth0 192.0.2.1/24
in_ns "$S" ip route add 198.51.100.0/24 via 192.0.2.1
in_ns "$S" ip route add 203.0.113.0/24 via 192.0.2.1
CLIENTS=()
for i in $(seq 1 254); do CLIENTS+=("198.51.100.$i"); done
for i in $(seq 1 46); do CLIENTS+=("203.0.113.$i"); done
printf 'address add %s/32 dev eth0\n' "${CLIENTS[@]}" | in_ns "$P" ip -batch -

p="Server (Request Security)"
policy "$S" <<EOF
static set rule name="All IP Traffic" policy="$p" psk="many peers"
static set defaultrule policy="$p" psk="many peers"
static set policy name="$p" assign=yes
EOF
start_secpold "$S" || exit 1

# S: a listener with room for every handshake (the kernel completes them).
# Not through in_ns: $! must be the listener itself, to be stopped by PID.
ip netns exec "$S" timeout 120 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 7000)); s.listen(1024); time.sleep(110)' &
E2E_PIDS+=("$!")
sleep 0.5

# P: every client connects at once; how many are connected within 45 s.
t0=$(date +%s)
got=$(printf '%s\n' "${CLIENTS[@]}" | in_ns "$P" timeout 60 python3 -c '
import select, socket, sys, time
pending = {}
for a in sys.stdin.read().split():
    c = socket.socket(); c.setblocking(False); c.bind((a, 0))
    c.connect_ex(("192.0.2.2", 7000)); pending[c.fileno()] = c
done, end = 0, time.monotonic() + 45
while pending and time.monotonic() < end:
    _, w, _ = select.select([], list(pending.values()), [], 1)
    for c in w:
        if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            done += 1
        del pending[c.fileno()]
        c.close()
print(done)')
echo "connected: ${got:-none} of ${#CLIENTS[@]} in $(($(date +%s) - t0)) s"
expect_eq "all 300 clients connected" "${got:-none}" 300
expect_ge "S: a soft association per client" "$(stat "$S" "Soft Associations")" 300
refute "S: never out of room for run-time filters" grep -q "too many" "$(host_dir "$S")/secpold.log"
echo "many peers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
