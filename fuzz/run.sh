#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ and runs each for N seconds.
#
#   fuzz/run.sh [SECONDS]          default 60 per target
#
# Environment:
#   FUZZ_TARGETS="fuzz_import ..."  run only these targets
#   FUZZ_ARGS="-jobs=2 ..."         extra libFuzzer options
#   SECPOL_FUZZ_TMP=DIR             where the per-process store dirs go
#                                   (default /dev/shm, else $TMPDIR or /tmp)
#
# New corpus units go to build-fuzz/fuzz-corpus/<target>/ (the seeds in
# fuzz/corpus/<target>/ are read, never written); crash, leak and timeout
# reproducers to build-fuzz/fuzz-artifacts/<target>/; the libFuzzer output
# to build-fuzz/fuzz-logs/<target>.log. Exits non-zero if any target found
# a crash, leak, sanitizer report or timeout, or if the build failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build="$root/build-fuzz"
secs=${1:-60}
targets=${FUZZ_TARGETS:-"fuzz_netsh_line fuzz_import fuzz_secmethod fuzz_esp_input fuzz_control
	fuzz_classify fuzz_dynamic_line fuzz_ike_message fuzz_cert_import fuzz_ike_frag fuzz_ike_responder
	fuzz_ike_initiator fuzz_metrics_http fuzz_monitor_json fuzz_nft_counters"}

case $secs in
	''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DSECPOL_FUZZ=ON \
	-DSECPOL_SANITIZE=ON >/dev/null || exit 1
# Only the fuzz targets: the rest of the tree is built by the normal builds.
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
# The reproducers of fixed bugs run first, as regression tests.
for f in "$here"/crashes/fuzz_*; do
	[ -f "$f" ] || continue
	t=$(basename "$f"); t=${t%%-*}
	if ! "$build/fuzz/$t" "$f" >"$build/regression.log" 2>&1; then
		status=1
		echo "!! regression: $(basename "$f") fails again:"
		grep -E 'ERROR: |runtime error|SUMMARY:' "$build/regression.log" | head -5
	fi
done
for t in $targets; do
	corpus="$build/fuzz-corpus/$t"
	artifacts="$build/fuzz-artifacts/$t"
	log="$build/fuzz-logs/$t.log"
	mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
	dict=()
	case $t in
		fuzz_netsh_line|fuzz_import) dict=(-dict="$here/netsh.dict") ;;
		fuzz_secmethod) dict=(-dict="$here/secmethod.dict") ;;
		fuzz_dynamic_line) dict=(-dict="$here/dynamic.dict") ;;
		fuzz_cert_import) dict=(-dict="$here/cert.dict") ;;
		fuzz_metrics_http) dict=(-dict="$here/http.dict") ;;
	esac
	echo "== $t: ${secs}s (log: $log)"
	# shellcheck disable=SC2086
	"$build/fuzz/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
		${FUZZ_ARGS:-} "$corpus" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log"
	if [ $rc -ne 0 ]; then
		status=1
		echo "!! $t failed (exit $rc):"
		grep -E 'ERROR: |runtime error|SUMMARY:|INVARIANT BROKEN|Test unit written' "$log" | head -10
	fi
done
exit $status
