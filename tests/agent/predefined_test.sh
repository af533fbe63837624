#!/usr/bin/env bash
# The three predefined policies on real hosts, and a host without secpol:
#
#   C  192.0.2.1  Client (Respond Only)         -- only the default response rule
#   S  192.0.2.2  Server (Request Security)     -- All IP: negotiate, inpass, soft
#   SS 192.0.2.3  Secure Server (Require Security) -- All IP: negotiate, inpass
#   P  192.0.2.4  no secpol at all (the "non-IPsec-aware computer")
#
# on one bridge. The policies are the samples every store is created with,
# assigned as they are; the only change (their rules authenticate with
# Kerberos, which secpol does not have) is a pre-shared key on the All IP
# Traffic rule and the default response rule, as the issue allows. Their
# main-mode offers use DH group 2, so allowlegacy=1 (as a Windows 2003 peer
# would need). Both servers permit ICMP in clear (their All ICMP Traffic
# rule): the security shows on TCP.
#
# usage: predefined_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

# The table derived from windows-ipsec-model.md §2.6, §3.3, §4 and §5, for a
# TCP connection from the row's host to the column's host:
#   esp   it works, and after the first packet everything is ESP
#   clear it works in clear
#   fail  it does not work
# (C answers with its default response rule; S falls back to clear with a
# host that never answers IKE, after ~3 s, and accepts a clear first packet
# (inpass); SS accepts a clear first packet but answers only protected, and
# never falls back.)
EXPECT="
C  S  esp
C  SS esp
C  P  clear
S  C  esp
S  SS esp
S  P  clear
SS C  esp
SS S  esp
SS P  fail
P  C  clear
P  S  clear
P  SS fail
"

declare -A NS IP
NS[C]=ppC.$$ NS[S]=ppS.$$ NS[SS]=ppSS.$$ NS[P]=ppP.$$ BR=ppBR.$$
IP[C]=192.0.2.1 IP[S]=192.0.2.2 IP[SS]=192.0.2.3 IP[P]=192.0.2.4
new_ns "$BR"
in_ns "$BR" ip link add br0 type bridge
in_ns "$BR" ip link set br0 up
for h in C S SS P; do
	new_ns "${NS[$h]}"
	link "${NS[$h]}" eth0 "$BR" "p$h"
	in_ns "$BR" ip link set "p$h" master br0
	addr "${NS[$h]}" eth0 "${IP[$h]}/24"
done

declare -A POLICY=([C]="Client (Respond Only)" [S]="Server (Request Security)"
                   [SS]="Secure Server (Require Security)")
for h in C S SS; do
	p=${POLICY[$h]}
	{
		echo "dynamic set config property=allowlegacy value=1"
		[ "$h" = C ] || echo "static set rule name=\"All IP Traffic\" policy=\"$p\" psk=\"matrix key\""
		echo "static set defaultrule policy=\"$p\" psk=\"matrix key\""
		echo "static set policy name=\"$p\" assign=yes"
	} | policy "${NS[$h]}"
	start_secpold "${NS[$h]}" || exit 1
done
capture_start "$BR" br0 wire

# tcp FROM TO PORT: tcp_4k between the two hosts of the matrix.
tcp() { tcp_4k "${NS[$1]}" "${NS[$2]}" "${IP[$2]}" "$3"; }

port=6000
while read -r from to want; do
	[ -n "$from" ] || continue
	port=$((port + 1))
	if tcp "$from" "$to" "$port"; then got=ok; else got=fail; fi
	echo "$from -> $to tcp/$port: $got (want $want)"
	if [ "$want" = fail ]; then expect_eq "$from -> $to: TCP" "$got" fail
	else expect_eq "$from -> $to: TCP" "$got" ok; fi
	echo "$from $to $want $port" >>"$E2E_T/pairs"
	check "$from -> $to: ping (ICMP is permitted in clear)" in_ns "${NS[$from]}" ping -c 1 -W 3 "${IP[$to]}"
done <<<"$EXPECT"

capture_stop wire
W=$(pcap wire)
while read -r from to want port; do
	a=${IP[$from]} b=${IP[$to]}
	clear_tcp=$(shark "$W" -Y "tcp.port == $port" | wc -l)
	esp=$(shark "$W" -Y "esp && ip.addr == $a && ip.addr == $b" | wc -l)
	case $want in
	esp)
		# At most the opening SYN (and its retransmissions) went in clear.
		expect_ge "$from -> $to: ESP on the wire" "$esp" 4
		clear_data=$(shark "$W" -Y "tcp.port == $port && tcp.len > 0" | wc -l)
		expect_eq "$from -> $to: no TCP data in clear" "$clear_data" 0
		;;
	clear)
		clear_data=$(shark "$W" -Y "tcp.port == $port && tcp.len > 0" | wc -l)
		expect_ge "$from -> $to: the data went in clear" "$clear_data" 1
		;;
	fail)
		clear_data=$(shark "$W" -Y "tcp.port == $port && tcp.len > 0" | wc -l)
		expect_eq "$from -> $to: no data at all" "$clear_data" 0
		;;
	esac
	: "$clear_tcp"
done <"$E2E_T/pairs"
expect_eq "wire: ICMP only in clear (the servers' ICMP rule)" \
	"$(shark "$W" -Y 'esp && icmp' | wc -l)" 0

expect_ge "S: a soft association with P" "$(stat "${NS[S]}" "Soft Associations")" 1
expect_eq "SS: no soft association (Require Security)" "$(stat "${NS[SS]}" "Soft Associations")" 0
sp "${NS[C]}" dynamic show ikesas >"$E2E_T/c"
check "C: its SAs come from the default response rule" grep -q "Rule *: Default Response" "$E2E_T/c"
# SS gives up on P after its retransmissions (about 31 s after it began).
for _ in $(seq 40); do
	sp "${NS[SS]}" dynamic show failures >"$E2E_T/ss"
	grep -q "no answer to IKE_SA_INIT" "$E2E_T/ss" && break
	sleep 1
done
check "SS: says why P got nothing" grep -q "peer 192.0.2.4 rule All IP Traffic step timeout: no answer to IKE_SA_INIT" "$E2E_T/ss"

echo "predefined policies: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
