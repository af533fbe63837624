#!/usr/bin/env bash
# Puts secpol's ESP throughput beside OpenSSL's own for the same cipher and
# size, on this machine, one after the other:
#   openssl speed -evp <cipher> -bytes 1400    (raw AEAD, no ESP)
#   secpol-aead-ceiling (mode packet)          (raw EVP, what one packet needs)
#   secpol-bench esp <alg>                     (full ESP tunnel mode, out and in)
# and prints the ratios. All three report CPU time (openssl speed: user time).
#
# `openssl speed -evp` times one endless message: EVP_EncryptUpdate of 1400
# octets, over and over, on a context keyed and given a nonce once (OpenSSL
# 3.0 apps/speed.c, EVP_Update_loop; `-aead` does not change that for
# ChaCha20-Poly1305 in 3.0). An ESP packet is a message of its own: a nonce,
# AAD, the payload, a tag. The ceiling line is OpenSSL doing only that, with
# nothing of secpol around it; see bench/README.md.
# usage: bench/esp_vs_openssl.sh [build dir] [seconds]
set -euo pipefail
build=${1:-build}
secs=${2:-3}
for alg in aes-128-gcm chacha20-poly1305; do
	# openssl prints thousands of bytes per second in its last line.
	ossl=$(openssl speed -evp "$alg" -bytes 1400 -seconds "$secs" 2>/dev/null | tail -1 | awk '{print $NF}' | tr -d k)
	ossl_gbit=$(awk -v k="$ossl" 'BEGIN { printf "%.2f", k * 1000 * 8 / 1e9 }')
	ceiling=$(AEAD_ALG=$alg AEAD_MODE=packet "$build/secpol-aead-ceiling" 1400 "$secs")
	BENCH_SECONDS=$secs "$build/secpol-bench" esp "$alg" | grep 'size=1400' | while read -r line; do
		dir=$(sed -E 's/.*dir=([a-z]+).*/\1/' <<<"$line")
		ours=$(sed -E 's/.*gbit_s=([0-9.]+).*/\1/' <<<"$line")
		ceil=$(grep "dir=$dir " <<<"$ceiling" | sed -E 's/.*gbit_s=([0-9.]+).*/\1/')
		ratio=$(awk -v a="$ours" -v b="$ossl_gbit" 'BEGIN { printf "%.0f", a / b * 100 }')
		echo "esp-vs-openssl alg=$alg size=1400 dir=$dir secpol_gbit_s=$ours openssl_gbit_s=$ossl_gbit ratio_pct=$ratio"
		ratio=$(awk -v a="$ceil" -v b="$ossl_gbit" 'BEGIN { printf "%.0f", a / b * 100 }')
		echo "ceiling-vs-openssl alg=$alg size=1400 dir=$dir ceiling_gbit_s=$ceil openssl_gbit_s=$ossl_gbit ratio_pct=$ratio"
		ratio=$(awk -v a="$ours" -v b="$ceil" 'BEGIN { printf "%.0f", a / b * 100 }')
		echo "esp-vs-ceiling alg=$alg size=1400 dir=$dir secpol_gbit_s=$ours ceiling_gbit_s=$ceil ratio_pct=$ratio"
	done
done
