#!/usr/bin/env bash
# IKEv2 between secpold hosts, transport mode, pre-shared keys. Three hosts
# on one bridge:
#
#   A 192.0.2.1 --+
#   B 192.0.2.2 --+-- br0 (in namespace S)
#   C 192.0.2.3 --+
#
# A's policy: traffic with B and with C must be protected (Negotiate,
# ESP[AESGCM128] then ESP[AES256,SHA256]), PSK "right". B agrees (PSK
# "right"); C's key is "wrong". No manual SA anywhere: the first ping from A
# to B starts IKE from the driver's queue, the queued packets leave once the
# Child SA is up; with C negotiation must fail at IKE_AUTH and say so on both
# sides. tshark decodes the wire (ISAKMP, ESP) independently of secpol.
#
# usage: secpold_ike_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

A=ikA.$$ B=ikB.$$ C=ikC.$$ S=ikS.$$
for ns in "$A" "$B" "$C" "$S"; do new_ns "$ns"; done
in_ns "$S" ip link add br0 type bridge
in_ns "$S" ip link set br0 up
n=0
for h in A B C; do
	n=$((n + 1))
	link "${!h}" eth0 "$S" "p$h"
	in_ns "$S" ip link set "p$h" master br0
	addr "${!h}" eth0 "192.0.2.$n/24"
	addr "${!h}" eth0 "2001:db8::$n/64"
done

# policy NS KEY PEERS...: Negotiate with each peer, ESP, the given PSK.
host_policy() {
	local ns=$1 key=$2 p
	shift 2
	{
		echo "static add filterlist name=peers"
		for p in "$@"; do
			echo "static add filter filterlist=peers srcaddr=me dstaddr=$p"
		done
		echo 'static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]:20480k/3600s ESP[AES256,SHA256]"'
		echo 'static add policy name=lab mmsecmethods="AES128-SHA256-31 AES256-SHA256-14"'
		echo "static add rule name=peers policy=lab filterlist=peers filteraction=esp psk=\"$key\""
		echo "static set policy name=lab assign=yes"
	} | policy "$ns"
}
host_policy "$A" right 192.0.2.2 192.0.2.3 2001:db8::2
host_policy "$B" right 192.0.2.1 2001:db8::1
host_policy "$C" wrong 192.0.2.1

for h in A B C; do start_secpold "${!h}" || exit 1; done
capture_start "$S" br0 wire

# ---- A -> B: the first packet starts IKE; it and the others get through.
check "A: ping B (IKE on demand)" in_ns "$A" ping -c 3 -W 5 -i 0.5 192.0.2.2
sp "$A" dynamic show ikesas >"$E2E_T/a.mmsas"
sp "$B" dynamic show ikesas >"$E2E_T/b.mmsas"
check "A: IKE SA established as initiator" grep -q "Role *: initiator" "$E2E_T/a.mmsas"
check "A: established" grep -q "State *: established" "$E2E_T/a.mmsas"
check "B: established as responder" grep -q "Role *: responder" "$E2E_T/b.mmsas"
check "A: IKE algorithms (first mmsecmethod, Curve25519)" grep -q "Algorithms *: aes-128-cbc/sha256/sha256/DH31" "$E2E_T/a.mmsas"
check "A: Child SA ESP AES-GCM-128, transport" grep -q "Child SA ESP in .* transport aes-128-gcm" "$E2E_T/a.mmsas"
check "B: Child SA" grep -q "Child SA ESP in .* transport aes-128-gcm" "$E2E_T/b.mmsas"
# the SPIs pair up: A's inbound is B's outbound
a_in=$(sed -n 's/.*Child SA ESP in \([0-9a-f]*\) out \([0-9a-f]*\).*/\1/p' "$E2E_T/a.mmsas")
b_out=$(sed -n 's/.*Child SA ESP in \([0-9a-f]*\) out \([0-9a-f]*\).*/\2/p' "$E2E_T/b.mmsas")
expect_eq "A's inbound SPI is B's outbound SPI" "$b_out" "$a_in"
expect_eq "A: Oakley Main Mode" "$(stat "$A" "Oakley Main Mode")" 1
expect_eq "B: Oakley Main Mode" "$(stat "$B" "Oakley Main Mode")" 1
expect_ge "A: packets encrypted" "$(stat "$A" "Packets Encrypted")" 3
expect_ge "A: queued packets sent once the SA was up" "$(stat "$A" "Queued Then Sent")" 1
# The monitor's views of the same SAs: JSON that parses, packets counted per SA.
sp "$A" dynamic show qmsas format=json >"$E2E_T/a.qmsas.json"
check "A: show qmsas format=json parses" python3 -m json.tool "$E2E_T/a.qmsas.json"
expect_ge "A: a negotiated quick-mode SA carried packets out" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s["packets_out"] for s in d["sas"] if s["negotiated"]))' "$E2E_T/a.qmsas.json")" 3
expect_ge "A: ... and in" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s["packets_in"] for s in d["sas"] if s["negotiated"]))' "$E2E_T/a.qmsas.json")" 1
sp "$A" dynamic show stats format=table >"$E2E_T/a.stats.table"
check "A: show stats format=table: Oakley Main Mode 1" grep -Eq "^Oakley Main Mode +1$" "$E2E_T/a.stats.table"
check "A: show stats format=table: TotalGetSpi counted" grep -Eq "^TotalGetSpi +[1-9]" "$E2E_T/a.stats.table"
check "A: show stats format=table fits 79 columns" awk 'length > 79 { exit 1 }' "$E2E_T/a.stats.table"
sp "$A" dynamic show mmsas >"$E2E_T/a.mmsas.list"
check "A: show mmsas in the spec's layout" grep -q "^Auth Mode *: Preshared Key" "$E2E_T/a.mmsas.list"

# ---- both ways, TCP: 1 MiB from B to A through the SA, checked end to end.
in_ns "$A" python3 -c '
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", 5001)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())' >"$E2E_T/tcp.out" 2>&1 &
srv=$!
E2E_PIDS+=("$srv")
sleep 0.5
in_ns "$B" python3 -c '
import socket
s = socket.create_connection(("192.0.2.1", 5001), timeout=20)
s.sendall(bytes(range(256)) * 4096); s.close()' || bad "B: TCP client"
wait "$srv"
want=$(python3 -c 'import hashlib; print(1048576, hashlib.sha256(bytes(range(256)) * 4096).hexdigest())')
expect_eq "TCP B -> A: 1 MiB arrives intact" "$(cat "$E2E_T/tcp.out")" "$want"

# ---- a rekey by volume under load: the Child SA's soft limit is 90 % of
# 20480 KB (the smallest lifetime Windows allows); 20 MB of TCP from A to B
# cross it but stay under the hard limit. A continuous ping runs through
# the rekey (make-before-break): not one echo may be lost.
in_ns "$A" ping -c 100 -i 0.05 -W 2 192.0.2.2 >"$E2E_T/ping.rekey" 2>&1 &
pinger=$!
E2E_PIDS+=("$pinger")
in_ns "$B" timeout 30 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 5002)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n)' >"$E2E_T/bulk.out" 2>&1 &
bulk=$!
sleep 0.4
in_ns "$A" timeout 30 python3 -c '
import socket
s = socket.create_connection(("192.0.2.2", 5002), timeout=20)
chunk = bytes(65536)
for _ in range(305): s.sendall(chunk)
s.close()' || bad "A: bulk TCP client"
wait "$bulk"
expect_eq "20 MB A -> B" "$(cat "$E2E_T/bulk.out")" 19988480
wait "$pinger"
check "no echo lost during the rekey" grep -q " 0% packet loss" "$E2E_T/ping.rekey"
expect_ge "A: ReKeys" "$(stat "$A" "ReKeys")" 1
expect_ge "B: ReKeys" "$(stat "$B" "ReKeys")" 1
sp "$A" dynamic show sa >"$E2E_T/a.sa"
sp "$A" dynamic show ikesas >"$E2E_T/a.rekeyed"
expect_eq "A: one Child SA with B after the rekey" "$(grep -c "Child SA ESP" "$E2E_T/a.rekeyed")" 1
check "A: a new Child SA (new SPI)" bash -c "! grep -q 'Child SA ESP in $a_in ' $E2E_T/a.rekeyed"
check "the rekey in the log" grep -q "rekeying Child SA" "$(host_dir "$A")/secpold.log" "$(host_dir "$B")/secpold.log"

# ---- IPv6: a second IKE SA, over IPv6, for the same rule.
check "A: ping6 B (IKE over IPv6)" in_ns "$A" ping -6 -c 3 -W 5 -i 0.3 2001:db8::2
sp "$A" dynamic show ikesas >"$E2E_T/a.v6"
check "A: an IKE SA with 2001:db8::2" grep -q "Peer *: 2001:db8::2:500" "$E2E_T/a.v6"
expect_eq "A: two IKE SAs with B (IPv4 and IPv6)" "$(grep -c "^IKE SA" "$E2E_T/a.v6")" 2

# ---- A -> C: the keys differ. No traffic, and both sides say why.
refute "A: ping C with a wrong PSK" in_ns "$A" ping -c 2 -W 2 -i 0.5 192.0.2.3
sleep 1
sp "$C" dynamic show failures >"$E2E_T/c.fail"
sp "$A" dynamic show failures >"$E2E_T/a.fail"
check "C: failure names IKE_AUTH and the key" grep -q "step IKE_AUTH: authentication failed: the peer's AUTH does not verify with the pre-shared key of rule" "$E2E_T/c.fail"
sp "$C" dynamic show failures format=json >"$E2E_T/c.fail.json"
check "C: failure in JSON" grep -q '"step":"ike_auth","reason":"authentication failed: ' "$E2E_T/c.fail.json"
check "A: failure says the responder refused" grep -q "AUTHENTICATION_FAILED" "$E2E_T/a.fail"
expect_ge "C: Authentication Failures" "$(stat "$C" "Authentication Failures")" 1
check "C: one log line for the failure" grep -q "IKE IKE_AUTH with 192.0.2.1 failed" "$(host_dir "$C")/secpold.log"

capture_stop wire
W=$(pcap wire)
expect_ge "wire: IKE_SA_INIT (tshark)" "$(shark "$W" -Y 'isakmp.exchangetype == 34' | wc -l)" 2
expect_ge "wire: IKE_AUTH (tshark)" "$(shark "$W" -Y 'isakmp.exchangetype == 35' | wc -l)" 2
expect_ge "wire: ESP between A and B" "$(shark "$W" -Y 'esp && ip.addr == 192.0.2.2' | wc -l)" 6
expect_ge "wire: CREATE_CHILD_SA (the rekey)" "$(shark "$W" -Y 'isakmp.exchangetype == 36' | wc -l)" 2
expect_eq "wire: no ICMP in clear between A and B" "$(shark "$W" -Y 'icmp && ip.addr == 192.0.2.2 && !esp' | wc -l)" 0
expect_eq "wire: no ICMPv6 echo in clear" "$(shark "$W" -Y 'icmpv6.type == 128 || icmpv6.type == 129' | wc -l)" 0
expect_ge "wire: ESP over IPv6" "$(shark "$W" -Y 'esp && ipv6.addr == 2001:db8::2' | wc -l)" 6
expect_eq "wire: no TCP in clear between A and B" "$(shark "$W" -Y 'tcp.port == 5001 || tcp.port == 5002' | wc -l)" 0
expect_eq "wire: no ICMP in clear to C" "$(shark "$W" -Y 'icmp && ip.addr == 192.0.2.3' | wc -l)" 0
check "no key material in the logs" bash -c "! grep -qi 'right\|wrong' $(host_dir "$A")/secpold.log $(host_dir "$B")/secpold.log"

# ---- shutdown: A deletes its IKE SA and tells B.
stop_secpold "$A"
sleep 0.5
sp "$B" dynamic show ikesas >"$E2E_T/b2.mmsas"
check "B: the IKE SA is gone after A's Delete" grep -q "No IKE SAs" "$E2E_T/b2.mmsas"

echo "secpold IKE: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
