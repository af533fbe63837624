#!/usr/bin/env bash
# Puts secpol's ESP throughput beside OpenSSL's own for the same cipher and
# size, on this machine, one after the other:
#   openssl speed -evp <cipher> -bytes 1400    (raw AEAD, no ESP)
#   secpol-bench esp <alg>                     (full ESP tunnel mode, out and in)
# and prints the ratio. usage: bench/esp_vs_openssl.sh [build dir] [seconds]
set -euo pipefail
build=${1:-build}
secs=${2:-3}
for pair in aes-128-gcm:aes-128-gcm chacha20-poly1305:chacha20-poly1305; do
	alg=${pair%%:*}
	evp=${pair##*:}
	# openssl prints thousands of bytes per second in its last line.
	ossl=$(openssl speed -evp "$evp" -bytes 1400 -seconds "$secs" 2>/dev/null | tail -1 | awk '{print $NF}' | tr -d k)
	ossl_gbit=$(awk -v k="$ossl" 'BEGIN { printf "%.2f", k * 1000 * 8 / 1e9 }')
	BENCH_SECONDS=$secs "$build/secpol-bench" esp "$alg" | grep 'size=1400' | while read -r line; do
		dir=$(sed -E 's/.*dir=([a-z]+).*/\1/' <<<"$line")
		ours=$(sed -E 's/.*gbit_s=([0-9.]+).*/\1/' <<<"$line")
		ratio=$(awk -v a="$ours" -v b="$ossl_gbit" 'BEGIN { printf "%.0f", a / b * 100 }')
		echo "esp-vs-openssl alg=$alg size=1400 dir=$dir secpol_gbit_s=$ours openssl_gbit_s=$ossl_gbit ratio_pct=$ratio"
	done
done
