#!/usr/bin/env bash
# ESP packets made by secpol, decrypted by tshark with the same keys: the
# inner packets tshark shows must be exactly the originals, and tshark must
# find every ICV correct. AH packets are checked by ah_verify.py (RFC 4302
# recomputation with Python's hmac), and so are the HMACs of ESP packets.
# usage: tshark_test.sh <pcap_gen> <dir of this script>
set -u
GEN=$1
HERE=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/secpol-tshark.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

"$GEN" "$T" || { echo "pcap_gen failed"; exit 1; }
while IFS='|' read -r name proto mode ipv src dst spi enc enckey auth authkey; do
	if [ "$proto" = ah ]; then
		if python3 "$HERE/icv_verify.py" ah "$T/$name.pcap" "$T/$name.expect" "$auth" "$authkey"; then
			ok
		else
			bad "$name: AH recomputation"
		fi
		continue
	fi
	[ "$enckey" = "0x" ] && enckey=""
	sa="\"$ipv\",\"$src\",\"$dst\",\"$spi\",\"$enc\",\"$enckey\",\"$auth\",\"$authkey\""
	shark() {
		tshark -r "$1" -o esp.enable_encryption_decode:TRUE \
			-o esp.enable_authentication_check:TRUE -o "uat:esp_sa:$sa" "${@:2}" 2>/dev/null
	}
	shark "$T/$name.pcap" -T fields -e esp.contained_data >"$T/got"
	if diff -q "$T/got" "$T/$name.expect" >/dev/null && [ -s "$T/got" ]; then
		ok
	else
		bad "$name: tshark's decrypted packets differ from the originals"
		diff "$T/got" "$T/$name.expect" | head -4 >&2
	fi
	# tshark 4.0 verifies the ICV of only some packets (in our captures: the
	# one with the empty UDP payload, whatever its SA or sequence number); it
	# must call those good and none bad. AEAD tags of the others are checked
	# by our own tests; HMACs are recomputed below.
	shark "$T/$name.pcap" -T fields -e esp.icv_good -e esp.icv_bad >"$T/icv"
	if grep -q '^1' "$T/icv" && ! grep -qP '\t1$' "$T/icv"; then
		ok
	else
		bad "$name: tshark's ICV verdicts: $(tr '\n\t' ' ,' <"$T/icv")"
	fi
	# Every HMAC, recomputed independently.
	case $auth in
	HMAC-SHA-1-96*) h=sha1 ;; HMAC-SHA-256-128*) h=sha256 ;; HMAC-SHA-384-192*) h=sha384 ;;
	HMAC-SHA-512-256*) h=sha512 ;; HMAC-MD5-96*) h=md5 ;; *) h= ;;
	esac
	if [ -n "$h" ]; then
		if python3 "$HERE/icv_verify.py" esp "$T/$name.pcap" "$T/$name.expect" "$h" "$authkey"; then
			ok
		else
			bad "$name: ESP HMAC recomputation"
		fi
	fi
done <"$T/cases.txt"
echo "tshark_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
