#!/usr/bin/env bash
# secpold and strongSwan negotiate IKEv2 with each other, each way, in tunnel
# mode (strongSwan's userspace ESP, kernel-libipsec, is built for tunnels and
# only speaks ESP in UDP 4500):
#
#   A: secpold   192.0.2.1 (veth), subnet 198.51.100.0/24 (198.51.100.1)
#   B: charon    192.0.2.2 (veth), subnet 203.0.113.0/24  (203.0.113.1)
#
# secpold's policy is the Windows pair of tunnel rules (one filter list per
# direction, the opposite gateway as endpoint) authenticated with a
# pre-shared key; identities are the IP addresses on both sides.
#   1. secpold initiates (a ping from its subnet), AES-GCM-128 / Curve25519;
#   2. strongSwan initiates, AES-CBC-256 + HMAC-SHA-256 / MODP-2048;
#   3. a wrong key on strongSwan's side fails, and secpold says why;
#   4. rekeys under a continuous ping, none lost: secpold rekeys the Child
#      SA when 20 MB crossed its soft limit (strongSwan responds), then
#      strongSwan rekeys the Child SA and the IKE SA every few seconds
#      (secpold responds).
# Each time: ping and a TCP transfer both ways, `swanctl --list-sas` shows the
# algorithms, and tshark sees only ESP in UDP between the gateways.
#
# usage: swan_interop_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout
. "$HERE/swan.sh"
trap 'swan_cleanup; e2e_cleanup' EXIT
swan_available || { echo "FAIL: strongSwan is not installed (scripts/deps.sh)"; exit 1; }

A=siA.$$ B=siB.$$
new_ns "$A"
new_ns "$B"
link "$A" va "$B" vb
addr "$A" va 192.0.2.1/24
addr "$A" va 198.51.100.1/24
addr "$B" vb 192.0.2.2/24
addr "$B" vb 203.0.113.1/24
# A routes B's subnet to B, as a gateway would; the steering then takes
# the traffic into the tunnel (strongSwan installs its own route, table 220).
in_ns "$A" ip route add 203.0.113.0/24 via 192.0.2.2
swan_tmpdir T

# secpold_policy MM QM PSK: A's policy, a fresh store for each case.
secpold_policy() {
	rm -f "$(host_dir "$A")"/policy.db*
	policy "$A" <<EOF
static add filterlist name=outbound
static add filter filterlist=outbound srcaddr=198.51.100.0 srcmask=24 dstaddr=203.0.113.0 dstmask=24 mirrored=no
static add filterlist name=inbound
static add filter filterlist=inbound srcaddr=203.0.113.0 srcmask=24 dstaddr=198.51.100.0 dstmask=24 mirrored=no
static add filteraction name=esp action=negotiate qmsecmethods="$2"
static add policy name=site mmsecmethods="$1"
static add rule name=to-b policy=site filterlist=outbound filteraction=esp tunnel=192.0.2.2 psk="$3"
static add rule name=from-b policy=site filterlist=inbound filteraction=esp tunnel=192.0.2.1 psk="$3"
static set policy name=site assign=yes
EOF
}

# swan_side IKE ESP PSK: B's connection `t`.
swan_side() {
	swan_conf "$T/sw/swanctl.conf" name=t local=192.0.2.2 remote=192.0.2.1 auth=psk psk="$3" \
		proposals="$1" esp_proposals="$2" local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
		mode=tunnel encap=yes start_action=none &&
		swan_load "$T/sw" "$T/sw/swanctl.conf"
}

# traffic: ping both ways between the subnets, 256 KiB over TCP each way.
traffic() {
	check "$1: ping A -> B subnet" in_ns "$A" ping -c 3 -W 3 -i 0.3 -I 198.51.100.1 203.0.113.1
	check "$1: ping B -> A subnet" in_ns "$B" ping -c 3 -W 3 -i 0.3 -I 203.0.113.1 198.51.100.1
	local dir src dst srv_ns cli_ns
	for dir in AB BA; do
		if [ $dir = AB ]; then srv_ns=$B cli_ns=$A src=198.51.100.1 dst=203.0.113.1
		else srv_ns=$A cli_ns=$B src=203.0.113.1 dst=198.51.100.1; fi
		in_ns "$srv_ns" timeout 20 python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(15)
c, _ = s.accept(); c.settimeout(15); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())' "$dst" >"$E2E_T/tcp.$dir" 2>&1 &
		local srv=$!
		sleep 0.4
		in_ns "$cli_ns" timeout 20 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[2], 5001), timeout=15, source_address=(sys.argv[1], 0))
s.sendall(bytes(range(256)) * 1024); s.close()' "$src" "$dst" || bad "$1: TCP client $dir"
		wait "$srv"
		expect_eq "$1: TCP $dir: 256 KiB intact" "$(cat "$E2E_T/tcp.$dir")" \
			"$(python3 -c 'import hashlib; print(262144, hashlib.sha256(bytes(range(256)) * 1024).hexdigest())')"
	done
}

# bulk NS SRC PEER_NS DST CHUNKS: CHUNKS x 64 KiB over TCP, counted at the far end.
bulk() {
	in_ns "$3" timeout 30 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5002)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n)' "$4" >"$E2E_T/bulk.out" 2>&1 &
	local srv=$!
	sleep 0.4
	in_ns "$1" timeout 30 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[2], 5002), timeout=20, source_address=(sys.argv[1], 0))
chunk = bytes(65536)
for _ in range(int(sys.argv[3])): s.sendall(chunk)
s.close()' "$2" "$4" "$5" || bad "bulk TCP client"
	wait "$srv"
	expect_eq "bulk: $5 x 64 KiB arrived" "$(cat "$E2E_T/bulk.out")" $(($5 * 65536))
}

# wire NAME: only ESP in UDP between the gateways, IKE on 500 then 4500.
wire() {
	capture_stop "$1"
	local W
	W=$(pcap "$1")
	expect_ge "$1: IKE_SA_INIT on 500" "$(shark "$W" -Y 'udp.port == 500 && isakmp.exchangetype == 34' | wc -l)" 2
	expect_ge "$1: IKE_AUTH on 4500" "$(shark "$W" -Y 'udp.port == 4500 && isakmp.exchangetype == 35' | wc -l)" 2
	expect_ge "$1: ESP in UDP 4500 both ways" "$(shark "$W" -Y 'udp.srcport == 4500 && udp.dstport == 4500 && esp && ip.src == 192.0.2.1' | wc -l)" 6
	expect_ge "$1: ESP in UDP from B" "$(shark "$W" -Y 'udp.srcport == 4500 && esp && ip.src == 192.0.2.2' | wc -l)" 6
	expect_eq "$1: no inner address in clear" "$(shark "$W" -Y 'ip.addr == 198.51.100.0/24 || ip.addr == 203.0.113.0/24' | wc -l)" 0
}

swan_start "$B" "$T/sw" || exit 1

# ---- 1. secpold initiates: AES-GCM-128, PRF SHA-256, Curve25519.
secpold_policy "AESGCM128-SHA256-31" "ESP[AESGCM128]:20480k/3600s" "interop key 1"
start_secpold "$A" || exit 1
swan_side aes128gcm16-prfsha256-curve25519 aes128gcm16 "interop key 1" || bad "load swanctl.conf"
capture_start "$B" vb wire1
traffic "secpold initiator"
check "strongSwan: IKE SA established (AES-GCM-128, Curve25519)" \
	swan_assert_ike "$T/sw" t AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519
check "strongSwan: Child SA installed, tunnel in UDP, AES-GCM-128" \
	swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_GCM_16-128
sp "$A" dynamic show ikesas >"$E2E_T/a1"
check "secpold: initiator, established" grep -q "Role *: initiator" "$E2E_T/a1"
check "secpold: UDP-encapsulated Child SA in tunnel mode" grep -q "Child SA ESP in .* tunnel aes-128-gcm UDP-encap" "$E2E_T/a1"
read -r sw_in sw_out < <(swan_spis "$T/sw" t)
check "the SPIs pair up (strongSwan's inbound is secpold's outbound)" \
	grep -q "Child SA ESP in $sw_out out $sw_in" "$E2E_T/a1"
check "strongSwan: authenticated secpold with the pre-shared key" \
	grep -q "authentication of '192.0.2.1' with pre-shared key successful" "$(swan_log "$T/sw")"
# secpold rekeys by volume (90 % of 20480 KB), strongSwan responds; a
# ping runs through it.
in_ns "$A" ping -c 60 -i 0.05 -W 2 -I 198.51.100.1 203.0.113.1 >"$E2E_T/ping1" 2>&1 &
pinger=$!
E2E_PIDS+=("$pinger")
bulk "$A" 198.51.100.1 "$B" 203.0.113.1 305
wait "$pinger"
# strongSwan, the responder, sends on the new SA as soon as it answers: its
# first ESP packets can reach secpold's receive worker before secpold's IKE
# thread has installed the new inbound SA. The worker holds them until it
# has (src/driver/worker.c, rx_hold), so not one echo may be lost.
# no_echo_lost PING_OUTPUT: ping saw every reply; if not, it says which were
# missing and what secpold A counted, so that a rare loss can be traced.
no_echo_lost() {
	grep -q " 0% packet loss" "$1" && return 0
	grep "packets transmitted" "$1"
	echo "missing icmp_seq: $(awk -F'icmp_seq=' 'NF > 1 { split($2, a, " "); seen[a[1]] = 1 }
		END { for (i = 1; i <= max + 0; i++) if (!(i in seen)) printf "%d ", i }' \
		max="$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$1")" "$1")"
	sp "$A" dynamic show stats 2>&1 | grep -iE "bad spi|replay|not (decrypted|authenticated)|queue|dropped: (selector|bad-spi|lifetime)"
	return 1
}
check "secpold-initiated rekey: no echo lost" no_echo_lost "$E2E_T/ping1"
check "secpold rekeyed the Child SA" grep -q "rekeying Child SA" "$(host_dir "$A")/secpold.log"
check "strongSwan: the rekeyed Child SA installed" swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_GCM_16-128
check "strongSwan: saw the rekey" grep -q "CHILD_SA t{2} established\|rekeyed CHILD_SA\|CHILD_REKEY" "$(swan_log "$T/sw")"
wire wire1
stop_secpold "$A"
sleep 0.5
expect_eq "strongSwan: secpold's Delete removed the IKE SA" "$(swan_count_ike "$T/sw")" 0

# ---- 2. strongSwan initiates: AES-CBC-256 + HMAC-SHA-256, MODP-2048.
secpold_policy "AES256-SHA256-14" "ESP[AES256,SHA256]" "interop key 2"
start_secpold "$A" || exit 1
swan_side aes256-sha256-modp2048 aes256-sha256 "interop key 2" || bad "load swanctl.conf"
capture_start "$B" vb wire2
check "strongSwan initiates and the Child SA is installed" swan_initiate "$T/sw" t 15
traffic "secpold responder"
check "strongSwan: IKE SA (AES-CBC-256, HMAC-SHA-256, MODP-2048)" \
	swan_assert_ike "$T/sw" t AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
check "strongSwan: Child SA AES-CBC-256 + HMAC-SHA-256" \
	swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_CBC-256/HMAC_SHA2_256_128
sp "$A" dynamic show ikesas >"$E2E_T/a2"
check "secpold: responder for rule to-b" grep -q "Rule *: to-b" "$E2E_T/a2"
check "secpold: responder, established" grep -q "Role *: responder" "$E2E_T/a2"
wire wire2

# ---- 3. strongSwan with the wrong key: refused, and secpold says why.
swan_terminate "$T/sw" t 10 >/dev/null 2>&1
swan_side aes256-sha256-modp2048 aes256-sha256 "not the key" || bad "load swanctl.conf"
refute "strongSwan with a wrong key gets no Child SA" swan_initiate "$T/sw" t 10
sp "$A" dynamic show failures >"$E2E_T/a3"
check "secpold: IKE_AUTH failure with the reason" grep -q "step IKE_AUTH: authentication failed: the peer's AUTH does not verify with the pre-shared key of rule" "$E2E_T/a3"
refute "no traffic without an SA" in_ns "$B" ping -c 1 -W 1 -I 203.0.113.1 198.51.100.1

# ---- 4. strongSwan rekeys the Child SA (every 4-5 s) and the IKE SA (at
# 10 s); secpold responds. A ping at 10 per second runs until both
# happened (at most 30 s): none may be lost. The timers are kept apart and
# without randomness: strongSwan 5.9.8 loses a libipsec soft expiry that
# falls into its own IKE SA rekey and then lets the Child SA expire.
swan_terminate "$T/sw" t 10 >/dev/null 2>&1
swan_conf "$T/sw/swanctl.conf" name=t local=192.0.2.2 remote=192.0.2.1 auth=psk psk="interop key 2" \
	proposals=aes256-sha256-modp2048 esp_proposals=aes256-sha256 local_ts=203.0.113.0/24 \
	remote_ts=198.51.100.0/24 mode=tunnel encap=yes start_action=none rekey_time=10s \
	over_time=5s conn_extra="rand_time = 0s" child_rekey_time=5s child_life_time=6s \
	&& swan_load "$T/sw" "$T/sw/swanctl.conf" || bad "load swanctl.conf"
check "strongSwan initiates again" swan_initiate "$T/sw" t 15
log0=$(wc -l <"$(swan_log "$T/sw")")
in_ns "$B" ping -c 300 -i 0.1 -W 2 -I 203.0.113.1 198.51.100.1 >"$E2E_T/ping4" 2>&1 &
pinger=$!
E2E_PIDS+=("$pinger")
for _ in $(seq 300); do
	tail -n +"$log0" "$(swan_log "$T/sw")" >"$E2E_T/swan4.log"
	grep -q 'generating CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA)' "$E2E_T/swan4.log" &&
		grep -q 'IKE_SA t\[[0-9]*\] rekeyed' "$E2E_T/swan4.log" && break
	sleep 0.1
done
sleep 1   # a last second of echoes on the rekeyed SAs
kill -INT "$pinger" 2>/dev/null
wait "$pinger"
check "during the ping: strongSwan rekeyed the Child SA" grep -q 'generating CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA)' "$E2E_T/swan4.log"
check "during the ping: strongSwan rekeyed the IKE SA" grep -q 'IKE_SA t\[[0-9]*\] rekeyed' "$E2E_T/swan4.log"
check "rekeys: no echo lost" no_echo_lost "$E2E_T/ping4"
expect_ge "secpold: ReKeys (Child SA and IKE SA, as responder)" "$(stat "$A" "ReKeys")" 2
check "strongSwan: still established after the rekeys" swan_assert_ike "$T/sw" t AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
check "strongSwan: Child SA installed after the rekeys" swan_assert_child "$T/sw" t TUNNEL-in-UDP
sp "$A" dynamic show ikesas >"$E2E_T/a4"
expect_eq "secpold: one IKE SA left" "$(grep -c "^IKE SA" "$E2E_T/a4")" 1
expect_eq "secpold: one Child SA left" "$(grep -c "Child SA ESP" "$E2E_T/a4")" 1

echo "strongSwan interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
