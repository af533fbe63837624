#!/usr/bin/env bash
# secpold end to end, transport mode, between two hosts on a veth link:
#
#   A 192.0.2.1 2001:db8::1  (va) ---- (vb)  B 192.0.2.2 2001:db8::2
#
# Each host runs its own secpold with a policy of three rules: TCP port 9999
# is blocked, TCP port 8080 is permitted in clear, everything else between
# the two hosts must be protected (Negotiate). Manual AES-128-GCM SAs: the rule
# authenticates with Kerberos, which IKE in secpol cannot do, so no SA is
# ever negotiated and only the manual keys protect.
# dumpcap on B's end of the link records the wire; tshark, with the manual
# keys, decodes it independently of secpol.
#
# usage: transport_test.sh <secpol> <secpold> [inject.py]    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

A=spA.$$ B=spB.$$
new_ns "$A"
new_ns "$B"
link "$A" va "$B" vb
addr "$A" va 192.0.2.1/24
addr "$A" va 2001:db8::1/64
addr "$B" vb 192.0.2.2/24
addr "$B" vb 2001:db8::2/64

# A is the client of the port rules, B the server: B's filters name its own ports.
for h in A B; do
	ns=${!h}
	if [ $h = A ]; then
		peer=192.0.2.2 peer6=2001:db8::2 port=dstport
	else
		peer=192.0.2.1 peer6=2001:db8::1 port=srcport
	fi
	policy "$ns" <<EOF
static add filterlist name=blocked
static add filter filterlist=blocked srcaddr=me dstaddr=$peer protocol=tcp $port=9999
static add filterlist name=clear
static add filter filterlist=clear srcaddr=me dstaddr=$peer protocol=tcp $port=8080
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer6
static add filteraction name=esp action=negotiate
static add filteraction name=drop action=block
static add filteraction name=pass action=permit
static add policy name=lab
static add rule name=block policy=lab filterlist=blocked filteraction=drop
static add rule name=clear policy=lab filterlist=clear filteraction=pass
static add rule name=esp policy=lab filterlist=peer filteraction=esp kerberos=yes
static set policy name=lab assign=yes
EOF
done

start_secpold "$A" || exit 1
start_secpold "$B" || exit 1
check "A: steering table installed" in_ns "$A" nft list table inet secpol
check "A: TUN device up" in_ns "$A" ip link show secpol0 up

capture_start "$B" vb wire

# ---- Negotiate without an SA: nothing passes, the packets wait and are counted.
refute "ping without an SA" in_ns "$A" ping -c 2 -W 1 -i 0.3 192.0.2.2
expect_ge "A: packets queued for an SA" "$(stat "$A" "Queued For SA")" 1
# The queue is small and per rule (16 packets): a burst overflows it, and
# what waited longer than 3 s without an SA is dropped. Both are counted.
in_ns "$A" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(40):
    s.sendto(b"burst %d" % i, ("192.0.2.2", 9))'
sleep 3.5
in_ns "$A" ping -c 1 -W 1 192.0.2.2 >/dev/null 2>&1   # a wakeup after the deadline
expect_ge "A: queue overflow drops" "$(stat "$A" "Queue Overflow Drops")" 24
expect_ge "A: queue timeout drops" "$(stat "$A" "Queue Timeout Drops")" 16

# ---- Manual SAs, one per direction and family.
K1=0x0102030405060708090a0b0c0d0e0f1011121314
K2=0x2122232425262728292a2b2c2d2e2f3031323334
K3=0x4142434445464748494a4b4c4d4e4f5051525354
K4=0x6162636465666768696a6b6c6d6e6f7071727374
for ns in "$A" "$B"; do
	check "add sa v4 A->B" sp "$ns" dynamic add sa srcaddr=192.0.2.1 dstaddr=192.0.2.2 \
		protocol=esp spi=0x1001 encryption=aes-128-gcm enckey=$K1
	check "add sa v4 B->A" sp "$ns" dynamic add sa srcaddr=192.0.2.2 dstaddr=192.0.2.1 \
		protocol=esp spi=0x1002 encryption=aes-128-gcm enckey=$K2
	check "add sa v6 A->B" sp "$ns" dynamic add sa srcaddr=2001:db8::1 dstaddr=2001:db8::2 \
		protocol=esp spi=0x2001 encryption=aes-128-gcm enckey=$K3 replaywindow=128
	check "add sa v6 B->A" sp "$ns" dynamic add sa srcaddr=2001:db8::2 dstaddr=2001:db8::1 \
		protocol=esp spi=0x2002 encryption=aes-128-gcm enckey=$K4 replaywindow=128
done
GCM="AES-GCM with 16 octet ICV [RFC4106]"
ESP_SAS=(
	"\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0x00001001\",\"$GCM\",\"$K1\",\"NULL\",\"\""
	"\"IPv4\",\"192.0.2.2\",\"192.0.2.1\",\"0x00001002\",\"$GCM\",\"$K2\",\"NULL\",\"\""
	"\"IPv6\",\"2001:db8::1\",\"2001:db8::2\",\"0x00002001\",\"$GCM\",\"$K3\",\"NULL\",\"\""
	"\"IPv6\",\"2001:db8::2\",\"2001:db8::1\",\"0x00002002\",\"$GCM\",\"$K4\",\"NULL\",\"\""
)
refute "an SA with an SPI that exists" sp "$A" dynamic add sa srcaddr=192.0.2.1 \
	dstaddr=192.0.2.2 protocol=esp spi=0x1001 encryption=aes-128-gcm enckey=$K1
refute "a GCM key without its salt" sp "$A" dynamic add sa srcaddr=192.0.2.1 \
	dstaddr=192.0.2.2 protocol=esp spi=0x1003 encryption=aes-128-gcm \
	enckey=0x0102030405060708090a0b0c0d0e0f10
sp "$A" dynamic add sa srcaddr=192.0.2.1 dstaddr=192.0.2.2 protocol=esp spi=0x1004 \
	encryption=des enckey=0x0102030405060708 integrity=sha1 \
	authkey=0x0102030405060708090a0b0c0d0e0f1011121314 >"$E2E_T/des" 2>&1
expect_eq "DES refused without the legacy switch, saying why" \
	"$(grep -c -i 'legacy' "$E2E_T/des")" 1
check "allowlegacy=1" sp "$A" dynamic set config property=allowlegacy value=1
check "DES accepted with the legacy switch" sp "$A" dynamic add sa srcaddr=192.0.2.1 \
	dstaddr=192.0.2.2 protocol=esp spi=0x1004 encryption=des enckey=0x0102030405060708 \
	integrity=sha1 authkey=0x0102030405060708090a0b0c0d0e0f1011121314
check "delete the DES SA" sp "$A" dynamic delete sa spi=0x1004 dstaddr=192.0.2.2
check "allowlegacy=0" sp "$A" dynamic set config property=allowlegacy value=0

# ---- ICMP and TCP, IPv4 and IPv6, protected.
check "ping v4 through ESP" in_ns "$A" ping -c 3 -W 2 -i 0.2 -p 5ec0ffee 192.0.2.2
check "ping v6 through ESP" in_ns "$A" ping -6 -c 3 -W 2 -i 0.2 -p 5ec0ffee 2001:db8::2
tcp_marker() {   # tcp_marker NS ADDR PORT TEXT: the server in B prints what it got
	in_ns "$B" timeout 10 python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(8)
c, _ = s.accept(); c.settimeout(8); data = b""
while True:
    b = c.recv(65536)
    if not b: break
    data += b
print(len(data), data[:40].decode())' "$2" "$3" >"$E2E_T/tcp.$3" &
	local srv=$!
	sleep 0.5
	in_ns "$1" timeout 8 python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(sys.argv[3].encode() + b"." * 200000); c.close()' "$2" "$3" "$4"
	local rc=$?
	wait $srv
	return $rc
}
check "TCP v4 through ESP" tcp_marker "$A" 192.0.2.2 5001 SECPOL-TCP4-MARKER
expect_eq "B received the whole TCP v4 stream" "$(cat "$E2E_T/tcp.5001")" "200018 SECPOL-TCP4-MARKER......................"
check "TCP v6 through ESP" tcp_marker "$A" 2001:db8::2 5002 SECPOL-TCP6-MARKER
expect_eq "B received the whole TCP v6 stream" "$(cat "$E2E_T/tcp.5002")" "200018 SECPOL-TCP6-MARKER......................"

# ---- Permit: TCP 8080 in clear. Block: TCP 9999 never leaves A.
check "TCP 8080 permitted" tcp_marker "$A" 192.0.2.2 8080 SECPOL-CLEAR-MARKER
refute "TCP 9999 blocked" tcp_marker "$A" 192.0.2.2 9999 SECPOL-BLOCKED-MARKER

# ---- Inbound cleartext for the protected rule is dropped by A. B sends it
# with the bypass mark, as a host without IPsec would.
refute "cleartext ping into A" in_ns "$B" ping -c 2 -W 1 -i 0.3 -m $BYPASS_MARK 192.0.2.1

# ---- A replayed and a tampered packet are dropped and counted by A.
capture_stop wire
cp "$(pcap wire)" "$E2E_T/wire1.pcap"
capture_start "$B" vb wire2
replay0=$(stat "$A" "Pkts with Replay Detection")
auth0=$(stat "$A" "Pkts not Authenticated")
check "replay a packet of B's" in_ns "$B" python3 "$HERE/inject.py" "$E2E_T/wire1.pcap" \
	192.0.2.2 192.0.2.1 replay $BYPASS_MARK
check "tamper with a packet of B's" in_ns "$B" python3 "$HERE/inject.py" "$E2E_T/wire1.pcap" \
	192.0.2.2 192.0.2.1 tamper $BYPASS_MARK
sleep 0.5
expect_eq "A counted the replay" "$(stat "$A" "Pkts with Replay Detection")" $((replay0 + 1))
expect_eq "A counted the forgery" "$(stat "$A" "Pkts not Authenticated")" $((auth0 + 1))
check "ping still works after the attack" in_ns "$A" ping -c 1 -W 2 192.0.2.2
capture_stop wire2

# ---- What tshark saw on the wire.
W=$E2E_T/wire1.pcap
# Every IP packet between the hosts is ESP, except the permitted TCP 8080
# and the cleartext pings B sent on purpose.
others=$(shark "$W" -Y "(ip.addr==192.0.2.1 && ip.addr==192.0.2.2 || ipv6.addr==2001:db8::1 && ipv6.addr==2001:db8::2) && !esp && !(tcp.port==8080) && !icmpv6.type>=133 && !(icmp && ip.src==192.0.2.2 && !esp)" -T fields -e frame.number | wc -l)
expect_eq "no cleartext between the hosts besides port 8080" "$others" 0
expect_ge "ESP packets on the wire" "$(shark "$W" -Y esp -T fields -e frame.number | wc -l)" 20
# Decrypted by tshark with the manual keys: the original payloads.
expect_ge "tshark decrypts the ICMP pattern (v4)" \
	"$(shark "$W" -Y 'esp && icmp.type==8 && data.data contains 5e:c0:ff:ee' -T fields -e frame.number | wc -l)" 3
expect_ge "tshark decrypts the ICMPv6 pattern" \
	"$(shark "$W" -Y 'esp && icmpv6.type==128 && data.data contains 5e:c0:ff:ee' -T fields -e frame.number | wc -l)" 3
expect_ge "tshark decrypts the TCP v4 marker" \
	"$(shark "$W" -Y 'esp && tcp.dstport==5001 && tcp.payload contains "SECPOL-TCP4-MARKER"' -T fields -e frame.number | wc -l)" 1
expect_ge "tshark decrypts the TCP v6 marker" \
	"$(shark "$W" -Y 'esp && tcp.dstport==5002 && tcp.payload contains "SECPOL-TCP6-MARKER"' -T fields -e frame.number | wc -l)" 1
expect_eq "steered SYNs carry an MSS that fits the TUN MTU (1400 - 40)" \
	"$(shark "$W" -Y 'esp && tcp.dstport==5001 && tcp.flags.syn==1' -T fields -e tcp.options.mss_val | head -1)" 1360
expect_ge "port 8080 in clear" \
	"$(shark "$W" -Y '!esp && tcp.dstport==8080 && tcp.payload contains "SECPOL-CLEAR-MARKER"' -T fields -e frame.number | wc -l)" 1
expect_eq "port 9999 never on the wire" "$(shark "$W" -Y 'tcp.port==9999' -T fields -e frame.number | wc -l)" 0
expect_eq "A never answered the cleartext ping" \
	"$(shark "$W" -Y '!esp && icmp.type==0 && ip.src==192.0.2.1' -T fields -e frame.number | wc -l)" 0
expect_eq "the replayed and tampered packets reached A" \
	"$(shark "$(pcap wire2)" -Y 'esp && ip.dst==192.0.2.1' -T fields -e esp.spi | head -2 | sort -u)" "0x00001002"

# ---- show sa / delete sa.
expect_eq "A shows four SAs" "$(sp "$A" dynamic show sa | grep -c '^SPI')" 4
check "delete the v4 SA A->B" sp "$A" dynamic delete sa spi=0x1001 dstaddr=192.0.2.2
refute "delete it again" sp "$A" dynamic delete sa spi=0x1001 dstaddr=192.0.2.2
refute "ping after the outbound SA is gone" in_ns "$A" ping -c 1 -W 1 192.0.2.2
check "the v6 SAs still carry traffic" in_ns "$A" ping -6 -c 1 -W 2 2001:db8::2
expect_ge "A: Key Deletions" "$(stat "$A" "Key Deletions")" 1

# ---- UDP-encapsulated ESP (RFC 3948) for IPv4 and AH for IPv6, rekeyed by hand.
for ns in "$A" "$B"; do
	check "delete every SA" sp "$ns" dynamic delete sa spi=all
	check "add sa v4 A->B in UDP" sp "$ns" dynamic add sa srcaddr=192.0.2.1 dstaddr=192.0.2.2 \
		protocol=esp spi=0x4001 encryption=aes-256-cbc integrity=sha256 \
		enckey=0x$(printf '%064d' 7) authkey=0x$(printf '%064d' 8) encap=udp
	check "add sa v4 B->A in UDP" sp "$ns" dynamic add sa srcaddr=192.0.2.2 dstaddr=192.0.2.1 \
		protocol=esp spi=0x4002 encryption=aes-256-cbc integrity=sha256 \
		enckey=0x$(printf '%064d' 9) authkey=0x$(printf '%064d' 10) encap=udp
	check "add AH v6 A->B" sp "$ns" dynamic add sa srcaddr=2001:db8::1 dstaddr=2001:db8::2 \
		protocol=ah spi=0x5001 integrity=sha512 authkey=0x$(printf '%0128d' 11)
	check "add AH v6 B->A" sp "$ns" dynamic add sa srcaddr=2001:db8::2 dstaddr=2001:db8::1 \
		protocol=ah spi=0x5002 integrity=sha512 authkey=0x$(printf '%0128d' 12)
done
capture_start "$B" vb wire3
check "ping v4 through ESP in UDP" in_ns "$A" ping -c 2 -W 2 -i 0.2 192.0.2.2
check "ping v6 through AH" in_ns "$A" ping -6 -c 2 -W 2 -i 0.2 -p a5a5 2001:db8::2
capture_stop wire3
W3=$(pcap wire3)
expect_ge "ESP inside UDP 4500 on the wire" \
	"$(tshark -n -r "$W3" -Y 'udp.port==4500 && esp.spi==0x00004001' -T fields -e frame.number 2>/dev/null | wc -l)" 2
expect_eq "no raw ESP for the UDP-encapsulated SAs" \
	"$(tshark -n -r "$W3" -Y 'ip.proto==50' -T fields -e frame.number 2>/dev/null | wc -l)" 0
expect_ge "AH on the wire, the ICMPv6 pattern authenticated but readable" \
	"$(tshark -n -r "$W3" -Y 'ah.spi==0x00005001 && icmpv6.type==128 && data.data contains a5:a5' -T fields -e frame.number 2>/dev/null | wc -l)" 2

# ---- Clean shutdown removes everything secpold installed.
check "secpold stops on SIGTERM with status 0" stop_secpold "$A"
refute "A: no nftables table left" in_ns "$A" nft list table inet secpol
refute "A: no TUN device left" in_ns "$A" ip link show secpol0
expect_eq "A: no policy routing rule left" "$(in_ns "$A" ip rule | grep -c 0x53500001)" 0
refute "A: no control socket left" test -e "$(host_dir "$A")/ctl"
refute "A: secpol dynamic reports the service down" sp "$A" dynamic show stats
check "A: no key material in the log" bash -c "! grep -qi -e 0102030405 -e enckey '$(host_dir "$A")/secpold.log'"

echo "transport: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
