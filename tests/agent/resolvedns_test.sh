#!/usr/bin/env bash
# resolvedns=yes never stalls secpold: one host whose DNS server does not
# answer (198.51.100.53 drops every query silently, so each reverse lookup
# takes the resolver's whole timeout: 5 s x 2 attempts) and
# whose /etc/hosts names 192.0.2.1 and 192.0.2.2 (ip netns exec mounts
# /etc/netns/NS/{hosts,resolv.conf} over /etc's; removed at the end).
#
#   - a dynamic show names the host from /etc/hosts;
#   - a show with an address DNS must answer (203.0.113.7) returns within the
#     budget with the plain address, and while it runs another client's
#     `show stats` is answered at once (before: ~10 s each, all clients and
#     IKE stalled);
#   - the static show in the command line is bounded the same way;
#   - secpold stops promptly with a lookup still in progress.
#
# usage: resolvedns_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft timeout date

# A, and D: the DNS server that drops every query (no answer, no ICMP).
A=rdA.$$ D=rdD.$$
new_ns "$A"
new_ns "$D"
link "$A" va "$D" vd
addr "$A" va 192.0.2.1/24
addr "$A" va 198.51.100.1/24
addr "$D" vd 198.51.100.53/24
in_ns "$D" nft -f - <<'EOF' || exit 1
table inet blackhole {
	chain input {
		type filter hook input priority 0; policy accept;
		meta l4proto { udp, tcp } th dport 53 drop
	}
}
EOF

mkdir -p "/etc/netns/$A"
printf '127.0.0.1 localhost\n192.0.2.1 hosta.example\n192.0.2.2 hostb.example\n' \
	>"/etc/netns/$A/hosts"
printf 'nameserver 198.51.100.53\n' >"/etc/netns/$A/resolv.conf"
rd_cleanup() { rm -rf "/etc/netns/$A"; rmdir /etc/netns 2>/dev/null; e2e_cleanup; }
trap rd_cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

policy "$A" <<'EOF'
static add filterlist name=named
static add filter filterlist=named srcaddr=me dstaddr=192.0.2.2
static add filter filterlist=named srcaddr=me dstaddr=203.0.113.9
EOF
start_secpold "$A" || exit 1
check "add mmpolicy" sp "$A" dynamic add mmpolicy name=mm mmsecmethods="AES128-SHA256-14"
check "add qmpolicy" sp "$A" dynamic add qmpolicy name=qm qmsecmethods="ESP[AES128,SHA256]"
check "add the rule to a named host" sp "$A" dynamic add rule srcaddr=me dstaddr=192.0.2.2 \
	mmpolicy=mm qmpolicy=qm psk="resolvedns lab key"

# ---- the name from /etc/hosts.
sp "$A" dynamic show qmfilter all resolvedns=yes >"$E2E_T/named" 2>&1
check "show qmfilter: the /etc/hosts name" \
	grep -Eq '^Destination Address +: 192\.0\.2\.2 \(hostb\.example\)$' "$E2E_T/named"

# ---- an address only DNS could name: no answer within the budget.
check "add the rule to an unnamed host" sp "$A" dynamic add rule srcaddr=me \
	dstaddr=203.0.113.7 mmpolicy=mm qmpolicy=qm psk="resolvedns lab key"
t0=$(now_ms)
sp "$A" dynamic show qmfilter all resolvedns=yes >"$E2E_T/slow" 2>&1 &
show_pid=$!
sleep 0.1
t1=$(now_ms)
sp "$A" dynamic show stats >"$E2E_T/stats" 2>&1
t2=$(now_ms)
wait "$show_pid"
t3=$(now_ms)
echo "show qmfilter: $((t3 - t0)) ms; show stats meanwhile: $((t2 - t1)) ms"
expect_eq "the show with an unanswered lookup returned in time" \
	"$([ $((t3 - t0)) -lt 2000 ] && echo yes || echo "no, $((t3 - t0)) ms")" yes
expect_eq "another client answered while it ran" \
	"$([ $((t2 - t1)) -lt 1500 ] && echo yes || echo "no, $((t2 - t1)) ms")" yes
check "show stats answered" grep -q 'Main Mode' "$E2E_T/stats"
check "the unnamed host: the plain address" \
	grep -Eq '^Destination Address +: 203\.0\.113\.7$' "$E2E_T/slow"
check "the named host still named" \
	grep -Eq '^Destination Address +: 192\.0\.2\.2 \(hostb\.example\)$' "$E2E_T/slow"
check "two rules shown" grep -q '^2 Quick Mode Filter(s)$' "$E2E_T/slow"

# ---- the static show, in the command line itself.
t0=$(now_ms)
sp "$A" static show filterlist name=named level=verbose resolvedns=yes >"$E2E_T/static" 2>&1
t1=$(now_ms)
echo "static show filterlist: $((t1 - t0)) ms"
expect_eq "the static show returned in time" \
	"$([ $((t1 - t0)) -lt 2000 ] && echo yes || echo "no, $((t1 - t0)) ms")" yes
check "static show: the /etc/hosts name" \
	grep -Eq '^Destination IP Address +: 192\.0\.2\.2 \(hostb\.example\)$' "$E2E_T/static"
check "static show: the plain address" \
	grep -Eq '^Destination IP Address +: 203\.0\.113\.9$' "$E2E_T/static"

# ---- a stop with a lookup in progress (203.0.113.7 still times out).
sp "$A" dynamic show qmfilter all resolvedns=yes >/dev/null 2>&1
t0=$(now_ms)
stop_secpold "$A"
rc=$?
t1=$(now_ms)
echo "secpold stopped in $((t1 - t0)) ms"
expect_eq "secpold exit status" "$rc" 0
expect_eq "secpold stopped promptly" \
	"$([ $((t1 - t0)) -lt 3000 ] && echo yes || echo "no, $((t1 - t0)) ms")" yes

echo "resolvedns: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
