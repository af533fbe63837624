#!/usr/bin/env bash
# The steering table and policy routing in the kernel, in network namespaces
# of this test's own (deleted on exit):
#
#   B (192.0.2.2/26, 2001:db8::2/64) -- A (192.0.2.1/26, 2001:db8::1/64;
#                                         192.0.2.65/26; TUN tsp0; forwards)
#                                         -- C (192.0.2.66/26)
#
# Structure: apply / re-apply / remove of the table, route-install twice /
# route-remove twice, checked with nft and ip. Behaviour, with pings and TCP
# from the namespaces: Block and Permit both ways, Negotiate steering into
# the TUN (seen by reading the TUN), inpass, IPv6 neighbour discovery kept
# alive under an ICMPv6 block, the rule layout for forwarded traffic, and
# the bootmode=block table with an exempted TCP port.
#
# usage: steer_netns_test.sh <steer_tool>      exit 77 (skip) when not root
set -u
TOOL=$1
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: steer_netns needs root (network namespaces, nftables, ip rules)"
	exit 77
fi
for cmd in ip nft timeout; do
	command -v "$cmd" >/dev/null || { echo "FAIL: $cmd not installed"; exit 1; }
done

A=steerA.$$ B=steerB.$$ C=steerC.$$
TABLE=secpol_test TUN=tsp0 MARK=0x5ec0 RT=1516 PRIO=1516
T=$(mktemp -d "${TMPDIR:-/tmp}/secpol-steer.XXXXXX")
cleanup() {
	# background probes first: they run inside the namespaces
	jobs -p | xargs -r kill 2>/dev/null
	wait 2>/dev/null
	for ns in "$A" "$B" "$C"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() {   # check "what" command...: the command must succeed
	local what=$1
	shift
	if "$@" >"$T/out" 2>&1; then ok; else bad "$what"; sed 's/^/    /' "$T/out" >&2; fi
}
refute() {  # refute "what" command...: the command must fail
	local what=$1
	shift
	if "$@" >"$T/out" 2>&1; then bad "$what (it succeeded)"; else ok; fi
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
tool() { local ns=$1; shift; in_ns "$ns" timeout 20 "$TOOL" -t "$TABLE" -i "$TUN" -m "$MARK" \
	-r "$RT" -p "$PRIO" "$@"; }

# iputils ping when installed (an independent implementation), else the tool's.
if command -v ping >/dev/null; then
	ping1() { in_ns "$1" timeout 5 ping -n -c1 -W1 "$2"; }
else
	echo "note: ping not installed, using steer_tool ping"
	ping1() { in_ns "$1" timeout 5 "$TOOL" ping "$2" 1000; }
fi

# Starts a probe that prints "ready" in the background; waits (bounded) for it.
start_probe() {   # start_probe NAME NS ARGS...
	local name=$1 ns=$2
	shift 2
	in_ns "$ns" timeout 30 "$TOOL" "$@" >"$T/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	for _ in $(seq 50); do
		grep -q ready "$T/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "probe $name did not start:" >&2
	cat "$T/$name.log" >&2
	return 1
}
finish_probe() {  # finish_probe NAME: its exit status
	local pid
	eval "pid=\$${1}_pid"
	wait "$pid"
}

# ---- the namespaces ------------------------------------------------------

setup() {
	for ns in "$A" "$B" "$C"; do
		ip netns add "$ns" || return 1
		in_ns "$ns" ip link set lo up || return 1
	done
	ip -n "$A" link add vA0 type veth peer name vB0 netns "$B" &&
	ip -n "$A" link add vA1 type veth peer name vC0 netns "$C" &&
	ip -n "$A" addr add 192.0.2.1/26 dev vA0 &&
	ip -n "$A" addr add 2001:db8::1/64 dev vA0 nodad &&
	ip -n "$A" addr add 192.0.2.65/26 dev vA1 &&
	ip -n "$B" addr add 192.0.2.2/26 dev vB0 &&
	ip -n "$B" addr add 2001:db8::2/64 dev vB0 nodad &&
	ip -n "$C" addr add 192.0.2.66/26 dev vC0 &&
	ip -n "$A" link set vA0 up && ip -n "$A" link set vA1 up &&
	ip -n "$B" link set vB0 up && ip -n "$C" link set vC0 up &&
	ip -n "$B" route add default via 192.0.2.1 &&
	ip -n "$C" route add default via 192.0.2.65 &&
	in_ns "$A" sysctl -qw net.ipv4.ip_forward=1 &&
	ip -n "$A" tuntap add dev "$TUN" mode tun &&
	ip -n "$A" link set "$TUN" up
}
if ! setup; then
	echo "FAIL: cannot build the test namespaces"
	exit 1
fi

check "B pings A before any table" ping1 "$B" 192.0.2.1
check "B pings C through A before any table" ping1 "$B" 192.0.2.66

# ---- structure: the table ------------------------------------------------

list() { in_ns "$A" nft list table inet "$TABLE"; }
count() { list 2>/dev/null | grep -cF -- "$1"; }   # lines containing $1

check "apply" tool "$A" apply "out block any 203.0.113.0/24 tcp 0 80" \
	"in negotiate 2001:db8:9::/48 any"
check "the table is there" list
[ "$(count 'chain ')" = 4 ] && ok || bad "expected 4 chains, got $(count 'chain ')"
[ "$(count 'ip daddr 203.0.113.0/24 tcp dport 80 drop')" = 2 ] && ok ||
	bad "outbound block not in output + forward_out"
[ "$(count 'ip6 saddr 2001:db8:9::/48 drop')" = 1 ] && ok || bad "inbound negotiate missing"
[ "$(count "iifname \"$TUN\" accept")" = 1 ] && ok || bad "TUN exemption missing"

check "re-apply" tool "$A" apply "out permit any 198.51.100.7 udp 0 53"
[ "$(in_ns "$A" nft list tables | grep -c "inet $TABLE\$")" = 1 ] && ok || bad "table duplicated"
[ "$(count '203.0.113.0')" = 0 ] && ok || bad "re-apply kept an old rule"
[ "$(count 'ip daddr 198.51.100.7 udp dport 53 accept')" = 2 ] && ok || bad "re-apply: new rule missing"
[ "$(count 'chain ')" = 4 ] && ok || bad "re-apply: chains duplicated"

# A script nft refuses changes nothing: the replace is one batch, and the
# old table stays as it was (here a rendered script with a bad address).
before=$(list)
tool "$A" render "out permit any 198.51.100.9" | sed 's/198.51.100.9/198.51.100.300/' >"$T/broken.nft"
refute "a broken script is refused" in_ns "$A" nft -f "$T/broken.nft"
[ "$(list)" = "$before" ] && ok || bad "a failed replace changed the table"

# nft's refusal reaches the caller: "fwd" is a keyword, not a table name.
refute "a table named like a keyword is refused" tool "$A" -t fwd apply
grep -q "nftables: syntax error, unexpected fwd" "$T/out" && ok ||
	{ bad "nft's error text not reported:"; cat "$T/out" >&2; }

check "remove" tool "$A" remove
refute "the table is gone" list
check "remove again (no table: no error)" tool "$A" remove

# ---- structure: policy routing -------------------------------------------

rules() { ip -n "$A" "$1" rule show | grep -c "fwmark $MARK lookup $RT"; }
check "route-install" tool "$A" route-install
check "route-install again (idempotent)" tool "$A" route-install
[ "$(rules -4)" = 1 ] && ok || bad "IPv4 fwmark rules: $(rules -4), expected 1"
[ "$(rules -6)" = 1 ] && ok || bad "IPv6 fwmark rules: $(rules -6), expected 1"
ip -n "$A" -4 rule show | grep -q "^$PRIO:.*fwmark $MARK lookup $RT" && ok || bad "rule priority"
for v in -4 -6; do
	routes=$(ip -n "$A" "$v" route show table "$RT")
	[ "$(grep -c "^default dev $TUN proto static" <<<"$routes")" = 1 ] && ok ||
		bad "$v default route via $TUN: $routes"
	[ "$(grep -c '^blackhole default' <<<"$routes")" = 1 ] && ok ||
		bad "$v fail-closed blackhole route: $routes"
done
check "route-remove" tool "$A" route-remove
check "route-remove again (nothing there: no error)" tool "$A" route-remove
[ "$(rules -4)$(rules -6)" = 00 ] && ok || bad "route-remove left a rule"
[ -z "$(ip -n "$A" -4 route show table "$RT" 2>/dev/null)$(ip -n "$A" -6 route show table "$RT" 2>/dev/null)" ] &&
	ok || bad "route-remove left a route"
refute "route-install without the device" tool "$A" -i nodev0 route-install

# ---- behaviour: local traffic --------------------------------------------

check "apply: block ICMP to B" tool "$A" apply "out block any 192.0.2.2 icmp"
refute "A -> B ping blocked" ping1 "$A" 192.0.2.2
refute "B -> A ping blocked (the reply is outbound ICMP)" ping1 "$B" 192.0.2.1
check "A still reaches C" ping1 "$A" 192.0.2.66
check "apply: permit ICMP to B" tool "$A" apply "out permit any 192.0.2.2 icmp" \
	"out block 0.0.0.0/0 any icmp"
check "A -> B ping permitted (first match wins)" ping1 "$A" 192.0.2.2
refute "A -> C ping blocked by the later rule" ping1 "$A" 192.0.2.66

check "apply: inbound block from B" tool "$A" apply "in block 192.0.2.2 any icmp"
refute "B -> A ping blocked inbound" ping1 "$B" 192.0.2.1
check "apply: inbound negotiate from B" tool "$A" apply "in negotiate 192.0.2.2 any icmp"
refute "B -> A cleartext dropped (negotiate)" ping1 "$B" 192.0.2.1
check "apply: inbound negotiate inpass" tool "$A" apply "in negotiate 192.0.2.2 any icmp 0 0 inpass"
check "B -> A cleartext accepted (inpass)" ping1 "$B" 192.0.2.1
check "apply: inbound permit" tool "$A" apply "in permit 192.0.2.2 any icmp" "in block 0.0.0.0/0 any"
check "B -> A ping permitted before the catch-all block" ping1 "$B" 192.0.2.1

# IPv6: ICMPv6 to B blocked, but neighbour discovery must go on (the TCP
# connect below needs it, with an empty neighbour cache).
check "apply: block ICMPv6 to B" tool "$A" apply "out block any 2001:db8::2 icmpv6"
ip -n "$A" neigh flush dev vA0
ip -n "$B" neigh flush dev vB0
refute "A -> B ping6 blocked" ping1 "$A" 2001:db8::2
if start_probe l6 "$B" tcp-listen 7001 10; then
	check "TCP over IPv6 A -> B works (ND exempted)" tool "$A" tcp-connect 2001:db8::2 7001 3
	finish_probe l6 >/dev/null
fi
check "apply: permit ICMPv6 to B" tool "$A" apply "out permit any 2001:db8::2 icmpv6"
check "A -> B ping6 permitted" ping1 "$A" 2001:db8::2

# Negotiate: marked, routed into the TUN (read there), not to B.
check "route-install" tool "$A" route-install
check "apply: negotiate ICMP to B" tool "$A" apply "out negotiate any 192.0.2.2 icmp"
if start_probe tun "$A" tun-read "$TUN" 10 icmp 192.0.2.2; then
	refute "A -> B ping goes into the TUN, not to B" ping1 "$A" 192.0.2.2
	finish_probe tun && ok || { bad "no ICMP to B on $TUN"; cat "$T/tun.log" >&2; }
fi
check "A -> C unaffected" ping1 "$A" 192.0.2.66

# ---- behaviour: forwarded traffic (A routes B <-> C) ---------------------

check "apply: forwarded block" tool "$A" apply "out block 192.0.2.0/26 192.0.2.64/26 icmp"
refute "B -> C blocked by A's outbound rule" ping1 "$B" 192.0.2.66
check "B -> A itself not affected by outbound rules" ping1 "$B" 192.0.2.1
# The replies C -> B are forwarded too, so they need the mirrored permit.
check "apply: forwarded permit" tool "$A" apply "out permit 192.0.2.0/26 192.0.2.64/26 icmp" \
	"out block 0.0.0.0/0 any icmp"
refute "B -> C: the reply is blocked without the mirror" ping1 "$B" 192.0.2.66
check "apply: forwarded permit, mirrored" tool "$A" apply \
	"out permit 192.0.2.0/26 192.0.2.64/26 icmp" "out permit 192.0.2.64/26 192.0.2.0/26 icmp" \
	"out block 0.0.0.0/0 any icmp"
check "B -> C permitted" ping1 "$B" 192.0.2.66
check "apply: inbound block, outbound permit" tool "$A" apply "in block 192.0.2.0/26 any icmp" \
	"out permit 192.0.2.0/26 192.0.2.64/26 icmp"
refute "B -> C: the inbound block decides first" ping1 "$B" 192.0.2.66
check "apply: inbound permit, outbound block" tool "$A" apply "in permit 192.0.2.0/26 any icmp" \
	"out block 192.0.2.0/26 192.0.2.64/26 icmp"
refute "B -> C: an inbound permit goes on to the outbound rules" ping1 "$B" 192.0.2.66
check "B -> A: an inbound permit accepts local traffic" ping1 "$B" 192.0.2.1
check "apply: forwarded negotiate" tool "$A" apply "out negotiate 192.0.2.0/26 192.0.2.64/26 icmp"
if start_probe tunf "$A" tun-read "$TUN" 10 icmp 192.0.2.66; then
	refute "B -> C goes into A's TUN" ping1 "$B" 192.0.2.66
	finish_probe tunf && ok || { bad "no forwarded ICMP to C on $TUN"; cat "$T/tunf.log" >&2; }
fi
check "route-remove" tool "$A" route-remove

# ---- behaviour: bootmode=block -------------------------------------------

check "apply-block" tool "$A" apply-block tcp:0:8080:inbound
refute "block mode: B -> A ping dropped" ping1 "$B" 192.0.2.1
refute "block mode: A -> B ping dropped" ping1 "$A" 192.0.2.2
check "block mode: loopback works" ping1 "$A" 127.0.0.1
refute "block mode: no forwarding" ping1 "$B" 192.0.2.66
if start_probe l4 "$A" tcp-listen 8080 10; then
	check "block mode: exempted TCP 8080 B -> A" tool "$B" tcp-connect 192.0.2.1 8080 3
	finish_probe l4 >/dev/null
fi
if start_probe l4b "$A" tcp-listen 8081 5; then
	refute "block mode: TCP 8081 not exempted" tool "$B" tcp-connect 192.0.2.1 8081 2
	finish_probe l4b >/dev/null
fi
check "leave block mode (remove)" tool "$A" remove
check "after remove: B -> A ping" ping1 "$B" 192.0.2.1

# The TUN device goes away (its routes with it): marked traffic meets the
# blackhole, and route-remove still cleans up the rest.
check "route-install" tool "$A" route-install
ip -n "$A" link del "$TUN"
[ "$(ip -n "$A" -4 route show table "$RT" | grep -c '^blackhole default')" = 1 ] && ok ||
	bad "no blackhole left after the TUN device went away"
check "route-remove without the device" tool "$A" route-remove
[ "$(rules -4)$(rules -6)" = 00 ] && ok || bad "route-remove without the device left a rule"
[ -z "$(ip -n "$A" -4 route show table "$RT" 2>/dev/null)$(ip -n "$A" -6 route show table "$RT" 2>/dev/null)" ] &&
	ok || bad "route-remove without the device left a route"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
