#!/usr/bin/env bash
# IKEv2 handshakes per second: IKE_SA_INIT + IKE_AUTH, each with one Child
# SA, K in flight (default 16), PSK, AES-GCM-128 + PRF-HMAC-SHA-256 + Curve25519
# for the IKE SA and ESP AES-GCM-128 for the Child SA, driven by
# secpol-ike-load (bench/ike_load.c, secpol's own IKE engine as initiator)
# from namespace I against a responder in namespace R, joined by a veth pair:
#
#   I 192.0.2.1 (secpol-ike-load) ---- veth ---- R 192.0.2.2 (responder)
#
#   (a) secpold (transport mode, its data path up: TUN, nftables)
#   (b) strongSwan's charon, kernel-libipsec (tunnel mode, host-to-host
#       selectors, IKE on 4500 after IKE_SA_INIT), tuned for the load:
#       reuse_ikesa = no, unique = never, cookie_threshold / cookie_threshold_ip /
#       block_threshold / init_limit_half_open far above the load, an IKE SA
#       hash table sized for it (ikesa_table_size), logging at level 0.
#       Host-to-host selectors in tunnel mode need kernel-libipsec's
#       allow_peer_ts = yes (else "can't install route ... conflicts with IKE
#       traffic" and TS_UNACCEPTABLE), with IKE/ESP-in-UDP sockets marked
#       (socket-default fwmark) so that they bypass the route to the peer via
#       ipsec0 (kernel-netlink fwmark = !mark on the table-220 rule).
#   (c) with --memory: secpold again, --mem-count (100,000) IKE SAs, each
#       with its Child SA, established and kept (no Deletes), then secpold's
#       VmRSS / VmHWM from /proc/PID/status. The load stops at --mem-timeout
#       seconds (900) and the line says how many were reached. --mem-encap
#       negotiates UDP-encapsulated ESP (faked NAT detection, IKE on 4500)
#       instead of plain transport-mode ESP.
#
# Prints one line per responder, then (c):
#   ike responder=secpold sas=3000 handshakes_per_s=...
#   ike responder=strongswan sas=3000 handshakes_per_s=...
#   ike responder=secpold established=100000 rss_mib=... hwm_mib=... ...
# Both ends share this machine's cores: the numbers are of the pair.
#
# usage: bench/ike_bench.sh [--memory] [--count N] [--inflight K]
#                           [--mem-count N] [--mem-timeout S] [--mem-encap]
#                           [--no-strongswan] [build dir (./build)]
# Run as root. Installs and builds nothing: needs the build dir's secpol,
# secpold and secpol-ike-load, and ip, nft, timeout, strongSwan's charon and
# swanctl (Debian: strongswan-charon strongswan-swanctl libcharon-extra-plugins
# libstrongswan-extra-plugins). IKE_BENCH_KEEP=1 keeps the logs (path on stderr).
set -u
MEMORY=0
COUNT=3000
INFLIGHT=16
MEM_COUNT=100000
MEM_TIMEOUT=900
MEM_ENCAP=
SWAN=1
BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--memory) MEMORY=1 ;;
	--count) COUNT=$2; shift ;;
	--inflight) INFLIGHT=$2; shift ;;
	--mem-count) MEM_COUNT=$2; shift ;;
	--mem-timeout) MEM_TIMEOUT=$2; shift ;;
	--mem-encap) MEM_ENCAP=--encap ;;
	--no-strongswan) SWAN=0 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "ike_bench: unknown option $1" >&2; exit 2 ;;
	*) BUILD=$1 ;;
	esac
	shift
done
if [ "$(id -u)" -ne 0 ]; then
	echo "ike_bench: run as root (network namespaces, TUN, nftables)" >&2
	exit 2
fi
for b in secpol secpold secpol-ike-load; do
	[ -x "$BUILD/$b" ] || { echo "ike_bench: $BUILD/$b is missing (build first)" >&2; exit 2; }
done
for c in ip nft timeout awk; do
	command -v "$c" >/dev/null || { echo "ike_bench: $c is not installed" >&2; exit 2; }
done
SECPOL=$(realpath "$BUILD/secpol")
SECPOLD=$(realpath "$BUILD/secpold")
LOAD=$(realpath "$BUILD/secpol-ike-load")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/agent/lib.sh"
. "$HERE/../tests/ike/swan.sh"
if [ "$SWAN" = 1 ] && ! swan_available; then
	echo "ike_bench: strongSwan (charon, swanctl, kernel-libipsec, curve25519) is not installed;" \
		"--no-strongswan runs secpold alone" >&2
	exit 2
fi
[ -z "${IKE_BENCH_KEEP:-}" ] || { E2E_KEEP=1; SWAN_KEEP=1; echo "ike_bench: logs in $E2E_T" >&2; }
# swan_cleanup first: e2e_cleanup's bare `wait` would wait for a charon forever.
trap 'swan_cleanup; e2e_cleanup' EXIT
trap 'exit 1' INT TERM

PSK="ike bench pre-shared key"
I=ikbI.$$ R=ikbR.$$
new_ns "$I"
new_ns "$R"
link "$I" vi "$R" vr
addr "$I" vi 192.0.2.1/24
addr "$R" vr 192.0.2.2/24

# secpold in R, info logging (not lib.sh's debug): its PID in $(host_dir R)/pid.
secpold_up() {
	local d pid
	d=$(host_dir "$R")
	mkdir -p "$d"
	ip netns exec "$R" "$SECPOLD" --foreground --store "$d/policy.db" --control "$d/ctl" \
		--state-dir "$d" --log-level info 2>>"$d/secpold.log" &
	pid=$!
	E2E_PIDS+=("$pid")
	echo "$pid" >"$d/pid"
	for _ in $(seq 100); do
		sp "$R" dynamic show stats type=ipsec >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "ike_bench: secpold did not become ready:" >&2
	tail -20 "$d/secpold.log" >&2
	return 1
}

# secpold_down [SECONDS]: SIGTERM to R's secpold, a bounded wait (default 30 s),
# then SIGKILL; prints how long it took to stop ("in X s", or "not within T s: killed").
secpold_down() {
	local pid i t=${1:-30} start
	pid=$(cat "$(host_dir "$R")/pid")
	start=$(date +%s.%N)
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "not within $t s: killed"
		return
	fi
	wait "$pid" 2>/dev/null
	awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "in %.1f s\n", b - a }'
}

# load NAME COUNT MODE TIMEOUT [ARGS]: secpol-ike-load from I against R; its
# result line on stdout.
load() {
	local t=$4
	in_ns "$I" timeout -k 5 $((t + 60)) "$LOAD" --peer 192.0.2.2 --local 192.0.2.1 --psk "$PSK" \
		--count "$2" --inflight "$INFLIGHT" --mode "$3" --mm AESGCM128-SHA256-31 \
		--qm 'ESP[AESGCM128]' --timeout "$t" --name "$1" ${5:-}
}
T_RUN=$(( COUNT / 50 + 120 ))

policy "$R" <<EOF
static add filterlist name=initiator
static add filter filterlist=initiator srcaddr=me dstaddr=192.0.2.1
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]"
static add policy name=bench mmsecmethods="AESGCM128-SHA256-31"
static add rule name=initiator policy=bench filterlist=initiator filteraction=esp psk="$PSK"
static set policy name=bench assign=yes
EOF
[ "$fail" -eq 0 ] || exit 1

# ---- (a) secpold
secpold_up || exit 1
load secpold "$COUNT" transport "$T_RUN" || echo "ike_bench: secpold: fewer than $COUNT established" >&2
secpold_down >/dev/null

# ---- (b) strongSwan
if [ "$SWAN" = 1 ]; then
	swan_tmpdir ST
	big=$((COUNT * 10 + 100000))
	SWAN_REUSE_IKESA=no SWAN_COOKIE_THRESHOLD=$big SWAN_COOKIE_THRESHOLD_IP=$big \
	SWAN_BLOCK_THRESHOLD=$big SWAN_INIT_LIMIT_HALF_OPEN=$big SWAN_LOG_DEFAULT=0 SWAN_LOG_IKE=0 \
	SWAN_CHARON_EXTRA="ikesa_table_size = 65536
	ikesa_table_segments = 16
	plugins {
		kernel-libipsec {
			allow_peer_ts = yes
		}
		kernel-netlink {
			fwmark = !0x42
		}
		socket-default {
			fwmark = 0x42
		}
	}" \
		swan_start "$R" "$ST/sw" || exit 1
	swan_conf "$ST/sw/swanctl.conf" name=bench local=192.0.2.2 remote=192.0.2.1 auth=psk \
		psk="$PSK" unique=never mode=tunnel local_ts=dynamic remote_ts=dynamic \
		proposals=aes128gcm16-prfsha256-curve25519 esp_proposals=aes128gcm16 || exit 1
	swan_load "$ST/sw" "$ST/sw/swanctl.conf" || exit 1
	load strongswan "$COUNT" tunnel "$T_RUN" || echo "ike_bench: strongSwan: fewer than $COUNT established" >&2
	swan_stop "$ST/sw"
fi

# ---- (c) memory: secpold holding MEM_COUNT IKE SAs (and their Child SAs)
if [ "$MEMORY" = 1 ]; then
	secpold_up || exit 1
	pid=$(cat "$(host_dir "$R")/pid")
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	t0=$(date +%s)
	load secpold "$MEM_COUNT" transport "$MEM_TIMEOUT" "$MEM_ENCAP" >"$E2E_T/mem.out" ||
		echo "ike_bench: memory: fewer than $MEM_COUNT established" >&2
	secs=$(( $(date +%s) - t0 ))
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	sed 's/^/# /' "$E2E_T/mem.out" >&2
	est=$(stat "$R" "Active IKE SAs")
	children=$(stat "$R" "Active Associations")
	case $children in ''|*[!0-9]*) children="?" ;; *) children=$((children / 2)) ;; esac
	echo "ike responder=secpold established=${est:-?} rss_mib=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"hwm_mib=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"child_sas=$children seconds=$secs${MEM_ENCAP:+ udp_encap=yes} idle_rss_mib=$(awk -v k="$rss0" 'BEGIN { printf "%.1f", k / 1024 }')"
	# SIGTERM deletes every SA (and tells the peer): how long that takes
	# with this many is worth knowing too.
	echo "ike_bench: secpold stopped after SIGTERM $(secpold_down 120)" >&2
fi
exit 0
