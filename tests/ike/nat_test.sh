#!/usr/bin/env bash
# IKEv2 through a real NAT: NAT detection, the move to UDP 4500, ESP in UDP
# to whatever port the NAT maps (RFC 3947/3948, RFC 7296 §2.23).
#
#   A (secpold) 198.51.100.2 -- R (NAT) 198.51.100.1 | 192.0.2.1 -- B (secpold) 192.0.2.2
#   A's LAN 203.0.113.0/25 (203.0.113.1)          B's LAN 203.0.113.128/25 (203.0.113.129)
#
# R masquerades A behind 192.0.2.1 with random source ports, so neither 500
# nor 4500 survive the NAT. A and B are gateways with the Windows pair of
# tunnel rules each; B's rules name A by the NAT's public address. A
# initiates; both sides must see the NAT, and traffic must flow both ways.
#
# usage: nat_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft tshark dumpcap ping timeout

A=natA.$$ R=natR.$$ B=natB.$$
for ns in "$A" "$R" "$B"; do new_ns "$ns"; done
link "$A" eth0 "$R" ra
link "$R" rb "$B" eth0
addr "$A" eth0 198.51.100.2/24
addr "$A" eth0 203.0.113.1/25
addr "$R" ra 198.51.100.1/24
addr "$R" rb 192.0.2.1/24
addr "$B" eth0 192.0.2.2/24
addr "$B" eth0 203.0.113.129/25
in_ns "$A" ip route add default via 198.51.100.1
in_ns "$B" ip route add 203.0.113.0/25 via 192.0.2.1
in_ns "$R" sysctl -qw net.ipv4.ip_forward=1
in_ns "$R" nft -f - <<'EOF'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "rb" masquerade random
	}
}
EOF

# gateway NS MY_LAN PEER_LAN PEER_GW ME
gateway() {
	policy "$1" <<EOF
static add filterlist name=out
static add filter filterlist=out srcaddr=${2%/*} srcmask=${2#*/} dstaddr=${3%/*} dstmask=${3#*/} mirrored=no
static add filterlist name=in
static add filter filterlist=in srcaddr=${3%/*} srcmask=${3#*/} dstaddr=${2%/*} dstmask=${2#*/} mirrored=no
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM256]"
static add policy name=site mmsecmethods="AESGCM128-SHA256-31"
static add rule name=to-peer policy=site filterlist=out filteraction=esp tunnel=$4 psk="behind a NAT"
static add rule name=from-peer policy=site filterlist=in filteraction=esp tunnel=$5 psk="behind a NAT"
static set policy name=site assign=yes
EOF
}
gateway "$A" 203.0.113.0/25 203.0.113.128/25 192.0.2.2 198.51.100.2
gateway "$B" 203.0.113.128/25 203.0.113.0/25 192.0.2.1 192.0.2.2

start_secpold "$A" || exit 1
start_secpold "$B" || exit 1
capture_start "$B" eth0 outside

check "A's LAN -> B's LAN through the NAT" in_ns "$A" ping -c 3 -W 5 -i 0.3 -I 203.0.113.1 203.0.113.129
check "B's LAN -> A's LAN through the NAT" in_ns "$B" ping -c 3 -W 3 -i 0.3 -I 203.0.113.129 203.0.113.1
sp "$A" dynamic show ikesas >"$E2E_T/a"
sp "$B" dynamic show ikesas >"$E2E_T/b"
check "A: established, IKE on 4500" grep -q "Me *: 198.51.100.2:4500" "$E2E_T/a"
check "A: saw the NAT" grep -q "UDP encapsulation *: yes (NAT)" "$E2E_T/a"
check "B: saw the NAT" grep -q "UDP encapsulation *: yes (NAT)" "$E2E_T/b"
check "B: the peer is the NAT's mapping, not 4500" grep -Eq "Peer *: 192.0.2.1:[0-9]+$" "$E2E_T/b"
bport=$(sed -n 's/^ *Peer *: 192.0.2.1:\([0-9]*\)$/\1/p' "$E2E_T/b")
check "B: the mapped port is not 4500 (masquerade random)" test "${bport:-4500}" != 4500
check "B: Child SA in UDP" grep -q "Child SA ESP in .* tunnel aes-256-gcm UDP-encap" "$E2E_T/b"

capture_stop outside
W=$(pcap outside)
# tshark picks a UDP dissector by the lower port first, and the NAT maps
# A's 500 to a random port below 512 (often one of another protocol, DNS
# or NTP say): IKE_SA_INIT is found by its header bytes (exchange type at
# octet 18), and the NAT's port for 4500, which is known, is decoded as
# UDP-encapsulated IKE/ESP.
expect_ge "outside: IKE_SA_INIT on 500 (B's side)" "$(shark "$W" -Y 'udp.dstport == 500 && udp.payload[18] == 22' | wc -l)" 1
expect_ge "outside: IKE_AUTH to 4500" "$(shark "$W" -d "udp.port==${bport:-4500},udpencap" -Y 'udp.dstport == 4500 && isakmp.exchangetype == 35' | wc -l)" 1
expect_ge "outside: ESP in UDP from B to the NAT's port" "$(shark "$W" -d "udp.port==${bport:-4500},udpencap" -Y "udp.srcport == 4500 && udp.dstport == $bport && esp" | wc -l)" 3
expect_eq "outside: no raw ESP (it could not cross the NAT)" "$(shark "$W" -Y 'ip.proto == 50' | wc -l)" 0
expect_eq "outside: no LAN address in clear" "$(shark "$W" -Y 'ip.addr == 203.0.113.0/24' | wc -l)" 0

echo "IKE through NAT: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
