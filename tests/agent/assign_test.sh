#!/usr/bin/env bash
# Assignment as the administrator meets it, between two hosts on a veth link:
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# Both assign a policy that requires ESP with the peer (IKEv2, pre-shared
# key). Then, driven only by `secpol static` commands (each nudges secpold,
# so every check runs right after the command returns):
#   - unassigning the policy on A deletes A's SAs and tells B (B has none
#     left), and with B unassigned too the hosts talk in clear;
#   - assigning it again negotiates again;
#   - a broken store (a rule pointing to a filter list that is not there,
#     as a damaged or half-imported file would have it) is not applied: the
#     running policy stays, the traffic stays protected, and secpol says why;
#   - repairing the store applies it again.
# dumpcap on B's end of the link; tshark decides what was on the wire.
#
# usage: assign_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

A=asA.$$ B=asB.$$
two_hosts "$A" "$B"

for h in A B; do
	peer=$([ $h = A ] && echo 192.0.2.2 || echo 192.0.2.1)
	policy "${!h}" <<EOF2
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]"
static add policy name=lab mmsecmethods="AESGCM128-SHA256-31"
static add rule name=peer policy=lab filterlist=peer filteraction=esp psk="assignment test key"
static set policy name=lab assign=yes
EOF2
	start_secpold "${!h}" || exit 1
done

# wire NAME command...: runs the command with dumpcap on B's end; then
# proto NAME FILTER counts the matching frames.
wire() {
	local name=$1
	shift
	capture_start "$B" vb "$name"
	"$@"
	local rc=$?
	capture_stop "$name"
	return $rc
}
frames() { tshark -n -r "$(pcap "$1")" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l; }
ike_sas() { sp "$1" dynamic show stats type=ike | awk -F': ' '/^Active IKE SAs/ { print $2 }'; }
# no_ike_sa_soon NS: 0 once the host has no IKE SA (its Delete exchange takes a
# round trip), within 3 s.
no_ike_sa_soon() {
	local i
	for i in $(seq 30); do
		[ "$(ike_sas "$1")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

check "assigned: A pings B" wire esp in_ns "$A" ping -c 3 -W 3 -i 0.2 192.0.2.2
expect_ge "the pings went as ESP" "$(frames esp esp)" 6
expect_eq "no clear ping" "$(frames esp icmp)" 0
expect_eq "A has an IKE SA" "$(ike_sas "$A")" 1
expect_eq "B has an IKE SA" "$(ike_sas "$B")" 1

# ---- Unassigned on A: its SAs go and B is told (B's go too).
check "A: unassign" sp "$A" static set policy name=lab assign=no
check "A deleted its IKE SA" no_ike_sa_soon "$A"
check "B was told: its IKE SA is gone too" no_ike_sa_soon "$B"
expect_eq "A steers nothing" \
	"$(in_ns "$A" nft list table inet secpol | grep -c '192.0.2.2')" 0
refute "B still requires ESP: A's clear ping is refused" in_ns "$A" ping -c 1 -W 1 192.0.2.2
check "B: unassign" sp "$B" static set policy name=lab assign=no
check "both unassigned: A pings B" wire clear in_ns "$A" ping -c 3 -W 2 -i 0.2 192.0.2.2
expect_ge "in clear" "$(frames clear 'icmp.type==8')" 3
expect_eq "no ESP" "$(frames clear esp)" 0
check "show rulefor: no policy" bash -c "ip netns exec $A timeout 10 '$SECPOL' \
	--control '$(host_dir "$A")/ctl' dynamic show rulefor srcaddr=192.0.2.1 dstaddr=192.0.2.2 |
	grep -Eq 'Policy Name +: NONE'"

# ---- Assigned again: negotiated again.
check "A: assign" sp "$A" static set policy name=lab assign=yes
check "B: assign" sp "$B" static set policy name=lab assign=yes
check "assigned again: A pings B" wire again in_ns "$A" ping -c 3 -W 3 -i 0.2 192.0.2.2
expect_ge "as ESP" "$(frames again esp)" 6
expect_eq "no clear ping" "$(frames again icmp)" 0

# ---- A broken store on A is not applied; the running policy stays.
DB="$(host_dir "$A")/policy.db"
in_ns "$A" timeout 10 python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE rule SET filterlist = 9999 WHERE name = ?", ("peer",))
c.commit()' "$DB"
# The next static command nudges secpold, which refuses the store and says so.
sp "$A" static set policy name=lab description="broken underneath" >"$E2E_T/nudge" 2>&1
expect_eq "secpol says secpold keeps the running policy" \
	"$(grep -c 'secpold keeps the running policy' "$E2E_T/nudge")" 1
expect_ge "secpold logged why" \
	"$(grep -c "the policy was not applied: rule 'peer'" "$(host_dir "$A")/secpold.log")" 1
check "the running policy still protects: A pings B" wire kept \
	in_ns "$A" ping -c 3 -W 3 -i 0.2 192.0.2.2
expect_ge "as ESP" "$(frames kept esp)" 6
expect_eq "no clear ping" "$(frames kept icmp)" 0
expect_eq "A still has its IKE SA" "$(ike_sas "$A")" 1

# ---- Repaired: the rule names its list again, and the store applies.
in_ns "$A" timeout 10 python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE rule SET filterlist = (SELECT id FROM filterlist WHERE name = ?) WHERE name = ?",
          ("peer", "peer"))
c.commit()' "$DB"
sp "$A" static set policy name=lab description="repaired" >"$E2E_T/nudge" 2>&1
expect_eq "no warning once repaired" "$(grep -c 'WARNING' "$E2E_T/nudge")" 0
check "repaired: A pings B" in_ns "$A" ping -c 2 -W 3 -i 0.2 192.0.2.2

check "A stops cleanly" stop_secpold "$A"
check "B stops cleanly" stop_secpold "$B"
echo "assign: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
