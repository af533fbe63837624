#!/usr/bin/env bash
# The secpol demo: install what is needed, build, then write an IPsec policy
# with the netsh language, assign it and show it. The policy store is a
# private file under build/demo, so the demo leaves the system untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
STORE=build/demo/policy.db
rm -rf build/demo
run() { echo "\$ secpol $*"; build/secpol --store "$STORE" "$@"; echo; }

echo "== A new store holds the three Windows sample policies"
run static show policy all format=table
echo "== The policy script (netsh ipsec syntax):"
sed 's/^/    /' examples/demo-policy.txt
echo
run -f examples/demo-policy.txt
echo "== The assigned policy, as the IP Security Policy snap-in would list it"
run static show policy name="Web servers" level=verbose
echo "== secpol dump: the script that rebuilds this store"
run dump
