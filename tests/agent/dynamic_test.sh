#!/usr/bin/env bash
# secpold end to end, dynamic mode (netsh-ipsec.md §4): two hosts with no
# static policy assigned,
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# get a main mode policy, a quick mode policy and a rule through `secpol
# dynamic` only. The rule takes effect at once: ping is protected by ESP
# (dumpcap on B's end of the link sees ESP, no ICMP in clear), `show rule`
# lists it marked dynamic, `delete qmsas` / `delete mmsas` on A remove the
# SAs on B too (the Deletes told it), `delete rule` brings ping back in
# clear, and after a restart no dynamic object is left. Then the §8.5
# example script runs unchanged, and the refusals of §4 are checked.
#
# usage: dynamic_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_require ip nft tshark dumpcap ping python3 timeout

A=dyA.$$ B=dyB.$$
two_hosts "$A" "$B"

# An empty store each: no static policy is assigned.
for h in A B; do
	echo "static show store" | policy "${!h}"
done
# A's own hosts file (ip netns exec mounts /etc/netns/NS/hosts over
# /etc/hosts), for resolvedns=yes; removed at the end.
mkdir -p "/etc/netns/$A"
echo "192.0.2.2 peer-b.example" >"/etc/netns/$A/hosts"
dyn_cleanup() { rm -rf "/etc/netns/$A"; rmdir /etc/netns 2>/dev/null; e2e_cleanup; }
trap dyn_cleanup EXIT
start_secpold "$A" || exit 1
start_secpold "$B" || exit 1

count() { grep -c -- "$2" "$1"; }   # count FILE STRING (0 when none)
# wait_for "what" N command...: retries (bounded: N x 0.2 s) until it succeeds.
wait_for() {
	local what=$1 n=$2
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && { ok; return 0; }
		sleep 0.2
	done
	bad "$what"
	return 1
}
no_sas() { ! sp "$1" dynamic show sa | grep -q '^SPI '; }
has_sas() { sp "$1" dynamic show sa | grep -q '^SPI '; }
no_ike_sas() { ! sp "$1" dynamic show ikesas | grep -q '^IKE SA '; }

for h in A B; do
	ns=${!h}
	[ $h = A ] && peer=192.0.2.2 || peer=192.0.2.1
	check "$h: add mmpolicy" sp "$ns" dynamic add mmpolicy name=mm mmsecmethods="AES128-SHA256-14"
	check "$h: add qmpolicy" sp "$ns" dynamic add qmpolicy name=qm pfsgroup=grpmm \
		qmsecmethods="ESP[AES128,SHA256]"
	check "$h: add rule" sp "$ns" dynamic add rule srcaddr=me dstaddr=$peer mmpolicy=mm \
		qmpolicy=qm psk="dynamic lab key"
done

# ---- the rule is in force at once: ESP on the wire.
capture_start "$B" vb wire
check "ping over the dynamic rule" in_ns "$A" ping -c 3 -i 0.3 -W 3 192.0.2.2
capture_stop wire
expect_ge "ESP packets on the wire" "$(shark "$(pcap wire)" -Y esp | wc -l)" 2
expect_eq "no ICMP in clear" "$(shark "$(pcap wire)" -Y 'icmp && !esp' | wc -l)" 0
check "A has SAs" has_sas "$A"
check "resolvedns=yes: the peer's name beside its address" bash -c \
	"ip netns exec $A timeout 10 '$SECPOL' --control '$(host_dir "$A")/ctl' dynamic show qmfilter \
	 all resolvedns=yes | grep -q '192.0.2.2 (peer-b.example)'"
refute "resolvedns=no: the address only" bash -c \
	"ip netns exec $A timeout 10 '$SECPOL' --control '$(host_dir "$A")/ctl' dynamic show qmfilter \
	 all | grep -q 'peer-b.example'"
check "resolvedns=yes in show qmsas" bash -c \
	"ip netns exec $A timeout 10 '$SECPOL' --control '$(host_dir "$A")/ctl' dynamic show qmsas \
	 resolvedns=yes | grep -q '192.0.2.2/32 (peer-b.example)'"
check "resolvedns=yes in show mmsas" bash -c \
	"ip netns exec $A timeout 10 '$SECPOL' --control '$(host_dir "$A")/ctl' dynamic show mmsas \
	 all resolvedns=yes | grep -Eq '^Destination +: 192.0.2.2 +, port 500 \(peer-b.example\)'"
check "resolvedns=yes in the specific filters" bash -c \
	"ip netns exec $A timeout 10 '$SECPOL' --control '$(host_dir "$A")/ctl' dynamic show qmfilter \
	 all type=specific resolvedns=yes | grep -q '192.0.2.2/32 (peer-b.example)'"
check "B has SAs" has_sas "$B"

# ---- the views: the rule marked dynamic, in list, table and json.
sp "$A" dynamic show rule >"$E2E_T/rule"
check "show rule: a dynamic rule" grep -q '^Dynamic Rule$' "$E2E_T/rule"
check "show rule: marked dynamic" grep -q '^Dynamic                : YES' "$E2E_T/rule"
check "show rule: its policies" grep -q '^IKE Policy             : mm$' "$E2E_T/rule"
check "show rule: one rule" grep -q '^1 Rule(s)$' "$E2E_T/rule"
check "show rule: the key never shown" bash -c "! grep -q 'dynamic lab key' '$E2E_T/rule'"
sp "$A" dynamic show rule format=table >"$E2E_T/rule_t"
check "show rule table: Dynamic" grep -qE '^100001 +Dynamic Rule 100001 +Dynamic +me +192.0.2.2/32 ' "$E2E_T/rule_t"
sp "$A" dynamic show rule format=json >"$E2E_T/rule.json"
check "show rule json" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["rules"]
assert len(r) == 1 and r[0]["dynamic"] is True and r[0]["policy"] is None, r
assert r[0]["srcaddr"] == "me" and r[0]["dstaddr"] == "192.0.2.2/32", r
assert r[0]["authentication"] == [{"method": "psk"}], r
assert r[0]["actioninbound"] == "negotiate" and r[0]["qmpolicy"] == "qm", r' "$E2E_T/rule.json"
sp "$A" dynamic show qmfilter type=specific format=json >"$E2E_T/qmf.json"
check "show qmfilter specific: both directions, concrete, weighted" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = d["qmfilters"]
assert d["type"] == "specific", d
dirs = sorted((x["direction"], x["srcaddr"], x["dstaddr"]) for x in f)
assert dirs == [("inbound", "192.0.2.2/32", "192.0.2.1/32"),
                ("outbound", "192.0.2.1/32", "192.0.2.2/32")], dirs
assert all(x["weight"] > 0 and x["dynamic"] for x in f), f' "$E2E_T/qmf.json"
sp "$A" dynamic show mmpolicy name=mm >"$E2E_T/mmp"
check "show mmpolicy: lifetime default" grep -q '^MM Lifetime            : 480 minutes$' "$E2E_T/mmp"
check "show mmpolicy: soft SA default" grep -q '^Soft SA Expiration Time: 300 seconds$' "$E2E_T/mmp"

# ---- refusals: policies in use, duplicates, a rule that is not there.
refute "delete mmpolicy in use" sp "$A" dynamic delete mmpolicy name=mm
cp "$E2E_T/out" "$E2E_T/refused"
check "05022 named" grep -q 'IPsec\[05022\]' "$E2E_T/refused"
refute "delete qmpolicy all while in use" sp "$A" dynamic delete qmpolicy all
refute "a second rule with the same tuple" sp "$A" dynamic add rule srcaddr=me dstaddr=192.0.2.2 \
	mmpolicy=mm qmpolicy=qm psk=x
cp "$E2E_T/out" "$E2E_T/refused"
check "05021 named" grep -q 'IPsec\[05021\]' "$E2E_T/refused"
refute "negotiate without a qmpolicy" sp "$A" dynamic add rule srcaddr=me dstaddr=192.0.2.9 mmpolicy=mm
refute "an unknown mmpolicy" sp "$A" dynamic add rule srcaddr=me dstaddr=192.0.2.9 mmpolicy=nosuch \
	actioninbound=block actionoutbound=block
refute "delete a rule that is not there" sp "$A" dynamic delete rule srcaddr=me dstaddr=192.0.2.9 \
	protocol=any srcport=0 dstport=0 mirrored=yes conntype=all
cp "$E2E_T/out" "$E2E_T/refused"
check "05013 named" grep -q 'IPsec\[05013\]' "$E2E_T/refused"
refute "show mmpolicy of a name not there" sp "$A" dynamic show mmpolicy name=nosuch

# ---- delete qmsas on A: B's Child SAs go too; the IKE SA stays.
check "delete qmsas" sp "$A" dynamic delete qmsas
wait_for "B's Child SAs deleted (told by A)" 50 no_sas "$B"
wait_for "A's Child SAs deleted" 50 no_sas "$A"
sp "$B" dynamic show ikesas >"$E2E_T/mmsas"
expect_ge "B: IKE SA kept after delete qmsas" "$(count "$E2E_T/mmsas" '^IKE SA ')" 1
# ---- delete mmsas on A (selected by the peer's address): B's IKE SA goes.
check "delete mmsas dstaddr" sp "$A" dynamic delete mmsas dstaddr=192.0.2.2
wait_for "B's IKE SAs deleted (told by A)" 50 no_ike_sas "$B"
check "A's IKE SAs deleted" no_ike_sas "$A"
check "ping negotiates again" in_ns "$A" ping -c 2 -i 0.3 -W 3 192.0.2.2
check "SAs again on B" has_sas "$B"

# ---- delete rule: ping in clear.
for h in A B; do
	ns=${!h}
	[ $h = A ] && peer=192.0.2.2 || peer=192.0.2.1
	check "$h: set rule to permit" sp "$ns" dynamic set rule srcaddr=me dstaddr=$peer protocol=any \
		srcport=0 dstport=0 mirrored=yes conntype=all actioninbound=permit actionoutbound=permit
	check "$h: delete rule" sp "$ns" dynamic delete rule srcaddr=me dstaddr=$peer protocol=any \
		srcport=0 dstport=0 mirrored=yes conntype=all
done
capture_start "$B" vb clear
check "ping in clear after delete rule" in_ns "$A" ping -c 2 -i 0.3 -W 2 192.0.2.2
capture_stop clear
expect_ge "ICMP in clear" "$(shark "$(pcap clear)" -Y 'icmp' | wc -l)" 2
expect_eq "no ESP after delete rule" "$(shark "$(pcap clear)" -Y 'esp' | wc -l)" 0
check "delete mmpolicy once unused" sp "$A" dynamic delete mmpolicy name=mm

# ---- restart: nothing dynamic remains.
stop_secpold "$A"
start_secpold "$A" || exit 1
sp "$A" dynamic show rule >"$E2E_T/after"
check "no rule after restart" grep -qx 'No rules found.' "$E2E_T/after"
sp "$A" dynamic show qmpolicy >"$E2E_T/after"
check "no qmpolicy after restart" grep -qx 'No quick mode policies found.' "$E2E_T/after"

# ---- §8.5 unchanged; show config is not touched by delete all.
sp "$A" dynamic show config >"$E2E_T/config_before"
sp "$A" -f "$HERE/scripts/8_5_dynamic.txt" >"$E2E_T/85.out" 2>"$E2E_T/85.err"
expect_eq "8.5 runs without an error" "$?" 0
check "8.5: show rule listed it" grep -q '^Destination Address    : 192.0.2.10$' "$E2E_T/85.out"
check "8.5: DES warned about" grep -q 'DES is provided for backward compatibility' "$E2E_T/85.err"
sp "$A" dynamic show config >"$E2E_T/config_after"
check "8.5: show config unchanged by delete all" cmp -s "$E2E_T/config_before" "$E2E_T/config_after"
sp "$A" dynamic show all format=json >"$E2E_T/all.json"
check "8.5: nothing dynamic left; show all json" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rules"] == [] and d["mmpolicies"] == [] and d["qmpolicies"] == [], d
assert d["config"]["ipsecexempt"] == 3, d["config"]
assert d["mmsas"]["view"] == "mmsas" and d["qmsas"]["view"] == "qmsas", d
assert d["stats"]["quick_mode"]["active_associations"] >= 0, d["stats"]' "$E2E_T/all.json"
check "show all (text)" sp "$A" dynamic show all

echo "dynamic: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
