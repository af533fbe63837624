#!/usr/bin/env bash
# secpold as a service: readiness, one daemon per store, root-only control,
# SECPOL_STORE / SECPOL_CONTROL, reloading a changed store, and the boot
# modes (`secpol dynamic set config bootmode=...`) with their tables.
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# usage: daemon_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, TUN, nftables)"
	exit 77
fi
. "$HERE/lib.sh"

A=dA.$$ B=dB.$$
two_hosts "$A" "$B"
DA=$(host_dir "$A")

# ---- set config / show config work on the store, without a daemon.
policy "$A" <<EOF
static add filterlist name=ssh
static add filter filterlist=ssh srcaddr=me dstaddr=any protocol=tcp srcport=22
static add filteraction name=pass action=permit
static add policy name=p
static add rule name=ssh policy=p filterlist=ssh filteraction=pass
static set policy name=p assign=yes
EOF
check "set config bootmode" sp "$A" dynamic set config property=bootmode value=BLOCK
check "set config, short form" sp "$A" dynamic set config bootexemptions \
	value="TCP:0:2222:inbound udp:53:0:outbound"
check "set config ipsecexempt" sp "$A" dynamic set config property=ipsecexempt value=2
sp "$A" dynamic show config >"$E2E_T/config"
expect_eq "show config: boot mode" "$(grep '^IpsecBootMode ' "$E2E_T/config")" "IpsecBootMode              : Block"
expect_eq "show config: exemptions (normalised)" "$(grep '^IpsecBootExemptions' "$E2E_T/config")" \
	"IpsecBootExemptions        : TCP:0:2222:inbound UDP:53:0:outbound"
expect_eq "show config: ipsecexempt" "$(grep '^IpsecExempt ' "$E2E_T/config")" "IpsecExempt                : 2"
expect_eq "show config: a default" "$(grep '^StrongCrlCheck' "$E2E_T/config")" "StrongCrlCheck             : 1"
refute "bootmode=sometimes" sp "$A" dynamic set config property=bootmode value=sometimes
refute "an exemption without direction" sp "$A" dynamic set config property=bootexemptions value=TCP:0:22
refute "ports need TCP or UDP" sp "$A" dynamic set config property=bootexemptions value=ICMP:1:0:inbound
refute "ipsecexempt out of range" sp "$A" dynamic set config property=ipsecexempt value=4
refute "an unknown property" sp "$A" dynamic set config property=nosuch value=1
expect_eq "a refused value leaves the store as it was" "$(sp "$A" dynamic show config | grep '^IpsecBootMode ')" "IpsecBootMode              : Block"

# ---- Without secpold the dynamic SA commands say the service is down;
# syntax errors are found without it.
sp "$A" dynamic show stats >"$E2E_T/down" 2>&1
expect_eq "show stats without secpold" "$(grep -c 'ERR IPsec\[05041\]' "$E2E_T/down")" 1
sp "$A" dynamic add sa srcaddr=192.0.2.1 >"$E2E_T/syntax" 2>&1
expect_eq "a missing parameter is reported by the CLI" "$(grep -c "ERR IPsec\[05002\]" "$E2E_T/syntax")" 1

# ---- SECPOL_STORE and SECPOL_CONTROL, for secpold and secpol alike.
ip netns exec "$A" env SECPOL_STORE="$DA/policy.db" SECPOL_CONTROL="$DA/ctl" \
	"$SECPOLD" --foreground --state-dir "$DA" --store-poll 3600 2>>"$DA/secpold.log" &
PID=$!
E2E_PIDS+=("$PID")
echo "$PID" >"$DA/pid"
ready=0
for _ in $(seq 100); do
	if in_ns "$A" env SECPOL_CONTROL="$DA/ctl" "$SECPOL" dynamic show stats >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
expect_eq "secpold ready with the store and socket from the environment" $ready 1
check "the policy table replaced the boot table" bash -c \
	"ip netns exec $A nft list table inet secpol | grep -q 'chain prerouting'"
check "the options win over the environment" bash -c \
	"ip netns exec $A env SECPOL_CONTROL=/nonexistent '$SECPOL' --control '$DA/ctl' dynamic show stats"

# ---- What it may still do: CAP_NET_ADMIN (bit 12), CAP_NET_RAW (13) and
# CAP_NET_BIND_SERVICE (10), in every thread, for good (bounding set,
# no_new_privs); nothing else of root's.
caps_ok=1
for st in /proc/"$PID"/task/*/status; do
	for f in CapEff CapPrm CapBnd; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
		[ "$v" = 0000000000003400 ] || { caps_ok=0; echo "    $st: $f $v" >&2; }
	done
	for f in CapInh CapAmb; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
		[ "$v" = 0000000000000000 ] || { caps_ok=0; echo "    $st: $f $v" >&2; }
	done
	[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")" = 1 ] || caps_ok=0
done
expect_eq "secpold keeps only NET_ADMIN, NET_RAW, NET_BIND_SERVICE, in every thread" "$caps_ok" 1
expect_ge "... and it has threads to check (the data path's workers)" \
	"$(ls /proc/"$PID"/task | wc -l)" 3

# ---- One secpold per store.
ip netns exec "$A" timeout 10 "$SECPOLD" --foreground --store "$DA/policy.db" \
	--control "$DA/ctl2" --tun secpol1 --state-dir "$DA" 2>"$E2E_T/second" &
second=$!
E2E_PIDS+=("$second")
wait $second
expect_eq "a second secpold on the same store exits with 1" $? 1
expect_eq "it says why" "$(grep -c 'another secpold (pid [0-9]*) is running' "$E2E_T/second")" 1
check "the first one still answers" sp "$A" dynamic show stats

# ---- Root only: the socket is 0600, and the daemon checks the peer too.
refute "nobody cannot connect" in_ns "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$SECPOL" --control "$DA/ctl" dynamic show stats
chmod 666 "$DA/ctl"
chmod 755 "$E2E_T" "$DA"   # let nobody reach the socket file itself
in_ns "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$SECPOL" --control "$DA/ctl" dynamic show stats >"$E2E_T/nobody" 2>&1
expect_eq "with the socket opened up, secpold itself refuses nobody" \
	"$(grep -c 'Access is denied' "$E2E_T/nobody")" 1

# ---- A changed store is applied without a restart, at once: this secpold
# looks at the store only hourly, so only secpol's nudge can have applied it.
check "add a block rule while secpold runs" sp "$A" -f - <<EOF
static add filterlist name=web
static add filter filterlist=web srcaddr=me dstaddr=any protocol=tcp dstport=8443
static add filteraction name=drop action=block
static add rule name=web policy=p filterlist=web filteraction=drop
EOF
check "the new rule is in the kernel when the command returns" bash -c \
	"ip netns exec $A nft list table inet secpol | grep -q 'dport 8443 drop'"
check "one command too" sp "$A" static set rule name=web policy=p activate=no
refute "its change is in the kernel when it returns" bash -c \
	"ip netns exec $A nft list table inet secpol | grep -q 'dport 8443 drop'"
check "and back" sp "$A" static set rule name=web policy=p activate=yes
check "in the kernel again" bash -c \
	"ip netns exec $A nft list table inet secpol | grep -q 'dport 8443 drop'"

# ---- bootmode=block: stopping secpold leaves the block table.
in_ns "$B" ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1 || true   # neighbours known
check "secpold stops" stop_secpold "$A"
check "the block table stays" bash -c "ip netns exec $A nft list table inet secpol | grep -q 'policy drop'"
refute "A is closed: B cannot ping it" in_ns "$B" ping -c 1 -W 1 192.0.2.1
refute "A is closed: it cannot ping B" in_ns "$A" ping -c 1 -W 1 192.0.2.2
in_ns "$A" timeout 6 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", 2222)); s.listen(1); s.settimeout(5)
c, _ = s.accept(); print(c.recv(100).decode())' >"$E2E_T/exempt" &
srv=$!
sleep 0.4
check "the exempted port is open" in_ns "$B" timeout 5 python3 -c '
import socket
socket.create_connection(("192.0.2.1", 2222), timeout=3).sendall(b"exempt")'
wait $srv
expect_eq "the exempted connection delivered its data" "$(cat "$E2E_T/exempt")" exempt
refute "a port that is not exempted stays closed" in_ns "$B" timeout 5 python3 -c '
import socket
socket.create_connection(("192.0.2.1", 2223), timeout=2)'

# ---- Restarted, secpold replaces the block table with the policy.
start_secpold "$A" || exit 1
check "A is open again" in_ns "$B" ping -c 1 -W 2 192.0.2.1
check "bootmode=permit" sp "$A" dynamic set config property=bootmode value=permit
check "secpold stops" stop_secpold "$A"
refute "bootmode=permit: no table left" in_ns "$A" nft list table inet secpol
check "A is open without secpold" in_ns "$B" ping -c 1 -W 2 192.0.2.1

echo "daemon: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
