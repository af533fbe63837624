#!/usr/bin/env bash
# The acceptance script of netsh-ipsec.md §8.1 ("Require ESP for RDP from
# one subnet, block everything else"), run unchanged (addresses in the
# documentation ranges: tests/netsh/scripts/8_1_rdp_lockdown.txt) on a
# server, with the hosts the spec's expectations talk about, on one bridge:
#
#   S  192.0.2.10, 198.51.100.10   the server: the script, as it is
#   W  192.0.2.20                  admin workstation: the mirror-image policy
#                                  (me -> S TCP 3389, same offers and key)
#   X  192.0.2.30                  admin net, no secpol at all
#   Y  198.51.100.30               outside the admin net, the mirror policy
#
# Expected (spec): W's RDP connection is negotiated and protected (IKE, then
# only ESP for it); everything else with S is blocked -- W's ping, W's other
# ports; X "cannot connect at all" (inpass=no); Y is not in the admin net,
# so its RDP falls to "Block rest" on S.
#
# usage: scripts_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

BR=scBR.$$ S=scS.$$ W=scW.$$ X=scX.$$ Y=scY.$$
new_ns "$BR"
in_ns "$BR" ip link add br0 type bridge
in_ns "$BR" ip link set br0 up
for h in S W X Y; do
	new_ns "${!h}"
	link "${!h}" eth0 "$BR" "p$h"
	in_ns "$BR" ip link set "p$h" master br0
done
addr "$S" eth0 192.0.2.10/24
addr "$S" eth0 198.51.100.10/24
addr "$W" eth0 192.0.2.20/24
addr "$X" eth0 192.0.2.30/24
addr "$Y" eth0 198.51.100.30/24

policy "$S" <"$HERE/../netsh/scripts/8_1_rdp_lockdown.txt"
server_of() { [ "$1" = W ] && echo 192.0.2.10 || echo 198.51.100.10; }
for h in W Y; do
	policy "${!h}" <<EOF2
static add policy name="RDP client" activatedefaultrule=no mmsecmethods="3DES-SHA1-3 3DES-SHA1-2"
static add filteraction name="Require ESP" action=negotiate inpass=no soft=no qmpfs=yes qmsecmethods="ESP[3DES,SHA1]:20480k/3600s"
static add filter filterlist="RDP to the server" srcaddr=me dstaddr=$(server_of $h) protocol=TCP dstport=3389 mirrored=yes
static add rule name="RDP" policy="RDP client" filterlist="RDP to the server" filteraction="Require ESP" psk="correct horse battery staple"
static set policy name="RDP client" assign=yes
EOF2
done
for h in S W Y; do start_secpold "${!h}" || exit 1; done
capture_start "$BR" br0 wire

check "W: RDP to S is negotiated and gets through" tcp_4k "$W" "$S" 192.0.2.10 3389
refute "W: ping to S is blocked (Block rest)" in_ns "$W" ping -c 1 -W 1 192.0.2.10
refute "W: another port of S is blocked" tcp_4k "$W" "$S" 192.0.2.10 3390
refute "X (no IPsec): RDP to S is refused" tcp_4k "$X" "$S" 192.0.2.10 3389
refute "X: ping to S is blocked" in_ns "$X" ping -c 1 -W 1 192.0.2.10
refute "Y (outside the admin net): RDP to S is blocked" tcp_4k "$Y" "$S" 198.51.100.10 3389
check "W and X still talk (S's policy is S's alone)" in_ns "$W" ping -c 1 -W 2 192.0.2.30
capture_stop wire

f() { tshark -n -r "$(pcap wire)" -Y "$1" -T fields -e frame.number 2>/dev/null | wc -l; }
expect_ge "W and S: IKE_AUTH" "$(f 'ip.addr==192.0.2.20 && ip.addr==192.0.2.10 && isakmp.exchangetype==35')" 2
expect_ge "W and S: ESP carried the connection" "$(f 'ip.addr==192.0.2.20 && ip.addr==192.0.2.10 && esp')" 6
expect_eq "W and S: no clear RDP" "$(f 'ip.addr==192.0.2.20 && tcp.port==3389')" 0
expect_ge "X's SYN went in clear, unanswered" "$(f 'ip.src==192.0.2.30 && tcp.dstport==3389 && tcp.flags.syn==1')" 1
expect_eq "S never answered X" "$(f 'ip.src==192.0.2.10 && ip.dst==192.0.2.30')" 0
expect_eq "Y got no Child SA from S: no ESP between them" "$(f 'ip.addr==198.51.100.30 && esp')" 0
check "S says why: Y's traffic is not the admin net's" bash -c \
	"ip netns exec $S timeout 10 '$SECPOL' --control '$(host_dir "$S")/ctl' dynamic show failures |
	grep 198.51.100.30 | grep -qi 'selector'"
check "S's IKE SA with W uses the script's offers (3DES, SHA1, group 2048)" bash -c \
	"ip netns exec $S timeout 10 '$SECPOL' --control '$(host_dir "$S")/ctl' dynamic show ikesas |
	grep -q 'Algorithms *: 3des/sha1/sha1/DH14'"

# Session key PFS (qmpfs=yes on both): the first Child SA's keys come from
# IKE_AUTH; W's keys last 20480 KB, so 20 MB of RDP makes W rekey, and a rekey
# with PFS carries its own Diffie-Hellman exchange.
check "W: 20 MB of RDP to S, through a rekey" tcp_bytes "$W" "$S" 192.0.2.10 3389 20000000
sp "$S" dynamic show qmsas dstaddr=192.0.2.20 >"$E2E_T/qmsas.S"
check "S's quick-mode SA with W after the rekey: the script's offer, with PFS (group 2048)" \
	grep -Fq 'ESP(3DES,SHA1) PFS: DH2048(14)' "$E2E_T/qmsas.S"
for h in S W Y; do check "$h stops cleanly" stop_secpold "${!h}"; done
echo "scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
