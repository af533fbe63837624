#!/usr/bin/env bash
# Throughput of the data path: iperf3 TCP for N seconds (default 10) between
# two network namespaces, first over the bare veth link, then through secpold
# with a transport-mode AES-128-GCM SA (manual keys). Prints Gbit/s for both.
#
# usage: bench/ipsec_iperf.sh [build dir] [seconds] [encryption]     (root)
set -u
BUILD=${1:-build}
SECS=${2:-10}
ENC=${3:-aes-128-gcm}
SECPOL=$(realpath "$BUILD/secpol")
SECPOLD=$(realpath "$BUILD/secpold")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/agent/lib.sh"

A=benchA.$$ B=benchB.$$
new_ns "$A"
new_ns "$B"
link "$A" va "$B" vb
addr "$A" va 192.0.2.1/24
addr "$B" vb 192.0.2.2/24

iperf() {   # prints the receiver's Gbit/s
	ip netns exec "$B" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	E2E_PIDS+=("$srv")
	sleep 0.5
	in_ns "$A" timeout $((SECS + 20)) iperf3 -c 192.0.2.2 -p 5201 -t "$SECS" -J |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
	wait "$srv" 2>/dev/null
}

bare=$(iperf)

for h in A B; do
	ns=${!h}
	peer=$([ $h = A ] && echo 192.0.2.2 || echo 192.0.2.1)
	policy "$ns" <<EOF
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filteraction name=esp action=negotiate
static add policy name=bench
static add rule name=esp policy=bench filterlist=peer filteraction=esp psk="manual SAs"
static set policy name=bench assign=yes
EOF
	start_secpold "$ns" || exit 1
done
case $ENC in
aes-256-gcm|chacha20-poly1305) K1=0x$(printf '%072d' 1) K2=0x$(printf '%072d' 2) ;;
*) K1=0x0102030405060708090a0b0c0d0e0f1011121314 K2=0x2122232425262728292a2b2c2d2e2f3031323334 ;;
esac
for ns in "$A" "$B"; do
	sp "$ns" dynamic add sa srcaddr=192.0.2.1 dstaddr=192.0.2.2 protocol=esp spi=0x1001 \
		encryption="$ENC" enckey="$K1" >/dev/null || exit 1
	sp "$ns" dynamic add sa srcaddr=192.0.2.2 dstaddr=192.0.2.1 protocol=esp spi=0x1002 \
		encryption="$ENC" enckey="$K2" >/dev/null || exit 1
done
ipsec=$(iperf)
encrypted=$(stat "$A" "Packets Encrypted")
echo "iperf tcp seconds=$SECS bare_veth_gbit_s=$bare secpol_${ENC}_gbit_s=$ipsec" \
	"ratio=$(python3 -c "print('%.3f' % ($ipsec / $bare))" 2>/dev/null) packets_encrypted_A=$encrypted"
