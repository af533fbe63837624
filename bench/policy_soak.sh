#!/usr/bin/env bash
# Policy-change soak: three secpold hosts on one bridge, IKEv2 with a
# pre-shared key, a policy change every few seconds while a ping and an
# iperf3 stream run through negotiated SAs the whole time.
#
#   A 192.0.2.1 --+
#   B 192.0.2.2 --+-- br0 (in namespace S)
#   C 192.0.2.3 --+
#
# Every host's policy "soak" (mmsecmethods AESGCM128-SHA256-31, PSK), one
# filter list and one filter action (ESP[AESGCM128]) per rule, in this order:
#   icmp     ICMP, A with B and C           <- the pinged rule, never changed
#   tcp5201  TCP to C port 5201 (A, C)      <- iperf3, changed now and then
#   other    UDP to B and C port 6000       <- changed most often
#   spare    UDP to B and C port 6500       <- activated / deactivated
# Traffic for the whole run: ping A -> B, 10 per second; iperf3 TCP A -> C;
# 5 UDP datagrams per second from A to each of B and C on ports 6000, 6500
# and 7000, so that the "other" and "spare" rules have SAs to renegotiate.
#
# After a warm-up (SAs up), every --interval seconds one change is made on A
# and the matching one on the peers (the commands run in parallel; each
# secpol command has its secpold apply the change before it returns), in turn:
#   other-qm      the "other" filter action's qmsecmethods, ESP[AESGCM128]
#                 <-> ESP[AESGCM256] (A, B, C)
#   other-filter  a UDP port-7000 filter added to / deleted from the "other"
#                 list (A, B, C)
#   spare-active  rule "spare" activate=no <-> yes (A, B, C)
# and every --tcp-every-th change instead:
#   tcp-qm        the "tcp5201" filter action's qmsecmethods (A, C): iperf3's
#                 SAs are renegotiated make-before-break.
# No change touches the "icmp" rule: not one echo may be lost.
#
# secpold's VmRSS on every host is sampled each second; "start" is read just
# before the first change (the first negotiations have settled), "end" 2 s
# before the end, at least --settle seconds after the last change. Prints:
#   soak seconds=300 changes=56 ping_sent=3000 ping_lost=0 iperf_gbit_s=...
#        sas_churned=... secpold_rss_start_kib=... secpold_rss_peak_kib=...
#        secpold_rss_end_kib=... (one line; A's secpold), then detail lines.
# sas_churned = A's IKE SAs + Child SAs established between the first change
# and the end ("Oakley Main Mode" + "Oakley Quick Mode" of `secpol dynamic
# show stats`); the detail line splits it and adds ReKeys and the driver's
# "Key Additions" (one per SA direction).
#
# usage: bench/policy_soak.sh [--interval S] [--tcp-every N] [--warmup S]
#                             [--settle S] [build dir (./build)] [seconds (300)]
# Run as root. Installs and builds nothing: needs the build dir's secpol and
# secpold, and ip, nft, ping, iperf3, python3, timeout. SOAK_KEEP=1 keeps the
# logs, the hosts' `show failures` / `show mmsas` / `show stats` and the
# samples (path printed).
set -u
INTERVAL=5
TCP_EVERY=6
WARMUP=10
SETTLE=15
BUILD=build
SECS=300
npos=0
while [ $# -gt 0 ]; do
	case $1 in
	--interval) INTERVAL=$2; shift ;;
	--tcp-every) TCP_EVERY=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--settle) SETTLE=$2; shift ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "policy_soak: unknown option $1" >&2; exit 2 ;;
	*)
		npos=$((npos + 1))
		if [ $npos -eq 1 ]; then BUILD=$1; else SECS=$1; fi ;;
	esac
	shift
done
if [ "$(id -u)" -ne 0 ]; then
	echo "policy_soak: run as root (network namespaces, TUN, nftables)" >&2
	exit 2
fi
if ! [ "$SECS" -ge $((WARMUP + SETTLE + 5)) ] 2>/dev/null; then
	echo "policy_soak: seconds must be at least $((WARMUP + SETTLE + 5))" >&2
	exit 2
fi
for b in secpol secpold; do
	[ -x "$BUILD/$b" ] || { echo "policy_soak: $BUILD/$b is missing (build first)" >&2; exit 2; }
done
for c in ip nft ping iperf3 python3 timeout awk; do
	command -v "$c" >/dev/null || { echo "policy_soak: $c is not installed" >&2; exit 2; }
done
SECPOL=$(realpath "$BUILD/secpol")
SECPOLD=$(realpath "$BUILD/secpold")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -n "${SOAK_KEEP:-}" ] && E2E_KEEP=1
. "$HERE/../tests/agent/lib.sh"
# lib.sh's `stat` is the counter reader; the file tool is not used here.

A=soakA.$$ B=soakB.$$ C=soakC.$$ S=soakS.$$
IP_A=192.0.2.1 IP_B=192.0.2.2 IP_C=192.0.2.3
PSK="soak test key"
T=$E2E_T
for ns in "$A" "$B" "$C" "$S"; do new_ns "$ns"; done
in_ns "$S" ip link add br0 type bridge
in_ns "$S" ip link set br0 up
n=0
for h in A B C; do
	n=$((n + 1))
	link "${!h}" eth0 "$S" "p$h"
	in_ns "$S" ip link set "p$h" master br0
	addr "${!h}" eth0 "192.0.2.$n/24"
done

# ---- the policies. Filters are written from each host's side (me and the
# peer), mirrored (the default), so both ends propose the same selectors.
# policy_script PEERS-OF-ICMP PEERS-OF-TCP PEERS-OF-UDP: the netsh script of
# one host (no TCP peer: no tcp5201 rule).
policy_script() {
	local icmp=$1 tcp=$2 udp=$3 p r rules="icmp tcp5201 other spare"
	[ -n "$tcp" ] || rules="icmp other spare"
	echo 'static add policy name=soak mmsecmethods="AESGCM128-SHA256-31"'
	for r in $rules; do
		echo "static add filterlist name=fl-$r"
		echo "static add filteraction name=fa-$r action=negotiate qmsecmethods=\"ESP[AESGCM128]\""
	done
	for p in $icmp; do
		echo "static add filter filterlist=fl-icmp srcaddr=me dstaddr=$p protocol=ICMP"
	done
	for p in $tcp; do
		if [ "$p" = "$IP_A" ]; then   # C: the iperf3 server's port is ours
			echo "static add filter filterlist=fl-tcp5201 srcaddr=$p dstaddr=me protocol=TCP dstport=5201"
		else
			echo "static add filter filterlist=fl-tcp5201 srcaddr=me dstaddr=$p protocol=TCP dstport=5201"
		fi
	done
	for p in $udp; do
		if [ "$p" = "$IP_A" ]; then
			echo "static add filter filterlist=fl-other srcaddr=$p dstaddr=me protocol=UDP dstport=6000"
			echo "static add filter filterlist=fl-spare srcaddr=$p dstaddr=me protocol=UDP dstport=6500"
		else
			echo "static add filter filterlist=fl-other srcaddr=me dstaddr=$p protocol=UDP dstport=6000"
			echo "static add filter filterlist=fl-spare srcaddr=me dstaddr=$p protocol=UDP dstport=6500"
		fi
	done
	for r in $rules; do
		echo "static add rule name=$r policy=soak filterlist=fl-$r filteraction=fa-$r psk=\"$PSK\""
	done
	echo "static set policy name=soak assign=yes"
}
policy_script "$IP_B $IP_C" "$IP_C" "$IP_B $IP_C" | policy "$A"
policy_script "$IP_A" "" "$IP_A" | policy "$B"
policy_script "$IP_A" "$IP_A" "$IP_A" | policy "$C"
[ "$fail" -eq 0 ] || exit 1
for h in A B C; do start_secpold "${!h}" || exit 1; done
pid_of() { cat "$(host_dir "$1")/pid"; }
PID_A=$(pid_of "$A") PID_B=$(pid_of "$B") PID_C=$(pid_of "$C")

now() { echo "$EPOCHREALTIME"; }
rss() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- warm-up: the first negotiations (icmp with B, tcp5201 with C).
in_ns "$A" ping -c 2 -W 5 -i 0.3 "$IP_B" >/dev/null 2>&1 ||
	{ echo "policy_soak: A cannot ping B through IKE" >&2; sp "$A" dynamic show failures >&2; exit 1; }

# UDP sinks on B and C (count what arrives per port), the sender on A.
for h in B C; do
	ip netns exec "${!h}" python3 -c '
import json, select, signal, socket, sys
socks = {}
for port in (6000, 6500, 7000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port)); socks[s] = port
n = {p: 0 for p in socks.values()}
def stop(*_):
    open(sys.argv[1], "w").write(json.dumps(n)); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    for s in select.select(list(socks), [], [], 1.0)[0]:
        s.recv(2048); n[socks[s]] += 1' "$T/udp.$h" 2>"$T/udp.$h.err" &
	E2E_PIDS+=("$!")
	eval "SINK_$h=$!"
done
ip netns exec "$A" python3 -c '
import json, signal, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = [(h, p) for h in ("192.0.2.2", "192.0.2.3") for p in (6000, 6500, 7000)]
n = {"%s:%d" % d: 0 for d in dst}
def stop(*_):
    open(sys.argv[1], "w").write(json.dumps(n)); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    for d in dst:
        try:
            s.sendto(b"soak", d); n["%s:%d" % d] += 1
        except OSError:
            pass
    time.sleep(0.2)' "$T/udp.sent" 2>"$T/udp.sent.err" &
E2E_PIDS+=("$!")
SENDER=$!

# secpold's memory, every second: t VmRSS(A) VmRSS(B) VmRSS(C) VmHWM(A)
(
	while :; do
		echo "$(now) $(rss "$PID_A") $(rss "$PID_B") $(rss "$PID_C") $(rss "$PID_A" VmHWM)"
		sleep 1
	done
) >"$T/rss" 2>/dev/null &
E2E_PIDS+=("$!")

# ---- t0: ping and iperf3 for the whole run.
ip netns exec "$C" iperf3 -s -1 -p 5201 >"$T/iperf.server" 2>&1 &
E2E_PIDS+=("$!")
sleep 0.5
T0=$(now)
NPING=$((SECS * 10))
ip netns exec "$A" timeout $((SECS + 30)) ping -n -D -O -i 0.1 -W 2 -c "$NPING" "$IP_B" >"$T/ping" 2>&1 &
PINGER=$!
E2E_PIDS+=("$PINGER")
ip netns exec "$A" timeout $((SECS + 40)) iperf3 -c "$IP_C" -p 5201 -t "$SECS" -J >"$T/iperf.json" 2>"$T/iperf.err" &
IPERF=$!
E2E_PIDS+=("$IPERF")

sleep_until() {   # sleep_until SECONDS-AFTER-T0
	local d
	d=$(awk -v t0="$T0" -v off="$1" -v n="$(now)" 'BEGIN { d = t0 + off - n; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}
stats_of() {   # stats_of NS FILE: the whole `show stats`
	sp "$1" dynamic show stats >"$2" 2>&1
}
val() { awk -F': ' -v l="$2" '{ k = $1; sub(/ +$/, "", k) } k == l { print $2; exit }' "$1"; }

# on HOSTS... : one static command on each host, in parallel; waits (bounded
# by sp's timeout) and fails if any failed.
on() {
	local hosts=$1 h pids=() rc=0
	shift
	for h in $hosts; do
		sp "${!h}" static "$@" >>"$T/changes.out" 2>&1 &
		pids+=("$!")
	done
	for h in "${pids[@]}"; do wait "$h" || rc=1; done
	return $rc
}

# batch NS <<lines: static commands on one host as one transaction.
batch() {
	{ echo "static set batch mode=enable"; cat; echo "static set batch mode=disable"; } |
		sp "$1" -e -f - >>"$T/changes.out" 2>&1
}

# ---- the changes.
OTHER_QM=AESGCM128 TCP_QM=AESGCM128 EXTRA=0 SPARE=yes
k=0 ntcp=0 nother=0 changefail=0
t=$WARMUP
: >"$T/changes"
while [ "$t" -le $((SECS - SETTLE)) ]; do
	sleep_until "$t"
	if [ $k -eq 0 ]; then   # the start: after the first negotiations, before any change
		RSS_START=$(rss "$PID_A")
		RSS_START_B=$(rss "$PID_B") RSS_START_C=$(rss "$PID_C")
		stats_of "$A" "$T/stats.start"
		sp "$A" dynamic show ikesas >"$T/mmsas.start" 2>&1
	fi
	k=$((k + 1))
	start=$(now)
	if [ $((k % TCP_EVERY)) -eq 0 ]; then
		TCP_QM=$([ $TCP_QM = AESGCM128 ] && echo AESGCM256 || echo AESGCM128)
		kind=tcp-qm detail="fa-tcp5201 ESP[$TCP_QM]"
		on "A C" set filteraction name=fa-tcp5201 qmsecmethods="ESP[$TCP_QM]" || changefail=$((changefail + 1))
		ntcp=$((ntcp + 1))
	else
		case $((nother % 3)) in
		0)
			OTHER_QM=$([ $OTHER_QM = AESGCM128 ] && echo AESGCM256 || echo AESGCM128)
			kind=other-qm detail="fa-other ESP[$OTHER_QM]"
			on "A B C" set filteraction name=fa-other qmsecmethods="ESP[$OTHER_QM]" || changefail=$((changefail + 1))
			;;
		1)
			verb=$([ $EXTRA -eq 0 ] && echo add || echo delete)
			kind=other-filter detail="$verb UDP 7000"
			pids=()
			for h in A B C; do
				if [ $h = A ]; then
					peers=("me $IP_B" "me $IP_C")
				else
					peers=("$IP_A me")
				fi
				for p in "${peers[@]}"; do
					set -- $p
					echo "static $verb filter filterlist=fl-other srcaddr=$1 dstaddr=$2 protocol=UDP dstport=7000"
				done | batch "${!h}" &
				pids+=("$!")
			done
			for p in "${pids[@]}"; do wait "$p" || changefail=$((changefail + 1)); done
			EXTRA=$((1 - EXTRA))
			;;
		2)
			SPARE=$([ $SPARE = yes ] && echo no || echo yes)
			kind=spare-active detail="activate=$SPARE"
			on "A B C" set rule name=spare policy=soak activate=$SPARE || changefail=$((changefail + 1))
			;;
		esac
		nother=$((nother + 1))
	fi
	awk -v t0="$T0" -v s="$start" -v e="$(now)" -v k=$k -v kind="$kind" -v d="$detail" \
		'BEGIN { printf "%.2f %.2f %d %s %s\n", s - t0, e - t0, k, kind, d }' >>"$T/changes"
	t=$((t + INTERVAL))
done

# ---- the end: the last change has settled.
sleep_until $((SECS - 2))
RSS_END=$(rss "$PID_A") RSS_END_B=$(rss "$PID_B") RSS_END_C=$(rss "$PID_C")
HWM=$(rss "$PID_A" VmHWM)
stats_of "$A" "$T/stats.end"
for h in A B C; do
	sp "${!h}" dynamic show failures >"$T/failures.$h" 2>&1
	sp "${!h}" dynamic show ikesas >"$T/mmsas.$h" 2>&1
	sp "${!h}" dynamic show stats >"$T/stats.$h" 2>&1
done
# ping and iperf3 end by themselves at about t0 + seconds (bounded by timeout).
wait "$PINGER" 2>/dev/null
wait "$IPERF" 2>/dev/null
for p in "$SENDER" "$SINK_B" "$SINK_C"; do kill -TERM "$p" 2>/dev/null; done
for p in "$SENDER" "$SINK_B" "$SINK_C"; do
	for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
alive=
for h in A B C; do
	p=PID_$h
	kill -0 "${!p}" 2>/dev/null && alive+=$h
done

# ---- the numbers.
ping_sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/ping")
ping_recv=$(sed -n 's/.* packets transmitted, \([0-9]*\) received.*/\1/p' "$T/ping")
ping_sent=${ping_sent:-0} ping_recv=${ping_recv:-0}
d() { echo $(( $(val "$T/stats.end" "$1") - $(val "$T/stats.start" "$1") )); }
ike_added=$(d "Oakley Main Mode") child_added=$(d "Oakley Quick Mode")
read -r iperf_gbit iperf_min iperf_zero iperf_min_tcp <<<"$(python3 - "$T/iperf.json" "$T/changes" "$SECS" <<'EOF'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    ivs = [(i["sum"]["start"], i["sum"]["end"], i["sum"]["bits_per_second"] / 1e9) for i in j["intervals"]]
    total = j["end"]["sum_received"]["bits_per_second"] / 1e9
    if "error" in j or not total:
        # iperf3 did not finish (its closing exchange stalled and timeout
        # stopped it): the sender's 1 s intervals instead
        secs = min(sum(i["sum"]["seconds"] for i in j["intervals"]), float(sys.argv[3]))
        total = sum(i["sum"]["bytes"] for i in j["intervals"]) * 8 / 1e9 / secs if secs else 0
except Exception:
    print("- - - -"); sys.exit(0)
# iperf3's intervals start at its own t0 (~ ours); the first and last are partial
full = [g for s, e, g in ivs if e - s > 0.5]
tcp = [float(l.split()[0]) for l in open(sys.argv[2]) if l.split()[3] == "tcp-qm"]
near = [g for s, e, g in ivs if any(c <= s < c + 5 for c in tcp)]
print("%.2f %.2f %d %s" % (total, min(full) if full else 0, sum(1 for g in full if g == 0),
                           "%.2f" % min(near) if near else "-"))
EOF
)"
pct=$(awk -v s="$RSS_START" -v e="$RSS_END" 'BEGIN { printf "%+.1f", s ? (e - s) * 100 / s : 0 }')
peak=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/rss")
peak_b=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$T/rss")
peak_c=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$T/rss")
echo "soak seconds=$SECS changes=$k ping_sent=$ping_sent ping_lost=$((ping_sent - ping_recv))" \
	"iperf_gbit_s=$iperf_gbit sas_churned=$((ike_added + child_added))" \
	"secpold_rss_start_kib=$RSS_START secpold_rss_peak_kib=$peak secpold_rss_end_kib=$RSS_END"
echo "soak detail tcp_changes=$ntcp change_cmd_failures=$changefail ike_sas_added=$ike_added" \
	"child_sas_added=$child_added rekeys=$(d ReKeys) key_additions=$(d "Key Additions")" \
	"iperf_min_1s_gbit_s=$iperf_min iperf_zero_1s=$iperf_zero iperf_min_1s_after_tcp_change_gbit_s=$iperf_min_tcp" \
	"secpold_hwm_kib=$HWM rss_end_vs_start_pct=$pct secpold_alive=${alive:-none}" \
	"active_ike_sas_start_end=$(val "$T/stats.start" "Active IKE SAs")/$(val "$T/stats.end" "Active IKE SAs")" \
	"active_sas_start_end=$(val "$T/stats.start" "Active Associations")/$(val "$T/stats.end" "Active Associations")"
echo "soak peers rss_kib_B=$RSS_START_B/$peak_b/$RSS_END_B rss_kib_C=$RSS_START_C/$peak_c/$RSS_END_C (start/peak/end)" \
	"failures_A=$(grep -c ' peer ' "$T/failures.A")" \
	"failures_B=$(grep -c ' peer ' "$T/failures.B")" \
	"failures_C=$(grep -c ' peer ' "$T/failures.C")" \
	"udp_sent_received=$(python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
try:
    s = json.load(open(t + "/udp.sent"))
    r = {"192.0.2.2": json.load(open(t + "/udp.B")), "192.0.2.3": json.load(open(t + "/udp.C"))}
    print(",".join("%s:%d/%d" % (k.split(".")[-1].replace(":", "_"), v, r[k.split(":")[0]].get(k.split(":")[1], 0))
                   for k, v in sorted(s.items())))
except Exception as e:
    print("-")
EOF
)"
# Both ends of an IKE SA should name the same rule (they may not: the
# responder picks its rule from the selectors the initiator proposes).
python3 - "$T" <<'EOF2'
import re, sys
t = sys.argv[1]
def sas(h):
    out, cur = {}, None
    for l in open("%s/mmsas.%s" % (t, h)):
        m = re.match(r"IKE SA (\S+) (\S+)", l)
        if m: cur = m.groups()
        m = re.match(r"\s+Rule\s*: (.*)", l)
        if m and cur: out[cur] = m.group(1).strip()
    return out
a = sas("A")
n, pairs = 0, {}
for h in "BC":
    for k, r in sas(h).items():
        if k in a:
            n += 1
            if a[k] != r: pairs["A:%s/%s:%s" % (a[k], h, r)] = pairs.get("A:%s/%s:%s" % (a[k], h, r), 0) + 1
print("soak ike_sas_at_end=%d rule_mismatch=%d%s" % (n, sum(pairs.values()),
      "".join(" %s=%d" % kv for kv in sorted(pairs.items()))))
EOF2
# Where echoes were lost: the sequence numbers that got no reply, with the
# time ping gave up waiting and the change before it.
python3 - "$T/ping" "$T/changes" "$T0" "$ping_sent" <<'EOF'
import re, sys
ping, changes, t0, sent = open(sys.argv[1]).read(), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
got = {int(m) for m in re.findall(r"bytes from .* icmp_seq=(\d+)", ping)}
late = {int(s): float(ts) - t0 for ts, s in re.findall(r"\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)", ping)}
lost = [s for s in range(1, sent + 1) if s not in got]
ch = [l.split(None, 4) for l in open(changes)]
runs = []
for s in lost:
    if runs and s == runs[-1][1] + 1: runs[-1][1] = s
    else: runs.append([s, s])
for a, b in runs[:20]:
    t = late.get(a, (a - 1) * 0.1)
    before = [c for c in ch if float(c[0]) <= t]
    c = before[-1] if before else None
    print("soak ping_lost seq=%d-%d t=%.1fs%s" % (a, b, t, " %.1fs after change %s (%s%s)" %
          (t - float(c[0]), c[2], c[3], " " + c[4].strip() if len(c) > 4 else "") if c else " (before any change)"))
EOF
if [ -n "${E2E_KEEP:-}" ]; then
	for h in A B C; do cp "$(host_dir "${!h}")/secpold.log" "$T/secpold.$h.log" 2>/dev/null; done
	echo "soak logs: $T" >&2
fi
[ "$alive" = ABC ]
