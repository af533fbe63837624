#!/usr/bin/env bash
# `set config` as it acts on a running secpold, between two hosts on a veth
# link (B runs no secpold: it only sends and listens):
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2, 192.0.2.3
#
# A's policy blocks all traffic, except UDP port 7 to B, which needs ESP
# (a rule per address: a rule negotiates with one peer at a time).
#   (a) ipsecexempt: with 3 (the default) Kerberos (UDP 88), broadcast and
#       multicast are blocked; set to 0 they are still blocked until secpold
#       restarts, then they pass, both ways (and source port 88 too), while
#       other traffic stays blocked.
#   (b) ipsecdiagnostics=3 with a 2-second interval (secpold --log-interval,
#       as ipsecloginterval cannot go below 60): 5 blocked inbound datagrams
#       and 3 ESP packets with an unknown SPI come back as driver_summary
#       events counting exactly those, and the blocked outbound datagrams
#       as nothing (class 4 is off); with 4, exactly those.
#   (c) ikelogging: at --log-level info the IKE detail lines (acquire, each
#       message sent) are not in secpold's log with 0, are with 1 -- at
#       once, without a restart -- and are not again with 0.
#
# usage: config_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft python3 timeout

A=cfA.$$ B=cfB.$$
new_ns "$A"
new_ns "$B"
link "$A" va "$B" vb
# IPv4 only on the link: no IPv6 router or listener reports among the drops.
in_ns "$A" sysctl -qw net.ipv6.conf.va.disable_ipv6=1
in_ns "$B" sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
addr "$A" va 192.0.2.1/24
addr "$B" vb 192.0.2.2/24
addr "$B" vb 192.0.2.3/24
LOG="$(host_dir "$A")/secpold.log"

policy "$A" <<'EOF2'
static add filterlist name=everything
static add filter filterlist=everything srcaddr=any dstaddr=any
static add filteraction name=block action=block
static add filter filterlist=peer2 srcaddr=me dstaddr=192.0.2.2 protocol=udp dstport=7
static add filter filterlist=peer3 srcaddr=me dstaddr=192.0.2.3 protocol=udp dstport=7
static add filter filterlist=peer4 srcaddr=me dstaddr=192.0.2.4 protocol=udp dstport=7
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]"
static add policy name=lab mmsecmethods="AESGCM128-SHA256-31"
static add rule name=block policy=lab filterlist=everything filteraction=block
static add rule name=peer2 policy=lab filterlist=peer2 filteraction=esp psk="config test key"
static add rule name=peer3 policy=lab filterlist=peer3 filteraction=esp psk="config test key"
static add rule name=peer4 policy=lab filterlist=peer4 filteraction=esp psk="config test key"
static set policy name=lab assign=yes
EOF2
start_secpold "$A" --log-level info --log-interval 2 || exit 1

cat >"$E2E_T/udp.py" <<'EOF2'
import socket, sys, time
mode = sys.argv[1]
if mode == "listen":        # listen ADDR PORT SECONDS: prints how many arrived
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], int(sys.argv[3])))
    end, n = time.time() + float(sys.argv[4]), 0
    while n < 1000:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            s.recv(2048)
            n += 1
        except socket.timeout:
            break
    print(n)
elif mode == "send":        # send SRC SPORT DST PORT COUNT: errors (EPERM) ignored
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[2]))
    s.bind((sys.argv[2], int(sys.argv[3])))
    for i in range(int(sys.argv[6])):
        try:
            s.sendto(b"secpol config test", (sys.argv[4], int(sys.argv[5])))
        except OSError:
            pass
        time.sleep(0.02)
elif mode == "esp":         # esp DST COUNT: ESP with an SPI nobody has
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    for i in range(int(sys.argv[3])):
        s.sendto(bytes.fromhex("5ec0f1c7") + (i + 1).to_bytes(4, "big") + bytes(48),
                 (sys.argv[2], 0))
        time.sleep(0.02)
EOF2

# arrived TO_NS BIND PORT FROM_NS SRC SPORT DST COUNT: how many of COUNT
# datagrams from FROM_NS reached a listener in TO_NS (bounded: 1.5 s).
arrived() {
	local to=$1 bind=$2 port=$3 from=$4 src=$5 sport=$6 dst=$7 count=$8
	in_ns "$to" timeout 5 python3 "$E2E_T/udp.py" listen "$bind" "$port" 1.5 >"$E2E_T/got" &
	local l=$!
	sleep 0.3
	in_ns "$from" timeout 5 python3 "$E2E_T/udp.py" send "$src" "$sport" "$dst" "$port" "$count"
	wait "$l"
	cat "$E2E_T/got"
}

# ---- (a) ipsecexempt
expect_eq "3: Kerberos in is blocked" "$(arrived "$A" 0.0.0.0 88 "$B" 192.0.2.2 0 192.0.2.1 2)" 0
expect_eq "3: Kerberos out is blocked" "$(arrived "$B" 0.0.0.0 88 "$A" 192.0.2.1 0 192.0.2.2 2)" 0
expect_eq "3: broadcast is blocked" "$(arrived "$A" 0.0.0.0 9999 "$B" 192.0.2.2 0 192.0.2.255 2)" 0
expect_eq "3: multicast is blocked" "$(arrived "$A" 0.0.0.0 9999 "$B" 192.0.2.2 0 224.0.0.1 2)" 0
sp "$A" dynamic set config property=ipsecexempt value=0 >"$E2E_T/set" 2>&1
expect_eq "set ipsecexempt says a restart is needed" \
	"$(grep -c 'takes effect when the IPsec service (secpold) restarts' "$E2E_T/set")" 1
expect_eq "before the restart Kerberos is still blocked" \
	"$(arrived "$A" 0.0.0.0 88 "$B" 192.0.2.2 0 192.0.2.1 2)" 0
expect_ge "secpold says the stored value waits for a restart" \
	"$(grep -c 'ipsecexempt=0 is in the store; 3 (ISAKMP only) stays in force' "$LOG")" 1
check "stop" stop_secpold "$A"
start_secpold "$A" --log-level info --log-interval 2 || exit 1
expect_ge "secpold started with ipsecexempt=0" \
	"$(grep -c 'ipsecexempt=0: exempt from IPsec filtering: multicast, broadcast, RSVP, Kerberos, ISAKMP' "$LOG")" 1
expect_eq "0: Kerberos in passes" "$(arrived "$A" 0.0.0.0 88 "$B" 192.0.2.2 0 192.0.2.1 2)" 2
expect_eq "0: Kerberos out passes" "$(arrived "$B" 0.0.0.0 88 "$A" 192.0.2.1 0 192.0.2.2 2)" 2
expect_eq "0: from source port 88 passes" \
	"$(arrived "$A" 0.0.0.0 5000 "$B" 192.0.2.2 88 192.0.2.1 2)" 2
expect_eq "0: broadcast passes" "$(arrived "$A" 0.0.0.0 9999 "$B" 192.0.2.2 0 192.0.2.255 2)" 2
expect_eq "0: limited broadcast passes" \
	"$(arrived "$A" 0.0.0.0 9999 "$B" 192.0.2.2 0 255.255.255.255 2)" 2
expect_eq "0: multicast passes" "$(arrived "$A" 0.0.0.0 9999 "$B" 192.0.2.2 0 224.0.0.1 2)" 2
expect_eq "0: other traffic is still blocked" \
	"$(arrived "$A" 0.0.0.0 5000 "$B" 192.0.2.2 0 192.0.2.1 2)" 0

# ---- (b) ipsecdiagnostics
# sum CLASS: the packets of all driver_summary events of that class, and
# their reasons, as "packets|reason; reason".
sum() {
	sp "$A" dynamic show events format=json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ev = [e for e in d["events"] if e["event"] == "driver_summary" and e["class"] == sys.argv[1]]
print("%d|%s" % (sum(e["packets"] for e in ev), "; ".join(e["reason"] for e in ev)))' "$1"
}
# settled CLASS WANT: waits (bounded: 10 s) until the class counts WANT, then
# one more interval, so that a late count would show.
settled() {
	for _ in $(seq 50); do
		[ "$(sum "$1" | cut -d'|' -f1)" -ge "$2" ] && break
		sleep 0.2
	done
	sleep 2.5
	sum "$1"
}
check "ipsecdiagnostics=3" sp "$A" dynamic set config property=ipsecdiagnostics value=3
expect_eq "blocked inbound" "$(arrived "$A" 0.0.0.0 9 "$B" 192.0.2.2 0 192.0.2.1 5)" 0
check "3 ESP packets with an unknown SPI" in_ns "$B" timeout 5 python3 "$E2E_T/udp.py" esp 192.0.2.1 3
expect_eq "blocked outbound" "$(arrived "$B" 0.0.0.0 9 "$A" 192.0.2.1 0 192.0.2.2 2)" 0
got=$(settled inbound-policy 5)
expect_eq "class 2 counts the 5 blocked inbound datagrams" "${got%%|*}" 5
expect_eq "... all of them as blocked" "$(echo "${got#*|}" | grep -o 'blocked [0-9]*' |
	awk '{ n += $2 } END { print n + 0 }')" 5
got=$(settled processing 3)
expect_eq "class 1 counts the 3 bad SPIs" "${got%%|*}" 3
expect_eq "... as bad-spi" "$(echo "${got#*|}" | grep -o 'bad-spi [0-9]*' |
	awk '{ n += $2 } END { print n + 0 }')" 3
expect_eq "class 4 is off: no outbound summary" "$(sum outbound-policy)" "0|"
sp "$A" dynamic show events >"$E2E_T/events"
expect_ge "show events lists the summaries" "$(grep -c '^Event .*: driver_summary' "$E2E_T/events")" 2
expect_ge "... with their class" "$(grep -c '^Class .*: inbound-policy' "$E2E_T/events")" 1
expect_ge "secpold's log has them too" \
	"$(grep -c 'driver diagnostics: inbound packets dropped by policy: ' "$LOG")" 1

check "ipsecdiagnostics=4" sp "$A" dynamic set config property=ipsecdiagnostics value=4
expect_eq "blocked outbound" "$(arrived "$B" 0.0.0.0 9 "$A" 192.0.2.1 0 192.0.2.2 2)" 0
expect_eq "blocked inbound, not counted now" "$(arrived "$A" 0.0.0.0 9 "$B" 192.0.2.2 0 192.0.2.1 1)" 0
got=$(settled outbound-policy 2)
expect_eq "class 4 counts the 2 blocked outbound datagrams" "${got%%|*}" 2
expect_eq "... as blocked" "$(echo "${got#*|}" | grep -o 'blocked [0-9]*' |
	awk '{ n += $2 } END { print n + 0 }')" 2
expect_eq "class 2 is off now: still the 5 of before" "$(sum inbound-policy | cut -d'|' -f1)" 5
check "ipsecdiagnostics=0" sp "$A" dynamic set config property=ipsecdiagnostics value=0
expect_eq "no counters in the table when off" \
	"$(in_ns "$A" nft list table inet secpol | grep -c 'counter name')" 0

# ---- (c) ikelogging
ike_lines() { tail -n +"$1" "$LOG" | grep -c "IKE: $2"; }
from=$(($(wc -l <"$LOG") + 1))
in_ns "$A" timeout 5 python3 "$E2E_T/udp.py" send 192.0.2.1 0 192.0.2.2 7 1
sleep 1
expect_eq "ikelogging=0: no acquire line" "$(ike_lines "$from" 'acquire: rule peer2 needs an SA with 192.0.2.2')" 0
expect_eq "ikelogging=0: no message lines" "$(ike_lines "$from" 'sending IKE_SA_INIT request')" 0
check "ikelogging=1" sp "$A" dynamic set config property=ikelogging value=1
from=$(($(wc -l <"$LOG") + 1))
in_ns "$A" timeout 5 python3 "$E2E_T/udp.py" send 192.0.2.1 0 192.0.2.3 7 1
sleep 1
expect_eq "ikelogging=1: the acquire" "$(ike_lines "$from" 'acquire: rule peer3 needs an SA with 192.0.2.3')" 1
expect_eq "ikelogging=1: the message sent" \
	"$(ike_lines "$from" 'sending IKE_SA_INIT request #0 to 192.0.2.3')" 1
check "ikelogging=0" sp "$A" dynamic set config property=ikelogging value=0
from=$(($(wc -l <"$LOG") + 1))
in_ns "$A" timeout 5 python3 "$E2E_T/udp.py" send 192.0.2.1 0 192.0.2.4 7 1
sleep 1
expect_eq "ikelogging=0 again: no acquire line" "$(ike_lines "$from" 'acquire: rule peer4')" 0

check "A stops cleanly" stop_secpold "$A"
echo "config: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
