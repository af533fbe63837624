#!/usr/bin/env bash
# The metrics endpoint end to end, between two hosts on a veth link:
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# Both require ESP with each other (IKEv2, pre-shared key); A's policy also
# has a rule for 192.0.2.99, a host that never talks, so that rule never has
# an SA. On A the endpoint is turned on with `set config`, on B with
# secpold's --metrics. After 20 pings, with the traffic stopped:
#   - the counters curl reads are those of `show stats format=json`;
#   - the Child SA's two directions are series with its SPIs, and their
#     packets are those of `show qmsas format=json`;
#   - secpol_rule_sa_up is 1 for the negotiated rule, 0 for the idle one;
#   - another path is 404, POST is 405, OpenMetrics on request;
#   - eight clients that never finish their request neither block secpold
#     (`show stats` answers) nor stay: they are dropped at their deadline;
#   - `value=none` closes the endpoint.
#
# usage: metrics_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft ping python3 timeout curl jq

A=mtA.$$ B=mtB.$$
two_hosts "$A" "$B"

for h in A B; do
	peer=$([ $h = A ] && echo 192.0.2.2 || echo 192.0.2.1)
	policy "${!h}" <<EOF2
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filterlist name=idle
static add filter filterlist=idle srcaddr=me dstaddr=192.0.2.99
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]"
static add policy name=lab mmsecmethods="AESGCM128-SHA256-31"
static add rule name=peer policy=lab filterlist=peer filteraction=esp psk="metrics test key"
static add rule name=idle policy=lab filterlist=idle filteraction=esp psk="metrics test key"
static set policy name=lab assign=yes
EOF2
done
start_secpold "$A" || exit 1
start_secpold "$B" --metrics 127.0.0.1:9568 || exit 1

URL=http://127.0.0.1:9567/metrics
scrape() { in_ns "$1" curl -s -m 5 "${@:2}"; }
# metric FILE SERIES: the value of one series (the whole name{labels}).
metric() { awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2); exit }' "$1"; }

# ---- Off by default; on with set config, at once.
refute "off by default" scrape "$A" -f "$URL"
check "set config metrics" sp "$A" dynamic set config property=metrics value=127.0.0.1:9567
expect_eq "show config shows it" \
	"$(sp "$A" dynamic show config format=json | jq -r .metrics)" "127.0.0.1:9567"
check "scrape after set config" scrape "$A" -f "$URL"
refute "a wildcard address is refused" sp "$A" dynamic set config property=metrics value=0.0.0.0:9567
refute "a port is needed" sp "$A" dynamic set config property=metrics value=127.0.0.1
# An address this host does not have: stored, but secpol says it cannot listen.
sp "$A" dynamic set config property=metrics value=198.51.100.7:9567 >"$E2E_T/nolisten" 2>&1
expect_eq "a non-local address: secpol warns" \
	"$(grep -c 'WARNING: the metrics endpoint is off: cannot listen on 198.51.100.7:9567' \
	   "$E2E_T/nolisten")" 1
refute "and nothing listens" scrape "$A" -f "$URL"
check "back to loopback" sp "$A" dynamic set config property=metrics value=127.0.0.1:9567
expect_eq "no warning then" "$(sp "$A" dynamic set config property=metrics \
	value=127.0.0.1:9567 2>&1 | grep -c WARNING)" 0
refute "secpold --metrics checks its value" in_ns "$A" timeout 5 "$SECPOLD" --foreground \
	--metrics 127.0.0.1:0 --store "$E2E_T/x.db" --control "$E2E_T/x.ctl" --state-dir "$E2E_T/x"
expect_eq "and says why" "$(grep -c "not a valid value for '--metrics'" "$E2E_T/out")" 1

# ---- Known traffic, then both views of the same (quiet) service.
check "A pings B 20 times" in_ns "$A" ping -c 20 -i 0.05 -W 3 192.0.2.2
sleep 0.5   # the last replies are counted
# The two reads agree only if nothing moved between them: read the JSON
# before and after the scrape, and retry (bounded) if it moved.
same=no
for _ in 1 2 3; do
	sp "$A" dynamic show stats format=json >"$E2E_T/s1.json"
	scrape "$A" "$URL" >"$E2E_T/m.prom"
	sp "$A" dynamic show stats format=json >"$E2E_T/s2.json"
	if [ "$(jq -S 'del(.taken_at)' "$E2E_T/s1.json")" = "$(jq -S 'del(.taken_at)' "$E2E_T/s2.json")" ]; then
		same=yes
		break
	fi
	sleep 1
done
expect_eq "the counters stood still for a scrape" "$same" yes
for pair in main_mode.oakley_main_mode:secpol_ike_oakley_main_mode_total \
            main_mode.oakley_quick_mode:secpol_ike_oakley_quick_mode_total \
            main_mode.total_acquire:secpol_ike_acquire_total \
            main_mode.total_key_add:secpol_ike_key_add_total \
            main_mode.isadb_list_size:secpol_ike_isadb_list_size \
            quick_mode.active_associations:secpol_ipsec_active_associations \
            quick_mode.key_additions:secpol_ipsec_key_additions_total \
            quick_mode.confidential_bytes_sent:secpol_ipsec_confidential_bytes_sent_total \
            quick_mode.confidential_bytes_received:secpol_ipsec_confidential_bytes_received_total \
            quick_mode.transport_bytes_sent:secpol_ipsec_transport_bytes_sent_total \
            data_path.packets_encrypted:secpol_datapath_packets_encrypted_total \
            data_path.packets_decrypted:secpol_datapath_packets_decrypted_total \
            data_path.queued_for_sa:secpol_datapath_queued_for_sa_total; do
	key=${pair%%:*} series=${pair#*:}
	expect_eq "$series = show stats $key" "$(metric "$E2E_T/m.prom" "$series")" \
		"$(jq ".$key" "$E2E_T/s1.json")"
done
expect_ge "20 pings were encrypted" "$(metric "$E2E_T/m.prom" secpol_datapath_packets_encrypted_total)" 20
expect_ge "and their replies decrypted" \
	"$(metric "$E2E_T/m.prom" secpol_datapath_packets_decrypted_total)" 20
expect_eq "drops by reason as in JSON" \
	"$(metric "$E2E_T/m.prom" 'secpol_datapath_drops_total{reason="bad_spi"}')" \
	"$(jq .data_path.drops.bad_spi "$E2E_T/s1.json")"

# ---- The SA's series: its SPIs, the packets show qmsas counts.
sp "$A" dynamic show qmsas format=json >"$E2E_T/qm.json"
expect_eq "one quick-mode SA" "$(jq '.sas | length' "$E2E_T/qm.json")" 1
for dir in in out; do
	spi=$(printf '0x%08x' "$(jq ".sas[0].spi_$dir" "$E2E_T/qm.json")")
	name=$([ $dir = in ] && echo inbound || echo outbound)
	series="secpol_sa_packets_total{spi=\"$spi\",direction=\"$name\",peer=\"192.0.2.2\",rule=\"peer\",protocol=\"esp\",mode=\"transport\"}"
	expect_eq "$name SA $spi: packets as show qmsas" "$(metric "$E2E_T/m.prom" "$series")" \
		"$(jq ".sas[0].packets_$dir" "$E2E_T/qm.json")"
	expect_ge "$name SA $spi: the 20 pings" "$(metric "$E2E_T/m.prom" "$series")" 20
	expect_eq "$name SA $spi: bytes as show qmsas" \
		"$(metric "$E2E_T/m.prom" "${series/secpol_sa_packets_total/secpol_sa_bytes_total}")" \
		"$(jq ".sas[0].bytes_$dir" "$E2E_T/qm.json")"
done
expect_eq "the negotiated rule is up" \
	"$(metric "$E2E_T/m.prom" 'secpol_rule_sa_up{rule="peer",policy="lab"}')" 1
expect_eq "the idle rule has no SA" \
	"$(metric "$E2E_T/m.prom" 'secpol_rule_sa_up{rule="idle",policy="lab"}')" 0
expect_eq "every family typed once" "$(grep -c '^# TYPE' "$E2E_T/m.prom")" \
	"$(grep '^# TYPE' "$E2E_T/m.prom" | sort -u | wc -l)"

# ---- B's endpoint came from --metrics; it sees the same SA from its side.
scrape "$B" http://127.0.0.1:9568/metrics >"$E2E_T/b.prom"
expect_eq "B (--metrics): the rule is up" \
	"$(metric "$E2E_T/b.prom" 'secpol_rule_sa_up{rule="peer",policy="lab"}')" 1
spi_out=$(printf '0x%08x' "$(jq '.sas[0].spi_out' "$E2E_T/qm.json")")
expect_eq "B's inbound SA is A's outbound one" \
	"$(grep -c "^secpol_sa_packets_total{spi=\"$spi_out\",direction=\"inbound\",peer=\"192.0.2.1\"" "$E2E_T/b.prom")" 1

# ---- HTTP: other paths, methods, OpenMetrics.
code() { scrape "$A" -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "another path is 404" "$(code http://127.0.0.1:9567/)" 404
expect_eq "POST is 405" "$(code -X POST http://127.0.0.1:9567/metrics)" 405
scrape "$A" -D "$E2E_T/om.head" -H 'Accept: application/openmetrics-text; version=1.0.0' "$URL" \
	>"$E2E_T/m.om"
expect_eq "OpenMetrics when asked" \
	"$(grep -ci '^content-type: application/openmetrics-text' "$E2E_T/om.head")" 1
expect_eq "ends with # EOF" "$(tail -1 "$E2E_T/m.om")" "# EOF"
expect_eq "0.0.4 otherwise" "$(grep -c '^# EOF' "$E2E_T/m.prom")" 0

# ---- Clients that never finish: secpold goes on, and drops them in time.
cat >"$E2E_T/stall.py" <<'EOF3'
import socket, sys, time
conns = []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", 9567), timeout=2)
    s.sendall(b"GET /metr")
    conns.append(s)
print("open", flush=True)
start = time.monotonic()
closed = 0
for s in conns:
    s.settimeout(max(0.1, 10 - (time.monotonic() - start)))
    try:
        if s.recv(100) == b"":
            closed += 1
    except OSError:
        pass
print("closed", closed, "after", int(time.monotonic() - start), flush=True)
EOF3
in_ns "$A" timeout 20 python3 "$E2E_T/stall.py" >"$E2E_T/stall.out" 2>&1 &
stall=$!
for _ in $(seq 50); do grep -q open "$E2E_T/stall.out" && break; sleep 0.1; done
check "secpold answers while 8 clients stall" timeout 3 \
	ip netns exec "$A" "$SECPOL" --control "$(host_dir "$A")/ctl" dynamic show stats type=ike
refute "a ninth client is turned away while they hold every slot" \
	scrape "$A" -f -m 2 "$URL"
wait "$stall"
expect_eq "the stalled clients were dropped at their deadline" \
	"$(awk '/^closed/ { print $1, $2 }' "$E2E_T/stall.out")" "closed 8"
check "scrapes work again" scrape "$A" -f "$URL"

# ---- Off again.
check "set config metrics=none" sp "$A" dynamic set config property=metrics value=none
refute "the endpoint is closed" scrape "$A" -f "$URL"
expect_eq "show config shows none" \
	"$(sp "$A" dynamic show config format=json | jq -r .metrics)" none

check "A stops cleanly" stop_secpold "$A"
check "B stops cleanly" stop_secpold "$B"
echo "metrics: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
