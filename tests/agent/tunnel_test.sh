#!/usr/bin/env bash
# secpold end to end, tunnel mode between two gateways, each with a host
# behind it (Windows' pair of tunnel rules on each gateway):
#
#   hA 198.51.100.10 -- gwA 198.51.100.1 | 192.0.2.1 ==ESP== 192.0.2.2 | 203.0.113.1 gwB -- hB 203.0.113.10
#      2001:db8:a::10        2001:db8:a::1 | 2001:db8::1      2001:db8::2 | 2001:db8:b::1     2001:db8:b::10
#                                                                         | 2001:db8:c::1     2001:db8:c::10
#
# IPv4 in IPv4 and IPv6 in IPv6, each with its own pair of tunnel rules.
# First with manual AES-256-GCM SAs (IPv4 outer and inner; tshark 4.0 cannot decrypt ChaCha20). dumpcap on gwA's
# WAN link; tshark decrypts the tunnel to the hosts' original packets.
# Then the rules negotiate with IKE (pre-shared key), and their connection
# type takes them out of force on the WAN (conntype=dialup) and back (lan).
#
# usage: tunnel_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, TUN, nftables)"
	exit 77
fi
. "$HERE/lib.sh"

HA=tHA.$$ GA=tGA.$$ GB=tGB.$$ HB=tHB.$$
for ns in "$HA" "$GA" "$GB" "$HB"; do new_ns "$ns"; done
link "$HA" eth0 "$GA" lan
link "$GA" wan "$GB" wan
link "$GB" lan "$HB" eth0
addr "$HA" eth0 198.51.100.10/24
addr "$GA" lan 198.51.100.1/24
addr "$GA" wan 192.0.2.1/24
addr "$GB" wan 192.0.2.2/24
addr "$GB" lan 203.0.113.1/24
addr "$HB" eth0 203.0.113.10/24
addr "$HA" eth0 2001:db8:a::10/64
addr "$GA" lan 2001:db8:a::1/64
addr "$GA" wan 2001:db8::1/64
addr "$GB" wan 2001:db8::2/64
addr "$GB" lan 2001:db8:b::1/64
addr "$HB" eth0 2001:db8:b::10/64
addr "$GB" lan 2001:db8:c::1/64
addr "$HB" eth0 2001:db8:c::10/64
in_ns "$HA" ip route add default via 198.51.100.1
in_ns "$HB" ip route add default via 203.0.113.1
in_ns "$HA" ip -6 route add default via 2001:db8:a::1
in_ns "$HB" ip -6 route add default via 2001:db8:b::1
in_ns "$GA" ip route add 203.0.113.0/24 via 192.0.2.2
in_ns "$GB" ip route add 198.51.100.0/24 via 192.0.2.1
in_ns "$GA" ip -6 route add 2001:db8:b::/64 via 2001:db8::2
in_ns "$GA" ip -6 route add 2001:db8:c::/64 via 2001:db8::2
in_ns "$GB" ip -6 route add 2001:db8:a::/64 via 2001:db8::1
for g in "$GA" "$GB"; do
	in_ns "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done

# The IPv6 rules have a second filter each (MYLAN6B <-> PEERLAN6B): hB's
# second subnet, 2001:db8:c::/64, rides the same tunnel.
gateway_policy() {   # gateway_policy NS MYLAN PEERLAN MYWAN PEERWAN MYLAN6 PEERLAN6 MYWAN6 PEERWAN6 MYLAN6B PEERLAN6B
	policy "$1" <<EOF
static add filterlist name=outbound
static add filter filterlist=outbound srcaddr=$2 srcmask=24 dstaddr=$3 dstmask=24 mirrored=no
static add filterlist name=inbound
static add filter filterlist=inbound srcaddr=$3 srcmask=24 dstaddr=$2 dstmask=24 mirrored=no
static add filterlist name=outbound6
static add filter filterlist=outbound6 srcaddr=$6 dstaddr=$7 mirrored=no
static add filter filterlist=outbound6 srcaddr=${10} dstaddr=${11} mirrored=no
static add filterlist name=inbound6
static add filter filterlist=inbound6 srcaddr=$7 dstaddr=$6 mirrored=no
static add filter filterlist=inbound6 srcaddr=${11} dstaddr=${10} mirrored=no
static add filteraction name=esp action=negotiate
static add policy name=site
static add rule name=to-peer policy=site filterlist=outbound filteraction=esp tunnel=$5 kerberos=yes
static add rule name=from-peer policy=site filterlist=inbound filteraction=esp tunnel=$4 kerberos=yes
static add rule name=to-peer6 policy=site filterlist=outbound6 filteraction=esp tunnel=$9 kerberos=yes
static add rule name=from-peer6 policy=site filterlist=inbound6 filteraction=esp tunnel=$8 kerberos=yes
static set policy name=site assign=yes
EOF
}
gateway_policy "$GA" 198.51.100.0 203.0.113.0 192.0.2.1 192.0.2.2 \
	2001:db8:a::/64 2001:db8:b::/64 2001:db8::1 2001:db8::2 2001:db8:a::/64 2001:db8:c::/64
gateway_policy "$GB" 203.0.113.0 198.51.100.0 192.0.2.2 192.0.2.1 \
	2001:db8:b::/64 2001:db8:a::/64 2001:db8::2 2001:db8::1 2001:db8:c::/64 2001:db8:a::/64
start_secpold "$GA" || exit 1
start_secpold "$GB" || exit 1

capture_start "$GA" wan wire
refute "no SA yet: the hosts cannot talk" in_ns "$HA" ping -c 1 -W 1 203.0.113.10

K1=0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa0a1a2a3
K2=0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3fb0b1b2b3
for g in "$GA" "$GB"; do
	check "add tunnel SA A->B" sp "$g" dynamic add sa srcaddr=198.51.100.0/24 \
		dstaddr=203.0.113.0/24 protocol=esp spi=0x3001 mode=tunnel tunnelsrc=192.0.2.1 \
		tunneldst=192.0.2.2 encryption=aes-256-gcm enckey=$K1
	check "add tunnel SA B->A" sp "$g" dynamic add sa srcaddr=203.0.113.0/24 \
		dstaddr=198.51.100.0/24 protocol=esp spi=0x3002 mode=tunnel tunnelsrc=192.0.2.2 \
		tunneldst=192.0.2.1 encryption=aes-256-gcm enckey=$K2
done
K3=0x404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5fc0c1c2c3
K4=0x606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7fd0d1d2d3
for g in "$GA" "$GB"; do
	check "add IPv6 tunnel SA A->B" sp "$g" dynamic add sa srcaddr=2001:db8:a::/64 \
		dstaddr=2001:db8:b::/64 protocol=esp spi=0x6001 mode=tunnel tunnelsrc=2001:db8::1 \
		tunneldst=2001:db8::2 encryption=aes-256-gcm enckey=$K3
	check "add IPv6 tunnel SA B->A" sp "$g" dynamic add sa srcaddr=2001:db8:b::/64 \
		dstaddr=2001:db8:a::/64 protocol=esp spi=0x6002 mode=tunnel tunnelsrc=2001:db8::2 \
		tunneldst=2001:db8::1 encryption=aes-256-gcm enckey=$K4
done
refute "tunnel mode needs its endpoints" sp "$GA" dynamic add sa srcaddr=198.51.100.0/24 \
	dstaddr=203.0.113.0/24 protocol=esp spi=0x3003 mode=tunnel encryption=aes-256-gcm \
	enckey=$K1

check "hA pings hB through the tunnel" in_ns "$HA" ping -c 3 -W 2 -i 0.2 -p 7e11e1 203.0.113.10
check "hB pings hA through the tunnel" in_ns "$HB" ping -c 2 -W 2 -i 0.2 198.51.100.10
check "hA pings hB through the IPv6 tunnel" in_ns "$HA" ping -6 -c 3 -W 2 -i 0.2 -p 7e66e6 2001:db8:b::10
in_ns "$HB" timeout 10 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.10", 5001)); s.listen(1); s.settimeout(8)
c, _ = s.accept(); c.settimeout(8); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n)' >"$E2E_T/tcp.out" &
srv=$!
sleep 0.5
check "TCP hA -> hB through the tunnel" in_ns "$HA" timeout 8 python3 -c '
import socket
c = socket.create_connection(("203.0.113.10", 5001), timeout=5)
c.sendall(b"SECPOL-TUNNEL-MARKER" + b"x" * 300000); c.close()'
wait $srv
expect_eq "hB received the whole stream" "$(cat "$E2E_T/tcp.out")" 300020
capture_stop wire

GCM="AES-GCM with 16 octet ICV [RFC4106]"
ESP_SAS=(
	"\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0x00003001\",\"$GCM\",\"$K1\",\"NULL\",\"\""
	"\"IPv4\",\"192.0.2.2\",\"192.0.2.1\",\"0x00003002\",\"$GCM\",\"$K2\",\"NULL\",\"\""
	"\"IPv6\",\"2001:db8::1\",\"2001:db8::2\",\"0x00006001\",\"$GCM\",\"$K3\",\"NULL\",\"\""
	"\"IPv6\",\"2001:db8::2\",\"2001:db8::1\",\"0x00006002\",\"$GCM\",\"$K4\",\"NULL\",\"\""
)
W=$(pcap wire)
expect_eq "only ESP between the gateways" \
	"$(shark "$W" -Y 'ip && !esp' -T fields -e frame.number | wc -l)" 0
expect_eq "the hosts' addresses never appear outside the tunnel" \
	"$(tshark -n -r "$W" -Y 'ip.addr==198.51.100.10 || ip.addr==203.0.113.10' -T fields -e frame.number 2>/dev/null | wc -l)" 0
expect_ge "tshark decrypts hA's pings inside the tunnel" \
	"$(shark "$W" -Y 'esp && ip.src==198.51.100.10 && icmp.type==8 && data.data contains 7e:11:e1' -T fields -e frame.number | wc -l)" 3
expect_eq "only ESP between the gateways (IPv6)" \
	"$(shark "$W" -Y 'ipv6 && !esp && !icmpv6.type>=133' -T fields -e frame.number | wc -l)" 0
expect_ge "tshark decrypts hA's IPv6 pings inside the tunnel" \
	"$(shark "$W" -Y 'esp && ipv6.src==2001:db8:a::10 && icmpv6.type==128 && data.data contains 7e:66:e6' -T fields -e frame.number | wc -l)" 3
expect_ge "tshark decrypts the TCP marker inside the tunnel" \
	"$(shark "$W" -Y 'esp && tcp.payload contains "SECPOL-TUNNEL-MARKER"' -T fields -e frame.number | wc -l)" 1
expect_ge "gwA: Active Tunnels" "$(stat "$GA" "Active Tunnels")" 4
expect_ge "gwA: Bytes Sent In Tunnels" "$(stat "$GA" "Bytes Sent In Tunnels")" 300000

check "gwA stops cleanly" stop_secpold "$GA"
refute "gwA: table removed" in_ns "$GA" nft list table inet secpol
check "gwB stops cleanly" stop_secpold "$GB"

# ---- The same four rules on each gateway, negotiated by IKE: a pre-shared
# key instead of Kerberos (`set rule psk=` replaces the methods), keys made
# on the first packet, tunnel mode to the endpoint the rule names.
psk_rules() {   # psk_rules NS [conntype]
	local r
	for r in to-peer from-peer to-peer6 from-peer6; do
		echo "static set rule name=$r policy=site psk=\"gateway key\" ${2:+conntype=$2}"
	done | sp "$1" -e -f -
}
check "gwA: the rules authenticate with a pre-shared key" psk_rules "$GA"
check "gwB: the rules authenticate with a pre-shared key" psk_rules "$GB"
start_secpold "$GA" || exit 1
start_secpold "$GB" || exit 1
capture_start "$GA" wan ike
check "hA pings hB through the negotiated tunnel" in_ns "$HA" ping -c 3 -W 3 -i 0.3 203.0.113.10
check "hB pings hA through it" in_ns "$HB" ping -c 2 -W 3 -i 0.3 198.51.100.10
check "and over IPv6" in_ns "$HA" ping -6 -c 3 -W 3 -i 0.3 2001:db8:b::10
# The IPv6 Child SA was made for both filters of the rule (its traffic
# selectors list both subnets): hB's second subnet needs no SA of its own.
check "and to hB's second IPv6 subnet (the rules' second filter)" \
	in_ns "$HA" ping -6 -c 3 -W 3 -i 0.3 2001:db8:c::10
capture_stop ike
W=$(pcap ike)
expect_eq "between the gateways only IKE and ESP" \
	"$(tshark -n -r "$W" -Y '!esp && !(udp.port==500) && !(udp.port==4500) && !arp && !(icmpv6.type>=133 && icmpv6.type<=136) && !icmpv6.type==143' -T fields -e frame.number 2>/dev/null | wc -l)" 0
expect_ge "IKE_AUTH exchanges (IPv4 and IPv6)" \
	"$(tshark -n -r "$W" -Y 'isakmp.exchangetype==35' -T fields -e frame.number 2>/dev/null | wc -l)" 4
expect_ge "ESP carried the pings" \
	"$(tshark -n -r "$W" -Y 'esp' -T fields -e frame.number 2>/dev/null | wc -l)" 10
expect_eq "the hosts' addresses never appear outside the tunnel" \
	"$(tshark -n -r "$W" -Y 'ip.addr==198.51.100.10 || ip.addr==203.0.113.10' -T fields -e frame.number 2>/dev/null | wc -l)" 0
check "gwA's Child SAs are tunnel-mode SAs of the rule to the peer" bash -c \
	"ip netns exec $GA timeout 10 '$SECPOL' --control '$(host_dir "$GA")/ctl' dynamic show ikesas | grep -E 'Child SA ESP .* tunnel' | grep -q ."

# ---- Connection type: the WAN is a LAN interface (a veth). conntype=dialup
# takes the rules out of force on it -- the SAs go, the hosts talk in clear
# (the gateways still route) -- and conntype=lan brings them back.
check "gwA: the rules for dial-up links only" psk_rules "$GA" dialup
check "gwB: the rules for dial-up links only" psk_rules "$GB" dialup
capture_start "$GA" wan dialup
check "hA pings hB, now in clear" in_ns "$HA" ping -c 2 -W 2 -i 0.3 203.0.113.10
capture_stop dialup
W=$(pcap dialup)
expect_ge "the hosts' pings on the WAN in clear" \
	"$(tshark -n -r "$W" -Y 'ip.src==198.51.100.10 && icmp.type==8' -T fields -e frame.number 2>/dev/null | wc -l)" 2
expect_eq "no ESP" "$(tshark -n -r "$W" -Y 'esp' -T fields -e frame.number 2>/dev/null | wc -l)" 0
check "gwA: the rules for LAN links" psk_rules "$GA" lan
check "gwB: the rules for LAN links" psk_rules "$GB" lan
capture_start "$GA" wan lan
check "hA pings hB through the tunnel again" in_ns "$HA" ping -c 3 -W 3 -i 0.3 203.0.113.10
capture_stop lan
W=$(pcap lan)
expect_eq "no clear ping on the WAN" \
	"$(tshark -n -r "$W" -Y 'icmp' -T fields -e frame.number 2>/dev/null | wc -l)" 0
expect_ge "ESP again" "$(tshark -n -r "$W" -Y 'esp' -T fields -e frame.number 2>/dev/null | wc -l)" 6
echo "tunnel: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
