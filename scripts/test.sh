#!/usr/bin/env bash
# Every test of secpol: install what is needed, then build and run the whole
# suite twice -- with gcc, and with clang under AddressSanitizer +
# UndefinedBehaviorSanitizer -- replay the fuzzers' reproducers and give every
# fuzzer a short run (FUZZ_SECONDS each, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
# Runs ctest in a build folder and adds its counts to the totals.
suite() {
	local rc=0
	(cd "$1" && ctest --output-on-failure -j"$jobs") | tee "$log" || rc=1
	local line total bad
	line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	bad=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
	passed=$((passed + ${total:-0} - ${bad:-0}))
	failed=$((failed + ${bad:-1}))
	return $rc
}

echo "== build and test (gcc, RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
suite build || true

# clang here, gcc above: the two compilers warn about different things.
echo "== build and test under ASan + UBSan (clang)"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSECPOL_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	suite build-asan || true

echo "== fuzzers (${FUZZ_SECONDS:-30} s each, after replaying their reproducers)"
if bash fuzz/run.sh "${FUZZ_SECONDS:-30}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "secpol tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
