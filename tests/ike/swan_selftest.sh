#!/usr/bin/env bash
# The interoperability lab's own test: strongSwan <-> strongSwan through
# tests/ike/swan.sh, so that a failure of a secpold <-> strongSwan test can be
# put on secpold, not on the lab. Two namespaces joined by a veth pair:
#
#   198.51.100.1 (inner, on veth0)                     203.0.113.1 (inner, on veth0)
#   A: 192.0.2.1 veth0 ====== IKEv2, ESP-in-UDP 4500 ====== veth0 192.0.2.2 :B
#
# one charon in each (kernel-libipsec), tunnel mode 198.51.100.0/24 <->
# 203.0.113.0/24, encap=yes, IKE aes128gcm16-prfsha256-curve25519, ESP
# aes128gcm16; authenticated by PSK (IP address identities), then ECDSA and
# RSA certificates from swan_pki_*. Each time: pings both ways across the inner
# subnets, --list-sas shows ESTABLISHED / INSTALLED with the algorithms, and
# dumpcap on A's veth sees ESP in UDP 4500 and no cleartext inner packet. A
# mismatched PSK must not establish.
#
# usage: swan_selftest.sh        77 = skipped (not root)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, TUN, charon)"
	exit 77
fi
# shellcheck source=../agent/lib.sh
. "$HERE/../agent/lib.sh"
# shellcheck source=swan.sh
. "$HERE/swan.sh"
trap 'swan_cleanup; e2e_cleanup' EXIT
if ! swan_available || ! command -v tshark >/dev/null; then
	echo "FAIL: strongSwan / openssl / tshark missing: run scripts/deps.sh"
	exit 1
fi
started=$(date +%s.%N)

A=spswan-$$-a
B=spswan-$$-b
new_ns "$A"
new_ns "$B"
link "$A" veth0 "$B" veth0
addr "$A" veth0 192.0.2.1/24
addr "$A" veth0 198.51.100.1/24
addr "$B" veth0 192.0.2.2/24
addr "$B" veth0 203.0.113.1/24

swan_tmpdir T
check "charon starts in A" swan_start "$A" "$T/a"
check "charon starts in B" swan_start "$B" "$T/b"
check "A's charon PID is charon itself" test "$(cat "/proc/$(swan_pid "$T/a")/comm")" = charon
check "two charons, two PIDs" test "$(swan_pid "$T/a")" != "$(swan_pid "$T/b")"

# conf_pair NAME ARGS_A -- ARGS_B: both ends' swanctl.conf for connection NAME
# (the common part here, the authentication from the arguments), loaded.
conf_pair() {
	local n=$1 a=() b=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	swan_conf "$T/a/swanctl.conf" name="$n" local=192.0.2.1 remote=192.0.2.2 \
		local_ts=198.51.100.0/24 remote_ts=203.0.113.0/24 \
		proposals=aes128gcm16-prfsha256-curve25519 esp_proposals=aes128gcm16 encap=yes "${a[@]}" &&
	swan_conf "$T/b/swanctl.conf" name="$n" local=192.0.2.2 remote=192.0.2.1 \
		local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
		proposals=aes128gcm16-prfsha256-curve25519 esp_proposals=aes128gcm16 encap=yes "${b[@]}" &&
	swan_load "$T/a" "$T/a/swanctl.conf" && swan_load "$T/b" "$T/b/swanctl.conf"
}

# tunnel NAME AUTHLOG: brings up NAME from A, checks it end to end, tears it
# down. AUTHLOG: what B's log must say about A's authentication.
tunnel() {
	local n=$1 authlog=$2 p
	capture_start "$A" veth0 "$n"
	check "$n: A initiates, Child SA installed" swan_initiate "$T/a" "$n" 15
	check "$n: ping A -> B across the tunnel" \
		in_ns "$A" ping -c 5 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1
	check "$n: ping B -> A across the tunnel" \
		in_ns "$B" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1
	capture_stop "$n"
	for p in a b; do
		check "$n: $p: IKE SA ESTABLISHED, AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519" \
			swan_assert_ike "$T/$p" "$n" AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519 "[4500]"
		check "$n: $p: Child SA INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128" \
			swan_assert_child "$T/$p" "$n" TUNNEL-in-UDP ESP:AES_GCM_16-128
	done
	expect_ge "$n: A's Child SA sent 8 packets" "$(swan_child_counter "$T/a" "$n" packets-out)" 8
	expect_ge "$n: A's Child SA received 8 packets" "$(swan_child_counter "$T/a" "$n" packets-in)" 8
	check "$n: SPIs readable" swan_spis "$T/a" "$n"
	check "$n: B's log: $authlog" grep -qF "$authlog" "$(swan_log "$T/b")"

	# the wire, in one tshark pass: per frame its protocols, UDP ports, addresses
	shark "$(pcap "$n")" -T fields -E separator=' ' \
		-e frame.protocols -e udp.srcport -e udp.dstport -e ip.src -e ip.dst >"$E2E_T/$n.txt"
	expect_ge "$n: ESP in UDP 4500 on the wire (both ways)" \
		"$(awk '$1 ~ /:udpencap:esp$/ && $2 == 4500 && $3 == 4500' "$E2E_T/$n.txt" | wc -l)" 16
	expect_ge "$n: IKE_SA_INIT on UDP 500" \
		"$(awk '$1 ~ /:isakmp$/ && $2 == 500 && $3 == 500' "$E2E_T/$n.txt" | wc -l)" 2
	expect_ge "$n: IKE_AUTH moved to UDP 4500" \
		"$(awk '$1 ~ /:udpencap:isakmp$/ && $2 == 4500' "$E2E_T/$n.txt" | wc -l)" 2
	expect_eq "$n: no cleartext ICMP between the inner subnets" \
		"$(awk '$1 ~ /icmp/ && /(198\.51\.100|203\.0\.113)\./' "$E2E_T/$n.txt" | wc -l)" 0
	expect_eq "$n: no inner address on the wire at all" \
		"$(grep -cE '(198\.51\.100|203\.0\.113)\.' "$E2E_T/$n.txt")" 0

	check "$n: A terminates" swan_terminate "$T/a" "$n"
	check "$n: B has no IKE SA left" wait_no_ike "$T/b"
	refute "$n: no tunnel once terminated" \
		in_ns "$A" ping -c 1 -W 1 -I 198.51.100.1 203.0.113.1
}

wait_no_ike() {   # bounded: 25 x 0.2 s
	for _ in $(seq 25); do [ "$(swan_count_ike "$1")" -eq 0 ] && return 0; sleep 0.2; done
	return 1
}

# --- PSK, Windows-style IP address identities ------------------------------
check "psk: load" conf_pair psk auth=psk psk='lab PSK: "quoted" & $pecial' \
	-- auth=psk psk='lab PSK: "quoted" & $pecial'
tunnel psk "authentication of '192.0.2.1' with pre-shared key successful"

# A PSK that differs must fail (AUTHENTICATION_FAILED, no SA either side).
check "badpsk: load" conf_pair badpsk auth=psk psk=right -- auth=psk psk=wrong
refute "badpsk: initiate fails" swan_initiate "$T/a" badpsk 10
expect_eq "badpsk: A has no IKE SA" "$(swan_count_ike "$T/a")" 0
expect_eq "badpsk: B has no IKE SA" "$(swan_count_ike "$T/b")" 0

# --- certificates: ECDSA P-256, then RSA 2048 (after restarting both charons)
for alg in ecdsa rsa; do
	P=$T/pki-$alg
	check "$alg: CA" swan_pki_ca "$P" "$alg"
	check "$alg: host cert a" swan_pki_host "$P" a 192.0.2.1 198.51.100.1
	check "$alg: host cert b" swan_pki_host "$P" b 192.0.2.2 203.0.113.1
	check "$alg: key is PKCS#8 PEM" grep -qx -- "-----BEGIN PRIVATE KEY-----" "$P/a.key"
	check "$alg: cert verifies against the CA" openssl verify -CAfile "$P/ca.pem" "$P/a.pem"
	check "$alg: p12 opens with \$SWAN_P12_PASS" \
		openssl pkcs12 -in "$P/a.p12" -passin "pass:$SWAN_P12_PASS" -noout
	refute "$alg: p12 refuses a wrong password" \
		openssl pkcs12 -in "$P/a.p12" -passin pass:wrong -noout
done

check "ecdsa: load" conf_pair ecdsa auth=pubkey cert="$T/pki-ecdsa/a.pem" key="$T/pki-ecdsa/a.key" \
	ca="$T/pki-ecdsa/ca.pem" -- auth=pubkey cert="$T/pki-ecdsa/b.pem" key="$T/pki-ecdsa/b.key" \
	ca="$T/pki-ecdsa/ca.pem"
tunnel ecdsa "authentication of '192.0.2.1' with ECDSA_WITH_SHA256_DER successful"

check "A stops" swan_stop "$T/a"
check "B stops" swan_stop "$T/b"
check "A is gone" test ! -e "/proc/$(cat "$T/a/charon.pid" 2>/dev/null || echo none)"
check "swan_stop twice is harmless" swan_stop "$T/a"
check "charon restarts in A" swan_start "$A" "$T/a"
check "charon restarts in B" swan_start "$B" "$T/b"
check "rsa: load" conf_pair rsa auth=pubkey cert="$T/pki-rsa/a.pem" key="$T/pki-rsa/a.key" \
	ca="$T/pki-rsa/ca.pem" -- auth=pubkey cert="$T/pki-rsa/b.pem" key="$T/pki-rsa/b.key" \
	ca="$T/pki-rsa/ca.pem"
tunnel rsa "authentication of '192.0.2.1' with RSA_EMSA_PKCS1_SHA2_256 successful"

# B took 3 IKE_SA_INITs as responder (psk, badpsk, ecdsa) before its restart
# and 1 since; nothing it received was invalid.
expect_eq "B: IKE_SA_INIT requests since the restart (counters)" "$(swan_counter "$T/b" ike-init-in-req)" 1
expect_eq "B: IKE_AUTH responses for rsa (counters)" "$(swan_counter "$T/b" ike-auth-out-resp rsa)" 1
expect_eq "B: no invalid IKE message (counters)" "$(swan_counter "$T/b" invalid)" 0

if [ "$fail" -ne 0 ]; then
	echo "--- A's charon.log (tail)" >&2; tail -40 "$(swan_log "$T/a")" >&2
	echo "--- B's charon.log (tail)" >&2; tail -40 "$(swan_log "$T/b")" >&2
fi
echo "swan_selftest: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
echo "swan_selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
