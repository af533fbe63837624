#!/usr/bin/env bash
# `secpol dynamic show rulefor`: the rule, filter, weight and action the
# policy in force gives one packet, asked of a running secpold.
#
#   A 192.0.2.1 2001:db8::1 10.9.0.1 (va) ---- (vp) P 10.9.0.2   (P: no secpol)
#
# A's policy has rules of different specificity:
#   block-telnet  me -> any TCP/23, mirrored          Block
#   icmp          me -> any ICMP, mirrored            Permit
#   lab           me -> 10.9.0.0/16, mirrored         Negotiate (inpass, soft)
#   all-mine      me -> any, mirrored                 Permit
# so TCP/23 outweighs all-mine by its protocol and port, ICMP by its
# protocol, and the lab's /16 outweighs the port. Packets of each, packets
# of nothing, the table format, the errors, a rule added while secpold runs,
# and the soft association that a lab peer without IKE leaves (a run-time
# filter, checked before the SPD).
#
# usage: rulefor_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft ping timeout awk

A=rfA.$$ P=rfP.$$
new_ns "$A"
new_ns "$P"
link "$A" va "$P" vp
addr "$A" va 192.0.2.1/24
addr "$A" va 2001:db8::1/64
addr "$A" va 10.9.0.1/16
addr "$P" vp 10.9.0.2/16

policy "$A" <<EOF
static add filter filterlist=telnet srcaddr=me dstaddr=any protocol=tcp dstport=23
static add filter filterlist=icmp srcaddr=me dstaddr=any protocol=icmp
static add filter filterlist=lab srcaddr=me dstaddr=10.9.0.0 dstmask=16
static add filter filterlist=mine srcaddr=me dstaddr=any
static add filteraction name=deny action=block
static add filteraction name=pass action=permit
static add filteraction name=require action=negotiate inpass=yes soft=yes
static add policy name=rulefor
static add rule name=block-telnet policy=rulefor filterlist=telnet filteraction=deny
static add rule name=icmp policy=rulefor filterlist=icmp filteraction=pass
static add rule name=lab policy=rulefor filterlist=lab filteraction=require psk="rulefor test key 0123456789"
static add rule name=all-mine policy=rulefor filterlist=mine filteraction=pass
static set policy name=rulefor assign=yes
EOF

# ---- Syntax is checked by the CLI, secpold or not; without it, 05041.
sp "$A" dynamic show rulefor srcaddr=192.0.2.1 >"$E2E_T/e" 2>&1
expect_eq "no dstaddr: 05002" "$(grep -c 'ERR IPsec\[05002\]' "$E2E_T/e")" 1
sp "$A" dynamic show rulefor srcaddr=192.0.2.1 dstaddr=198.51.100.7 >"$E2E_T/e" 2>&1
expect_eq "without secpold: 05041" "$(grep -c 'ERR IPsec\[05041\]' "$E2E_T/e")" 1

start_secpold "$A" || exit 1

# rf OUTFILE args...: `show rulefor` into a file.
rf() { local o=$1; shift; sp "$A" dynamic show rulefor "$@" >"$E2E_T/$o" 2>&1; }
# field FILE "Label": one value of the list format.
field() {
	awk -v l="$2" '{ k = substr($0, 1, 23); sub(/ +$/, "", k) }
		k == l { print substr($0, 26); exit }' "$E2E_T/$1"
}
weight() { field "$1" Weight | awk '{ print $1 }'; }
order() { field "$1" "Evaluation Order" | awk '{ print $1 }'; }

# ---- TCP/23 out: block-telnet, as written.
rf telnet srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=tcp srcport=40000 dstport=23
expect_eq "telnet: rule" "$(field telnet 'Rule Name')" block-telnet
expect_eq "telnet: rule id" "$(field telnet 'Rule ID')" 1
expect_eq "telnet: filter list" "$(field telnet 'Filter List Name')" telnet
expect_eq "telnet: filter action" "$(field telnet 'Filter Action Name')" deny
expect_eq "telnet: action" "$(field telnet Action)" Block
expect_eq "telnet: policy" "$(field telnet 'Policy Name')" rulefor
expect_eq "telnet: direction chosen from the source" "$(field telnet Direction)" \
	"Outbound (the source is this host's address)"
expect_eq "telnet: the filter as written" "$(field telnet Mirrored)" "YES (as written)"
expect_eq "telnet: filter source" "$(field telnet 'Filter Source')" 192.0.2.1/32
expect_eq "telnet: filter destination" "$(field telnet 'Filter Destination')" 0.0.0.0/0
expect_eq "telnet: filter protocol" "$(field telnet 'Filter Protocol')" TCP
expect_eq "telnet: filter source port" "$(field telnet 'Filter Source Port')" ANY
expect_eq "telnet: filter destination port" "$(field telnet 'Filter Destination Port')" 23
expect_eq "telnet: the weight's terms" "$(field telnet Weight | sed 's/^[0-9]* //')" \
	"(32 prefix bits, protocol, destination port, Block)"

# ---- UDP out: only the mirrored any-protocol rule; it weighs less.
rf udp srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=udp srcport=5353 dstport=53
expect_eq "udp: rule" "$(field udp 'Rule Name')" all-mine
expect_eq "udp: action" "$(field udp Action)" Permit
expect_eq "udp: filter protocol" "$(field udp 'Filter Protocol')" ANY
expect_ge "the TCP/23 filter weighs more than the any-protocol one" \
	"$(weight telnet)" "$(( $(weight udp) + 1 ))"
expect_ge "... and is evaluated before it" "$(order udp)" "$(( $(order telnet) + 1 ))"

# ---- ICMP: the protocol beats all-mine.
rf icmp srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=icmp
expect_eq "icmp: rule" "$(field icmp 'Rule Name')" icmp
expect_eq "icmp: action" "$(field icmp Action)" Permit
expect_ge "icmp: weighs more than all-mine" "$(weight icmp)" "$(( $(weight udp) + 1 ))"

# ---- TCP/23 into the lab: the /16 outweighs the port.
rf lab srcaddr=192.0.2.1 dstaddr=10.9.1.2 protocol=tcp dstport=23
expect_eq "lab: rule" "$(field lab 'Rule Name')" lab
expect_eq "lab: action" "$(field lab Action)" "Negotiate Security"
expect_eq "lab: inbound pass-through" "$(field lab 'Inbound Pass Through')" YES
expect_eq "lab: fallback to clear" "$(field lab 'Fallback to Clear')" YES
expect_eq "lab: filter destination" "$(field lab 'Filter Destination')" 10.9.0.0/16
expect_ge "lab: weighs more than block-telnet" "$(weight lab)" "$(( $(weight telnet) + 1 ))"

# ---- Inbound (the default when the destination is this host's): the mirror.
rf in23 srcaddr=198.51.100.7 dstaddr=192.0.2.1 protocol=tcp srcport=23 dstport=40000
expect_eq "inbound from port 23: direction" "$(field in23 Direction)" \
	"Inbound (the destination is this host's address)"
expect_eq "inbound from port 23: rule" "$(field in23 'Rule Name')" block-telnet
expect_eq "inbound from port 23: the mirror" "$(field in23 Mirrored)" \
	"YES (the mirror: addresses and ports swapped)"
expect_eq "inbound from port 23: its source port" "$(field in23 'Filter Source Port')" 23
expect_eq "inbound from port 23: filter direction" "$(field in23 'Filter Direction')" Inbound
rf in_to23 srcaddr=198.51.100.7 dstaddr=192.0.2.1 protocol=tcp srcport=40000 dstport=23 \
	direction=inbound
expect_eq "inbound to port 23: all-mine" "$(field in_to23 'Rule Name')" all-mine
expect_eq "direction given" "$(field in_to23 Direction)" Inbound

# ---- IPv6: "me" is every address of the host.
rf v6 srcaddr=2001:db8::1 dstaddr=2001:db8::99 protocol=tcp dstport=23
expect_eq "IPv6: rule" "$(field v6 'Rule Name')" block-telnet
expect_eq "IPv6: filter source" "$(field v6 'Filter Source')" 2001:db8::1/128

# ---- Nothing matches: forwarded traffic of no rule.
rf none srcaddr=198.51.100.7 dstaddr=203.0.113.9 protocol=tcp dstport=23
expect_eq "no match" "$(field none Result)" \
	"no filter matches: the packet is not filtered (sent in clear)"
expect_eq "no match: no rule" "$(field none 'Rule Name')" ""
rf none_in srcaddr=198.51.100.7 dstaddr=203.0.113.9 direction=inbound
expect_eq "no match, inbound" "$(field none_in Result)" \
	"no filter matches: the packet is not filtered (accepted in clear)"

# ---- format=table, and the issue's spelling rule-for.
rf table srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=tcp dstport=23 format=table
expect_eq "table: header" "$(head -1 "$E2E_T/table" | awk '{ print $1, $2, $3 }')" "ID Rule Name"
expect_eq "table: the row" "$(sed -n 3p "$E2E_T/table" | awk '{ print $1, $2, $5, $6 }')" \
	"1 block-telnet Block Out"
sp "$A" dynamic show rule-for 192.0.2.1 198.51.100.7 udp 1 2 >"$E2E_T/alias" 2>&1
expect_eq "rule-for, positional" "$(field alias 'Rule Name')" all-mine

# ---- Errors.
rf e1 srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=icmp dstport=5
expect_eq "a port with ICMP: 05030" "$(grep -c 'ERR IPsec\[05030\]' "$E2E_T/e1")" 1
rf e2 srcaddr=192.0.2.1 dstaddr=2001:db8::2
expect_eq "two families: 05003" "$(grep -c 'ERR IPsec\[05003\]' "$E2E_T/e2")" 1
rf e3 srcaddr=192.0.2.0/24 dstaddr=198.51.100.7
expect_eq "a subnet is not a packet: 05003" "$(grep -c 'ERR IPsec\[05003\]' "$E2E_T/e3")" 1
rf e4 srcaddr=192.0.2.1 dstaddr=198.51.100.7 direction=sideways
expect_eq "direction=sideways: 05003" "$(grep -c 'ERR IPsec\[05003\]' "$E2E_T/e4")" 1

# ---- A more specific rule added while secpold runs answers once applied.
check "add a permit for one telnet host" sp "$A" -f - <<EOF
static add filter filterlist=telnet-ok srcaddr=me dstaddr=198.51.100.7 protocol=tcp dstport=23
static add rule name=telnet-ok policy=rulefor filterlist=telnet-ok filteraction=pass
EOF
got=
for _ in $(seq 50); do
	rf telnet2 srcaddr=192.0.2.1 dstaddr=198.51.100.7 protocol=tcp dstport=23
	got=$(field telnet2 'Rule Name')
	[ "$got" = telnet-ok ] && break
	sleep 0.1
done
expect_eq "the host rule wins once applied" "$got" telnet-ok
expect_eq "... a Permit" "$(field telnet2 Action)" Permit
expect_ge "... heavier than block-telnet" "$(weight telnet2)" "$(( $(weight telnet) + 1 ))"
rf telnet3 srcaddr=192.0.2.1 dstaddr=198.51.100.8 protocol=tcp dstport=23
expect_eq "another host still gets block-telnet" "$(field telnet3 'Rule Name')" block-telnet

# ---- A soft association: P never answers IKE, A falls back to clear and
# a run-time Permit filter for (A, P) comes before the lab rule.
rf before srcaddr=10.9.0.1 dstaddr=10.9.0.2 protocol=icmp
expect_eq "before IKE: lab" "$(field before 'Rule Name')" lab
expect_eq "before IKE: negotiate" "$(field before Action)" "Negotiate Security"
ok_ping=0
for _ in $(seq 8); do
	in_ns "$A" ping -c 1 -W 2 10.9.0.2 >/dev/null 2>&1 && { ok_ping=1; break; }
done
expect_eq "A reaches P in clear after the fallback" $ok_ping 1
rf soft srcaddr=10.9.0.1 dstaddr=10.9.0.2 protocol=icmp
expect_eq "soft: still the lab rule" "$(field soft 'Rule Name')" lab
expect_eq "soft: a Permit" "$(field soft Action)" \
	"Permit (soft association: the peer never answered IKE)"
expect_eq "soft: a run-time filter" "$(field soft 'Matched Filter')" \
	"a run-time filter (checked before the policy's)"
expect_eq "soft: its addresses" "$(field soft 'Filter Source') $(field soft 'Filter Destination')" \
	"10.9.0.1/32 10.9.0.2/32"
expect_ge "soft: it expires" "$(field soft 'Expires In' | tr -d s)" 1
rf soft_in srcaddr=10.9.0.2 dstaddr=10.9.0.1 protocol=tcp dstport=23
expect_eq "soft: inbound too" "$(field soft_in Action)" \
	"Permit (soft association: the peer never answered IKE)"
rf soft_other srcaddr=10.9.0.1 dstaddr=10.9.0.3 protocol=icmp
expect_eq "soft: only that peer" "$(field soft_other Action)" "Negotiate Security"

echo "rulefor: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
