#!/usr/bin/env bash
# The secpol demo, the main job: two hosts (network namespaces on a veth
# link) with Windows' predefined policies assigned -- a is a Server (Request
# Security), b a Secure Server (Require Security) -- each running secpold.
# Ping is exempt in both (clear); the first TCP segment makes secpold
# negotiate the SAs with IKEv2 (pre-shared key in place of Kerberos); then
# what tshark saw on the link (clear ICMP, IKE, then only ESP for TCP), and
# the monitor: the IKE and IPsec SAs and `secpol dynamic show stats`. Everything it creates
# (namespaces, daemons, files under build/demo) is removed when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# From here on, output is cut with head: a reader that stops early is fine.
set +o pipefail
D=$PWD/build/demo
A=secpol-demo-a B=secpol-demo-b
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del $A 2>/dev/null || true
	ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
cleanup
rm -rf "$D"
mkdir -p "$D/a" "$D/b"
say() { printf '\n== %s\n' "$*"; }
sp() {  # sp a|b args...: secpol on that host, echoed
	local h=$1 ns
	shift
	ns=$([ "$h" = a ] && echo $A || echo $B)
	echo "[$h]\$ secpol $*"
	ip netns exec "$ns" build/secpol --store "$D/$h/policy.db" --control "$D/$h/ctl" "$@"
}

say "Two hosts on one link: a = 192.0.2.1, b = 192.0.2.2"
ip netns add $A
ip netns add $B
ip link add eth0 netns $A type veth peer name eth0 netns $B
ip -n $A addr add 192.0.2.1/24 dev eth0
ip -n $B addr add 192.0.2.2/24 dev eth0
for ns in $A $B; do ip -n $ns link set lo up; ip -n $ns link set eth0 up; done

say "The predefined policies: a is a Server (Request Security), b a Secure Server (Require Security)"
sp a static show policy all format=table
sp b static show rule all policy="Secure Server (Require Security)" format=table
for h in a b; do
	pol=$([ $h = a ] && echo "Server (Request Security)" || echo "Secure Server (Require Security)")
	sed "s/@POLICY@/$pol/" examples/demo-assign-predefined.txt >"$D/$h/policy.txt"
done
sed 's/^/    /' "$D/b/policy.txt"
sp a -e -f "$D/a/policy.txt"
sp b -e -f "$D/b/policy.txt"
sp b static show gpoassignedpolicy

say "secpold on both hosts (the policy agent and the IPsec driver)"
for h in a b; do
	ns=$([ $h = a ] && echo $A || echo $B)
	ip netns exec $ns build/secpold --foreground --store "$D/$h/policy.db" \
		--control "$D/$h/ctl" --state-dir "$D/$h" 2>"$D/$h/secpold.log" &
	PIDS+=($!)
done
for _ in $(seq 100); do
	sp a dynamic show stats >/dev/null 2>&1 && sp b dynamic show stats >/dev/null 2>&1 && break
	sleep 0.1
done >/dev/null
cat "$D/a/secpold.log"
echo "[a]\$ nft list table inet secpol   (the kernel steering secpold installed)"
ip netns exec $A nft list table inet secpol | sed -n '1,12p'

say "ICMP is exempt in both policies (their \"All ICMP Traffic\" rule): ping goes in clear"
ip netns exec $B dumpcap -q -P -i eth0 -w "$D/wire.pcap" 2>"$D/dumpcap.log" &
CAP=$!
PIDS+=($CAP)
for _ in $(seq 50); do [ -s "$D/wire.pcap" ] && break; sleep 0.1; done
echo "[a]\$ ping -c 3 192.0.2.2"
ip netns exec $A ping -c 3 -i 0.3 -W 5 192.0.2.2
sp a dynamic show rulefor srcaddr=192.0.2.1 dstaddr=192.0.2.2 protocol=icmp

say "TCP is not: the first segment makes a's secpold negotiate (IKEv2: IKE_SA_INIT, IKE_AUTH)"
sp a dynamic show rulefor srcaddr=192.0.2.1 dstaddr=192.0.2.2 protocol=tcp dstport=5201 format=table
ip netns exec $B iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
echo "[a]\$ iperf3 -c 192.0.2.2 -t 3"
ip netns exec $A timeout 20 iperf3 -c 192.0.2.2 -t 3 -p 5201 | tail -4
sleep 0.3
kill -INT $CAP
wait $CAP 2>/dev/null || true
sp a dynamic show mmsas

say "What tshark saw on the link: the exempt pings in clear, the IKE exchanges, then only ESP"
tshark -n -r "$D/wire.pcap" -Y 'ip' -T fields -e frame.number -e ip.src -e ip.dst \
	-e _ws.col.Protocol -e isakmp.exchangetype -e esp.spi -e esp.sequence 2>/dev/null | head -14
echo "protocols of all $(tshark -n -r "$D/wire.pcap" -Y ip 2>/dev/null | wc -l) IP packets:" \
	"$(tshark -n -r "$D/wire.pcap" -Y ip -T fields -e ip.proto 2>/dev/null | sort | uniq -c |
	   awk '{ printf "%s x proto %s  ", $1, $2 }')(50 = ESP, 17 = UDP: IKE)"
echo "cleartext ICMP between a and b: $(tshark -n -r "$D/wire.pcap" -Y 'icmp' 2>/dev/null | wc -l) packets (the exempt pings)"
echo "cleartext TCP between a and b: $(tshark -n -r "$D/wire.pcap" -Y 'tcp' 2>/dev/null | wc -l) packets"

say "The IP Security Monitor's view on host a"
sp a dynamic show qmsas
sp a dynamic show stats format=table
sp a dynamic show stats type=ipsec format=json | head -12
sp a dynamic show events format=table
echo "[a]\$ secpol monitor --once   (the live view, like top; without --once it refreshes every second, q quits)"
ip netns exec $A build/secpol --control "$D/a/ctl" monitor --once | head -24
