#!/usr/bin/env bash
# The IP Security Monitor's numbers after a known exchange, on both hosts:
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# Both run secpold with a pre-shared-key policy that requires ESP
# (AES-GCM-128, transport mode) for IPv4 between them. A pings B: one ping
# brings the SA up, then 100 more of a known size; dumpcap records the ESP on
# B's end of the link; then the last 5 ESP echo requests are sent to B again
# (an attacker on the link). Then, exactly, on both hosts:
#   - per SA (`show sa`): packets and bytes (the ICMP message: 8 + size),
#   - `show stats`: Confidential / Authenticated / Transport bytes sent and
#     received, Pkts with Replay Detection (5 on B, 0 on A), Bad SPI 0,
#   - the event log (`show events`): the IKE SA and the Child SA up, with the
#     SPIs `show sa` shows,
#   - syslog: B's secpold writes its events to a Unix socket of the test's
#     own (--syslog-socket), RFC 3164 lines with secpold[pid]; stopping A
#     makes B log the IKE SA going down and why.
#
# usage: counters_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft dumpcap ping python3 timeout

SIZE=200                       # ping -s: ICMP data octets
MSG=$((SIZE + 8))              # the IP payload ESP protects: the ICMP message
PINGS=100
PKTS=$((PINGS + 1))            # and the one that brought the SA up
BYTES=$((PKTS * MSG))
REPLAYS=5

A=mcA.$$ B=mcB.$$
two_hosts "$A" "$B"

for h in A B; do
	ns=${!h}
	[ $h = A ] && peer=192.0.2.2 || peer=192.0.2.1
	policy "$ns" <<EOF
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]:100000k/3600s"
static add policy name=lab mmsecmethods="AES128-SHA256-31"
static add rule name=peers policy=lab filterlist=peer filteraction=esp psk="counted"
static set policy name=lab assign=yes
EOF
done

# B's syslog: a Unix datagram socket, one received message per line.
SYSLOG_SOCK=$E2E_T/syslog-B.sock
SYSLOG_OUT=$E2E_T/syslog-B.log
cat >"$E2E_T/syslogd.py" <<'EOF'
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(1.0)
deadline = time.time() + 200          # bounded: the test's own timeout is 240 s
with open(out, "a", buffering=1) as f:
    while time.time() < deadline:
        try:
            msg = s.recv(4096)
        except socket.timeout:
            continue
        f.write(msg.decode("utf-8", "replace").replace("\n", "\\n") + "\n")
EOF
python3 "$E2E_T/syslogd.py" "$SYSLOG_SOCK" "$SYSLOG_OUT" &
E2E_PIDS+=("$!")
for _ in $(seq 50); do [ -S "$SYSLOG_SOCK" ] && break; sleep 0.1; done
check "test syslog socket listening" test -S "$SYSLOG_SOCK"

start_secpold "$A" || exit 1
start_secpold "$B" --syslog-socket "$SYSLOG_SOCK" || exit 1

check "A: the first ping brings the SA up" in_ns "$A" ping -c 1 -W 5 -s "$SIZE" 192.0.2.2
capture_start "$B" vb wire
in_ns "$A" ping -c "$PINGS" -i 0.01 -W 2 -s "$SIZE" -q 192.0.2.2 >"$E2E_T/ping.out" 2>&1
check "A: $PINGS of $PINGS answered" grep -q "$PINGS packets transmitted, $PINGS received" "$E2E_T/ping.out"
capture_stop wire
check "the last $REPLAYS ESP echo requests sent to B again" \
	in_ns "$A" python3 "$HERE/../agent/inject.py" "$(pcap wire)" 192.0.2.1 192.0.2.2 \
	replay-last "$BYPASS_MARK" "$REPLAYS"
sleep 0.5   # let B's data path take them

# sa_field NS DIRECTION LABEL: a field of the one SA of that direction.
sa_field() {
	sp "$1" dynamic show sa | awk -F': ' -v dir="$2" -v l="$3" '
		function flush() { if (d == dir && (l in f)) print f[l]; delete f; d = "" }
		/^Security Association/ { flush() }
		{ k = $1; sub(/ +$/, "", k); if (NF > 1) f[k] = $2 }
		k == "Direction" { d = $2 }
		END { flush() }'
}

for h in A B; do
	ns=${!h}
	sp "$ns" dynamic show sa >"$E2E_T/$h.sa"
	expect_eq "$h: one SA each way" "$(grep -c '^Security Association' "$E2E_T/$h.sa")" 2
	for dir in outbound inbound; do
		expect_eq "$h: $dir SA packets" "$(sa_field "$ns" "$dir" Packets)" "$PKTS"
		expect_eq "$h: $dir SA bytes" "$(sa_field "$ns" "$dir" Bytes)" "$BYTES"
	done
	expect_eq "$h: outbound SA sequence number" "$(sa_field "$ns" outbound "Sequence Number")" "$PKTS"
	for l in "Confidential Bytes Sent" "Confidential Bytes Received" \
	         "Authenticated Bytes Sent" "Authenticated Bytes Received" \
	         "Transport Bytes Sent" "Transport Bytes Received"; do
		expect_eq "$h: $l" "$(stat "$ns" "$l")" "$BYTES"
	done
	expect_eq "$h: Bytes Sent In Tunnels" "$(stat "$ns" "Bytes Sent In Tunnels")" 0
	expect_eq "$h: Bytes Received In Tunnels" "$(stat "$ns" "Bytes Received In Tunnels")" 0
	expect_eq "$h: Bad SPI Pkts" "$(stat "$ns" "Bad SPI Pkts")" 0
	expect_eq "$h: Pkts not Authenticated" "$(stat "$ns" "Pkts not Authenticated")" 0
	expect_eq "$h: Pkts not Decrypted" "$(stat "$ns" "Pkts not Decrypted")" 0
	expect_eq "$h: Active Associations" "$(stat "$ns" "Active Associations")" 2
	expect_eq "$h: Oakley Quick Mode" "$(stat "$ns" "Oakley Quick Mode")" 1
done
expect_eq "A: Pkts with Replay Detection" "$(stat "$A" "Pkts with Replay Detection")" 0
expect_eq "B: Pkts with Replay Detection" "$(stat "$B" "Pkts with Replay Detection")" "$REPLAYS"
expect_eq "B: the inbound SA counts them" "$(sa_field "$B" inbound replay)" "$REPLAYS"
expect_eq "A: its inbound SA saw no replay" "$(sa_field "$A" inbound replay)" ""

# ---- format=table and format=json: the same numbers ----
# `show stats` as a table (label, value) and as JSON, `show sa` and `show
# qmsas` as JSON: $PKTS, $BYTES, $REPLAYS on B, 0 on A, as above.
table_val() {  # table_val FILE LABEL: the value column of a stats table row
	awk -v l="$2" '{ v = $NF; k = $0; sub(/ +[^ ]+$/, "", k) } k == l { print v; exit }' "$1"
}
for h in A B; do
	ns=${!h}
	[ $h = B ] && replays=$REPLAYS || replays=0
	sp "$ns" dynamic show stats format=table >"$E2E_T/$h.stats.table"
	for l in "Confidential Bytes Sent" "Confidential Bytes Received" \
	         "Authenticated Bytes Sent" "Authenticated Bytes Received" \
	         "Transport Bytes Sent" "Transport Bytes Received"; do
		expect_eq "$h: table: $l" "$(table_val "$E2E_T/$h.stats.table" "$l")" "$BYTES"
	done
	expect_eq "$h: table: Pkts with Replay Detection" \
		"$(table_val "$E2E_T/$h.stats.table" "Pkts with Replay Detection")" "$replays"
	sp "$ns" dynamic show stats format=json >"$E2E_T/$h.stats.json"
	sp "$ns" dynamic show sa format=json >"$E2E_T/$h.sa.json"
	sp "$ns" dynamic show qmsas format=json >"$E2E_T/$h.qmsas.json"
	check "$h: json: the counters, each SA and the quick-mode SA" python3 -c '
import json, sys
st, sa, qm = (json.load(open(f)) for f in sys.argv[1:4])
pkts, nbytes, replays = (int(x) for x in sys.argv[4:7])
q = st["quick_mode"]
for k in ("confidential_bytes_sent", "confidential_bytes_received",
          "authenticated_bytes_sent", "authenticated_bytes_received",
          "transport_bytes_sent", "transport_bytes_received"):
    assert q[k] == nbytes, (k, q[k], nbytes)
assert q["bytes_sent_in_tunnels"] == 0 and q["bytes_received_in_tunnels"] == 0, q
assert q["packets_with_replay_detection"] == replays, q
assert q["bad_spi_packets"] == 0 and q["active_associations"] == 2, q
assert st["data_path"]["drops"]["replay"] == replays, st["data_path"]["drops"]
assert len(sa["sas"]) == 2, sa
for s in sa["sas"]:
    assert s["packets"] == pkts and s["bytes"] == nbytes, s
    want = replays if s["direction"] == "inbound" else 0
    assert s["drops"]["replay"] == want, s
live = [s for s in qm["sas"] if s["negotiated"]]
assert len(live) == 1, qm
s = live[0]
assert (s["packets_in"], s["packets_out"], s["bytes_in"], s["bytes_out"]) == \
    (pkts, pkts, nbytes, nbytes), s
assert s["drops_in"] == replays and s["drops_out"] == 0, s
' "$E2E_T/$h.stats.json" "$E2E_T/$h.sa.json" "$E2E_T/$h.qmsas.json" "$PKTS" "$BYTES" "$replays"
done

# ---- the event log ----
for h in A B; do
	ns=${!h}
	[ $h = A ] && role=Initiator peer=192.0.2.2 || role=Responder peer=192.0.2.1
	sp "$ns" dynamic show events >"$E2E_T/$h.events"
	ev_field() {  # ev_field EVENT LABEL: a field of the first such event
		awk -F': ' -v e="$1" -v l="$2" '
			{ k = $1; sub(/ +$/, "", k) }
			k == "Event" { cur = $2 }
			k == l && cur == e && !done { print $2; done = 1 }' "$E2E_T/$h.events"
	}
	expect_eq "$h: events: ike_sa_up first" "$(awk -F': ' '/^Event /{print $2; exit}' "$E2E_T/$h.events")" ike_sa_up
	expect_eq "$h: ike_sa_up role" "$(ev_field ike_sa_up Role)" "$role"
	expect_eq "$h: ike_sa_up peer" "$(ev_field ike_sa_up Peer)" "$peer"
	expect_eq "$h: child_sa_up rule" "$(ev_field child_sa_up "Rule Name")" peers
	expect_eq "$h: child_sa_up SPI In is the inbound SA's" "$(ev_field child_sa_up "SPI In")" \
		"$(sa_field "$ns" inbound SPI)"
	expect_eq "$h: child_sa_up SPI Out is the outbound SA's" "$(ev_field child_sa_up "SPI Out")" \
		"$(sa_field "$ns" outbound SPI)"
	expect_eq "$h: child_sa_up algorithms" "$(ev_field child_sa_up Algorithms)" aes-128-gcm
	expect_eq "$h: 2 events, no failure" "$(tail -1 "$E2E_T/$h.events")" "2 Event(s)"
	sp "$ns" dynamic show events format=json >"$E2E_T/$h.events.json"
	check "$h: events as JSON" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ev = [e["event"] for e in d["events"]]
assert ev == ["ike_sa_up", "child_sa_up"], ev
c = d["events"][1]
assert c["proto"] == "ESP" and c["mode"] == "transport" and c["rule"] == "peers", c
assert "0x" + c["spi_in"] == sys.argv[2], (c["spi_in"], sys.argv[2])' \
		"$E2E_T/$h.events.json" "$(sa_field "$ns" inbound SPI)"
	sp "$ns" dynamic show events format=table count=1 >"$E2E_T/$h.events.table"
	check "$h: events table, count=1: the newest only" \
		awk 'NR == 3 && $4 == "child_sa_up" { ok = 1 } END { exit !(ok && NR == 3) }' \
		"$E2E_T/$h.events.table"
done
refute "count=0 is refused" sp "$A" dynamic show events count=0
refute "format=xml is refused" sp "$A" dynamic show events format=xml

# ---- syslog: B's events, as lines from secpold[pid] ----
bpid=$(cat "$(host_dir "$B")/pid")
b_in=$(sa_field "$B" inbound SPI)
check "syslog: B's child_sa_up with its SPIs" grep -Eq \
	"^<29>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} secpold\[$bpid\]: event=child_sa_up seq=2 peer=192.0.2.1 local=192.0.2.2 rule=peers role=responder .* proto=ESP mode=transport spi_in=${b_in#0x} " \
	"$SYSLOG_OUT"
check "syslog: B's ike_sa_up" grep -q "secpold\[$bpid\]: event=ike_sa_up seq=1 peer=192.0.2.1 " "$SYSLOG_OUT"
stop_secpold "$A"
for _ in $(seq 50); do grep -q "event=ike_sa_down" "$SYSLOG_OUT" && break; sleep 0.1; done
check "syslog: A stopped, B logs its IKE SA down and why" \
	grep -q "event=ike_sa_down .*reason=\"deleted by the peer\"" "$SYSLOG_OUT"
check "syslog: and the Child SA with it" \
	grep -q "event=child_sa_down .*reason=\"its IKE SA went: deleted by the peer\"" "$SYSLOG_OUT"
expect_eq "syslog: no key material, no failure" "$(grep -c "event=failure\|psk\|counted" "$SYSLOG_OUT")" 0
sp "$B" dynamic show events format=table >"$E2E_T/B.events.after"
check "B: show events has the downs too" grep -q "ike_sa_down" "$E2E_T/B.events.after"

echo "counters: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
