#!/usr/bin/env bash
# secpold and strongSwan authenticate each other with X.509 certificates
# (RFC 7427 digital signatures), tunnel mode, in network namespaces:
#
#   A: secpold   192.0.2.1 (veth), subnet 198.51.100.0/24 (198.51.100.1)
#   B: charon    192.0.2.2 (veth), subnet 203.0.113.0/24  (203.0.113.1)
#
# The topology and the Windows pair of tunnel rules are those of
# swan_interop_test.sh; here the rules authenticate with rootca="<CA DN>"
# and A's machine certificate store (SECPOL_CERTS, one directory per case)
# holds A's certificate, its key and the root CA, imported with
# `secpol cert import`. Both sides identify themselves by their IP
# addresses, which their certificates' subjectAltNames vouch for. PKIs come
# from swan_pki_ca / swan_pki_host (openssl CLI).
#   1. ECDSA P-256: secpold initiates (a ping from its subnet), strongSwan
#      responds; AES-GCM-128 / Curve25519. A's certificate came as PKCS#12.
#   2. RSA-2048: strongSwan initiates, secpold responds; AES-CBC-256 +
#      HMAC-SHA-256 / MODP-2048. strongSwan's IKE_AUTH request (~1450 bytes)
#      only crosses as RFC 7383 fragments (charon's fragment_size 1280), and
#      no IKE datagram on the wire, secpold's included, exceeds 1280 bytes.
#      A's certificate and key came as PEM.
#   3. strongSwan presents a certificate of another CA, which A's store does
#      not hold: AUTHENTICATION_FAILED, and `secpol dynamic show failures`
#      says IKE_AUTH failed on an untrusted chain.
#   4. (with 1 and 2) `secpol cert show` lists A's certificate with its key
#      type, its private key and a chain that verifies (and FAILED before the
#      root was imported); the store's key file is mode 0600, the directory
#      0700, and no private key is ever printed.
# Cases 1 and 2: ping and a TCP transfer both ways, `swanctl --list-sas`
# ESTABLISHED / INSTALLED with the algorithms, strongSwan's log names the
# signature scheme it verified, secpold's `show ikesas` the SA, and tshark
# sees only ESP in UDP between the gateways.
#
# Every wait is bounded; the whole test stays under ~90 s even when
# negotiations fail.
#
# usage: swan_cert_test.sh <secpol> <secpold>    77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, TUN, nftables)"
	exit 77
fi
for c in ip nft tshark dumpcap ping python3 timeout openssl; do
	command -v "$c" >/dev/null || { echo "FAIL: $c is not installed"; exit 1; }
done
# shellcheck source=../agent/lib.sh
. "$HERE/../agent/lib.sh"
# shellcheck source=swan.sh
. "$HERE/swan.sh"
trap 'swan_cleanup; e2e_cleanup' EXIT
swan_available || { echo "FAIL: strongSwan is not installed (scripts/deps.sh)"; exit 1; }
started=$(date +%s)

A=scA.$$ B=scB.$$
new_ns "$A"
new_ns "$B"
link "$A" va "$B" vb
addr "$A" va 192.0.2.1/24
addr "$A" va 198.51.100.1/24
addr "$B" vb 192.0.2.2/24
addr "$B" vb 203.0.113.1/24
# A routes B's subnet to B, as a gateway would; the steering then takes
# the traffic into the tunnel (strongSwan installs its own route, table 220).
in_ns "$A" ip route add 203.0.113.0/24 via 192.0.2.2
swan_tmpdir T

# ---- the PKIs: A's and B's certificates carry their gateway and subnet
# addresses as IP SANs. A third CA, never imported on A, signs a rogue B.
for alg in ecdsa rsa; do
	P=$T/pki-$alg
	{ swan_pki_ca "$P" "$alg" && swan_pki_host "$P" a 192.0.2.1 198.51.100.1 &&
		swan_pki_host "$P" b 192.0.2.2 203.0.113.1; } || { echo "FAIL: $alg test PKI"; exit 1; }
done
{ swan_pki_ca "$T/pki-rogue" ecdsa "secpol rogue CA" &&
	swan_pki_host "$T/pki-rogue" b 192.0.2.2 203.0.113.1; } || { echo "FAIL: rogue test PKI"; exit 1; }
# The root CA DNs for rootca=: the ECDSA rule spells it the RFC 4514 way
# (reversed, as openssl prints it), the RSA rule the Windows way `cert show`
# prints (C=US, O=secpol test, CN=...); secpold compares DNs as names.
ROOT_ECDSA=$(openssl x509 -in "$T/pki-ecdsa/ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
ROOT_RSA="C=US, O=secpol test, CN=secpol test CA (rsa)"
expect_eq "the ECDSA root's DN (RFC 2253)" "$ROOT_ECDSA" "CN=secpol test CA (ecdsa),O=secpol test,C=US"

# secpold_policy MM QM ROOTCA: A's policy, a fresh store for each case.
secpold_policy() {
	rm -f "$(host_dir "$A")"/policy.db*
	policy "$A" <<EOF
static add filterlist name=outbound
static add filter filterlist=outbound srcaddr=198.51.100.0 srcmask=24 dstaddr=203.0.113.0 dstmask=24 mirrored=no
static add filterlist name=inbound
static add filter filterlist=inbound srcaddr=203.0.113.0 srcmask=24 dstaddr=198.51.100.0 dstmask=24 mirrored=no
static add filteraction name=esp action=negotiate qmsecmethods="$2"
static add policy name=site mmsecmethods="$1"
static add rule name=to-b policy=site filterlist=outbound filteraction=esp tunnel=192.0.2.2 rootca="$3"
static add rule name=from-b policy=site filterlist=inbound filteraction=esp tunnel=192.0.2.1 rootca="$3"
static set policy name=site assign=yes
EOF
}

# certs_dir NAME: one machine certificate store of A per case. SECPOL_CERTS
# is exported, so `sp ... cert` and the secpold that start_secpold runs
# (ip netns exec keeps the environment, and $! stays secpold's PID) use it.
use_certs() {
	SECPOL_CERTS="$(host_dir "$A")/certs-$1"
	export SECPOL_CERTS
}

# cert_block SUBJECT: the `secpol cert show` paragraph of that subject.
cert_block() {
	awk -v s="$1" 'BEGIN { RS = "" } { n = split($0, l, "\n"); for (i = 1; i <= n; i++)
		if (l[i] ~ /^Subject *: / && substr(l[i], index(l[i], ": ") + 2) == s) { print; exit } }' \
		"$E2E_T/certshow"
}

# store_checks CASE KEYTYPE ROOT: case 4 on the current store (A's
# certificate CN=a with its key, chain OK to ROOT; files 0600, dir 0700).
store_checks() {
	local c=$1 kt=$2 root=$3 f n
	sp "$A" cert show >"$E2E_T/certshow" 2>&1 || bad "$c: secpol cert show failed"
	cert_block "C=US, O=secpol test, CN=a" >"$E2E_T/certa"
	check "$c: cert show lists A's certificate" grep -q "^Subject *: C=US, O=secpol test, CN=a$" "$E2E_T/certa"
	check "$c: ... its issuer" grep -q "^Issuer *: $root$" "$E2E_T/certa"
	check "$c: ... key type $kt" grep -q "^Key Type *: $kt$" "$E2E_T/certa"
	check "$c: ... with its private key" grep -q "^Private Key *: YES$" "$E2E_T/certa"
	check "$c: ... not a CA" grep -q "^CA *: NO$" "$E2E_T/certa"
	check "$c: ... chain verifies to the root" grep -q "^Chain *: OK (root: $root)$" "$E2E_T/certa"
	cert_block "$root" >"$E2E_T/certca"
	check "$c: cert show lists the root CA" grep -q "^CA *: YES (root)$" "$E2E_T/certca"
	check "$c: ... its chain OK" grep -q "^Chain *: OK" "$E2E_T/certca"
	refute "$c: cert show prints no PEM (no private key)" grep -qE -- "-----(BEGIN|END)" "$E2E_T/certshow"
	n=0
	for f in "$SECPOL_CERTS"/*.key; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		expect_eq "$c: key file $(basename "$f") mode" "$(command stat -c %a "$f")" 600
		check "$c: key file is unencrypted PKCS#8 PEM" grep -qx -- "-----BEGIN PRIVATE KEY-----" "$f"
	done
	expect_eq "$c: one private key in the store" "$n" 1
	for f in "$SECPOL_CERTS"/*.crt; do
		expect_eq "$c: $(basename "$f") mode" "$(command stat -c %a "$f")" 600
	done
	expect_eq "$c: store directory mode" "$(command stat -c %a "$SECPOL_CERTS")" 700
}

# swan_side IKE ESP PKI_OWN PKI_CA: B's connection `t`, its own certificate
# and key from PKI_OWN, A's CA from PKI_CA; charon restarted (a fresh log).
swan_side() {
	swan_stop "$T/sw"
	swan_start "$B" "$T/sw" || { bad "charon starts in B"; return 1; }
	swan_conf "$T/sw/swanctl.conf" name=t local=192.0.2.2 remote=192.0.2.1 auth=pubkey \
		cert="$3/b.pem" key="$3/b.key" ca="$4/ca.pem" \
		proposals="$1" esp_proposals="$2" local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
		mode=tunnel encap=yes start_action=none &&
		swan_load "$T/sw" "$T/sw/swanctl.conf" || { bad "load swanctl.conf"; return 1; }
}

# traffic CASE: ping both ways between the subnets; if the tunnel is up,
# 256 KiB over TCP each way (all bounded: a failing case costs seconds).
traffic() {
	local up=0 dir src dst srv_ns cli_ns srv
	if in_ns "$A" ping -c 3 -W 3 -i 0.3 -I 198.51.100.1 203.0.113.1 >"$E2E_T/ping.ab" 2>&1; then
		ok; up=1
	else
		bad "$1: ping A -> B subnet"
	fi
	if in_ns "$B" ping -c 3 -W 2 -i 0.3 -I 203.0.113.1 198.51.100.1 >"$E2E_T/ping.ba" 2>&1; then
		ok; up=1
	else
		bad "$1: ping B -> A subnet"
	fi
	if [ $up = 0 ]; then
		bad "$1: TCP both ways (skipped: no tunnel)"
		return
	fi
	for dir in AB BA; do
		if [ $dir = AB ]; then srv_ns=$B cli_ns=$A src=198.51.100.1 dst=203.0.113.1
		else srv_ns=$A cli_ns=$B src=203.0.113.1 dst=198.51.100.1; fi
		in_ns "$srv_ns" timeout 12 python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); c.settimeout(10); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())' "$dst" >"$E2E_T/tcp.$dir" 2>&1 &
		srv=$!
		sleep 0.4
		in_ns "$cli_ns" timeout 12 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[2], 5001), timeout=10, source_address=(sys.argv[1], 0))
s.sendall(bytes(range(256)) * 1024); s.close()' "$src" "$dst" || bad "$1: TCP client $dir"
		wait "$srv"
		expect_eq "$1: TCP $dir: 256 KiB intact" "$(cat "$E2E_T/tcp.$dir")" \
			"$(python3 -c 'import hashlib; print(262144, hashlib.sha256(bytes(range(256)) * 1024).hexdigest())')"
	done
}

# wire NAME: only ESP in UDP between the gateways, IKE_AUTH on 4500, and no
# IKE datagram over 1280 bytes (certificate-sized messages go as RFC 7383
# fragments). Leaves the IKE frames in $E2E_T/NAME.ike: src, ip.len,
# udp.srcport, exchange type, next payloads.
wire() {
	capture_stop "$1"
	local W big
	W=$(pcap "$1")
	shark "$W" -Y isakmp -T fields -e ip.src -e ip.len -e udp.srcport -e isakmp.exchangetype \
		-e isakmp.nextpayload >"$E2E_T/$1.ike"
	expect_ge "$1: IKE_SA_INIT on 500" "$(awk '$3 == 500 && $4 == 34' "$E2E_T/$1.ike" | wc -l)" 2
	expect_ge "$1: IKE_AUTH on 4500" "$(awk '$3 == 4500 && $4 == 35' "$E2E_T/$1.ike" | wc -l)" 2
	big=$(awk '$2 > 1280' "$E2E_T/$1.ike")
	expect_eq "$1: no IKE datagram over 1280 bytes (src, ip.len, port, exchange, payloads)" "$big" ""
	expect_ge "$1: ESP in UDP 4500 from A" "$(shark "$W" -Y 'udp.srcport == 4500 && udp.dstport == 4500 && esp && ip.src == 192.0.2.1' | wc -l)" 3
	expect_ge "$1: ESP in UDP 4500 from B" "$(shark "$W" -Y 'udp.srcport == 4500 && esp && ip.src == 192.0.2.2' | wc -l)" 3
	expect_eq "$1: no inner address in clear" "$(shark "$W" -Y 'ip.addr == 198.51.100.0/24 || ip.addr == 203.0.113.0/24' | wc -l)" 0
}

# diag CASE FAIL_BEFORE: when the case failed, what both sides said.
diag() {
	[ "$fail" -gt "$2" ] || return 0
	{
		echo "--- $1: secpol dynamic show failures"
		sp "$A" dynamic show failures 2>&1 | tail -5
		echo "--- $1: secpold.log (tail)"
		tail -15 "$(host_dir "$A")/secpold.log" 2>/dev/null
		echo "--- $1: charon.log (IKE lines, tail)"
		grep -E '\[(IKE|ENC|CFG)\]' "$(swan_log "$T/sw")" 2>/dev/null | tail -25
	} | sed 's/^/    /' >&2
}

SW_LOG() { swan_log "$T/sw"; }

# ---- 1 (+4). ECDSA P-256; secpold initiates: AES-GCM-128, Curve25519.
f0=$fail
P=$T/pki-ecdsa
use_certs ecdsa
check "4 ecdsa: import A's PKCS#12 (key, certificate, CA)" \
	sp "$A" cert import file="$P/a.p12" password="$SWAN_P12_PASS"
check "4 ecdsa: import the root CA (PEM; already there from the .p12)" sp "$A" cert import file="$P/ca.pem"
store_checks "4 ecdsa" ECDSA-P256 "C=US, O=secpol test, CN=secpol test CA (ecdsa)"
secpold_policy "AESGCM128-SHA256-31" "ESP[AESGCM128]" "$ROOT_ECDSA"
start_secpold "$A" || exit 1
swan_side aes128gcm16-prfsha256-curve25519 aes128gcm16 "$P" "$P"
capture_start "$B" vb wire1
traffic "1 ecdsa, secpold initiator"
check "1: strongSwan: IKE SA established (AES-GCM-128, Curve25519)" \
	swan_assert_ike "$T/sw" t AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519
check "1: strongSwan: Child SA installed, tunnel in UDP, AES-GCM-128" \
	swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_GCM_16-128
check "1: strongSwan verified secpold's ECDSA signature (RFC 7427)" \
	grep -qF "authentication of '192.0.2.1' with ECDSA_WITH_SHA256_DER successful" "$(SW_LOG)"
check "1: strongSwan trusted secpold's certificate through the ECDSA root" \
	grep -qF 'using trusted ca certificate "C=US, O=secpol test, CN=secpol test CA (ecdsa)"' "$(SW_LOG)"
sp "$A" dynamic show ikesas >"$E2E_T/a1" 2>&1
check "1: secpold: IKE SA established" grep -q "State *: established" "$E2E_T/a1"
check "1: secpold: initiator for rule to-b" grep -q "Rule *: to-b" "$E2E_T/a1"
check "1: secpold: initiator" grep -q "Role *: initiator" "$E2E_T/a1"
check "1: secpold: authenticated strongSwan by its ECDSA certificate" \
	grep -q "Peer authenticated by: certificate 'C=US, O=secpol test, CN=b' (ECDSA-P256)" "$E2E_T/a1"
check "1: secpold: UDP-encapsulated Child SA in tunnel mode" \
	grep -q "Child SA ESP in .* tunnel aes-128-gcm UDP-encap" "$E2E_T/a1"
wire wire1
diag "case 1" "$f0"
stop_secpold "$A"

# ---- 2 (+4). RSA-2048; strongSwan initiates: AES-CBC-256 + HMAC-SHA-256,
# MODP-2048; its IKE_AUTH request is fragmented.
f0=$fail
P=$T/pki-rsa
use_certs rsa
cat "$P/a.pem" "$P/a.key" >"$T/a-rsa-bundle.pem"
check "4 rsa: import A's certificate and key (PEM)" sp "$A" cert import file="$T/a-rsa-bundle.pem"
sp "$A" cert show >"$E2E_T/certshow" 2>&1
cert_block "C=US, O=secpol test, CN=a" >"$E2E_T/certa"
check "4 rsa: without the root, A's chain does not verify" grep -q "^Chain *: FAILED" "$E2E_T/certa"
check "4 rsa: import the root CA (PEM)" sp "$A" cert import file="$P/ca.pem"
store_checks "4 rsa" RSA-2048 "$ROOT_RSA"
secpold_policy "AES256-SHA256-14" "ESP[AES256,SHA256]" "$ROOT_RSA"
start_secpold "$A" || exit 1
swan_side aes256-sha256-modp2048 aes256-sha256 "$P" "$P"
capture_start "$B" vb wire2
check "2: strongSwan initiates and the Child SA is installed" swan_initiate "$T/sw" t 15
traffic "2 rsa, secpold responder"
check "2: strongSwan: IKE SA (AES-CBC-256, HMAC-SHA-256, MODP-2048)" \
	swan_assert_ike "$T/sw" t AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
check "2: strongSwan: Child SA AES-CBC-256 + HMAC-SHA-256" \
	swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_CBC-256/HMAC_SHA2_256_128
check "2: strongSwan split its IKE_AUTH request (RFC 7383)" \
	grep -qE "splitting IKE message \([0-9]+ bytes\) into [0-9]+ fragments" "$(SW_LOG)"
check "2: strongSwan sent IKE_AUTH fragment 1 of 2" \
	grep -qF "generating IKE_AUTH request 1 [ EF(1/2) ]" "$(SW_LOG)"
check "2: strongSwan reassembled secpold's IKE_AUTH response from fragments" \
	grep -qE "received fragment #[0-9]+ of [0-9]+, reassembled fragmented IKE message" "$(SW_LOG)"
# RFC 7427 lets the signer pick any hash both announced: strongSwan offers
# SHA-256/384/512 and logs the scheme it verified.
check "2: strongSwan verified secpold's RSA signature (RFC 7427, PKCS#1 v1.5, SHA-2)" \
	grep -qE "authentication of '192\.0\.2\.1' with RSA_EMSA_PKCS1_SHA2_(256|384|512) successful" "$(SW_LOG)"
check "2: strongSwan trusted secpold's certificate through the RSA root" \
	grep -qF 'using trusted ca certificate "C=US, O=secpol test, CN=secpol test CA (rsa)"' "$(SW_LOG)"
sp "$A" dynamic show ikesas >"$E2E_T/a2" 2>&1
check "2: secpold: IKE SA established" grep -q "State *: established" "$E2E_T/a2"
check "2: secpold: responder for rule to-b" grep -q "Rule *: to-b" "$E2E_T/a2"
check "2: secpold: responder" grep -q "Role *: responder" "$E2E_T/a2"
check "2: secpold: authenticated strongSwan by its RSA certificate" \
	grep -q "Peer authenticated by: certificate 'C=US, O=secpol test, CN=b' (RSA-2048)" "$E2E_T/a2"
wire wire2
expect_ge "2: the wire: strongSwan's IKE_AUTH as encrypted fragments (SKF)" \
	"$(awk '$1 == "192.0.2.2" && $4 == 35 && $5 ~ /^53(,|$)/' "$E2E_T/wire2.ike" | wc -l)" 2
diag "case 2" "$f0"

# ---- 3. strongSwan's certificate comes from a CA A's store lacks: refused.
f0=$fail
swan_terminate "$T/sw" t 10
swan_side aes256-sha256-modp2048 aes256-sha256 "$T/pki-rogue" "$T/pki-rsa"
refute "3: strongSwan with an untrusted certificate gets no Child SA" swan_initiate "$T/sw" t 10
check "3: strongSwan was told AUTHENTICATION_FAILED" grep -qF "N(AUTH_FAILED)" "$(SW_LOG)"
sp "$A" dynamic show failures >"$E2E_T/a3" 2>&1
grep "peer 192.0.2.2.* step IKE_AUTH: " "$E2E_T/a3" >"$E2E_T/a3.auth"
check "3: secpold: an IKE_AUTH failure from 192.0.2.2" test -s "$E2E_T/a3.auth"
check "3: secpold: ... because the chain is untrusted" grep -qiE "untrusted|secpol rogue CA" "$E2E_T/a3.auth"
refute "3: no traffic without an SA" in_ns "$B" ping -c 1 -W 1 -I 203.0.113.1 198.51.100.1
check "3: secpold still runs" kill -0 "$(cat "$(host_dir "$A")/pid")"
diag "case 3" "$f0"

echo "strongSwan certificates: $(($(date +%s) - started)) s"
echo "strongSwan certificates: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
