#!/usr/bin/env bash
# Every test of secpol: install what is needed, then build and run the whole
# suite twice -- plain, and under AddressSanitizer + UndefinedBehaviorSanitizer --
# and give every fuzzer a short run (FUZZ_SECONDS each, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSECPOL_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

if [ -f fuzz/run.sh ]; then
	echo "== fuzzers (${FUZZ_SECONDS:-20} s each)"
	bash fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
